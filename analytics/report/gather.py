"""Everything one report shows, read for one scope and period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from analytics.alerts.store import AlertStore
from analytics.kpis.influx import KpiInflux
from analytics.kpis.scorecard import Scorecard
from analytics.report.incidents import AlertSummary, summarise
from analytics.report.period import Period
from analytics.report.scope import ReportScope
from analytics.report.sources import DailySeries, read_alerts, read_daily, read_scorecard


@dataclass(slots=True, frozen=True)
class ReportData:
    scope: ReportScope
    period: Period
    scorecard: Scorecard
    daily: DailySeries
    alerts: AlertSummary
    generated_at: datetime

    @property
    def has_kpis(self) -> bool:
        return bool(self.scorecard.rows or self.daily)

    @property
    def has_data(self) -> bool:
        return self.has_kpis or self.alerts.total > 0


async def gather(
    scope: ReportScope,
    period: Period,
    client: KpiInflux,
    store: AlertStore,
    *,
    now: datetime,
    policy: str | None = None,
) -> ReportData:
    """Read the period's KPIs (and the period before, for the trend) and its alerts."""
    scorecard = await read_scorecard(client, scope.scope, period, policy)
    daily = await read_daily(client, scope.scope, period, policy)
    alerts = await read_alerts(store, scope.site, period)
    until = min(now, datetime.fromtimestamp(period.end, UTC))
    return ReportData(scope, period, scorecard, daily, summarise(alerts, until), now)
