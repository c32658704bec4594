"""Where the report's figures come from: the `kpi` points the KPI engine stored, and the
alert store.

The report reads what the engine wrote and computes no KPI itself: the engine is the one
owner of KPI values (their definitions, late events, percentiles over whole periods), and
a report that recomputed them from raw data would disagree with the operators' boards as
soon as raw data passed its 30-day retention. A period the engine has not written is
reported as having no KPI data. Alerts come from the alert store, which keeps every
alert's times, type and severity for as long as the centre keeps its store.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.alerts.errors import AlertStoreError
from analytics.alerts.records import Alert
from analytics.alerts.store import AlertStore, parse_store_url
from analytics.alerts.tables import AlertRow
from analytics.kpis.engine import MEASUREMENT
from analytics.kpis.errors import KpiStoreError
from analytics.kpis.influx import KpiInflux, quote_ident, quote_string
from analytics.kpis.scorecard import Scorecard, load_scorecard
from analytics.kpis.windows import PROVINCE_TZ, Window, local_day
from analytics.report.errors import ReportSourceError
from analytics.report.period import Period

DailySeries = dict[str, list[tuple[date, float]]]
"""KPI id → (day, value) of every day of the period that has a value, in order."""


async def read_scorecard(
    client: KpiInflux, scope: str, period: Period, policy: str | None
) -> Scorecard:
    """The period's KPIs of ``scope`` against their targets and the period before."""
    try:
        return await load_scorecard(client, scope, period.window, period.start, policy=policy)
    except KpiStoreError as exc:
        raise ReportSourceError(f"cannot read the KPIs of {scope}: {exc}") from exc


async def read_daily(
    client: KpiInflux, scope: str, period: Period, policy: str | None
) -> DailySeries:
    """Every KPI's daily values of ``scope`` in the period (whole values, no breakdowns)."""
    source = f"{quote_ident(policy)}.{MEASUREMENT}" if policy else MEASUREMENT
    query = (
        f"SELECT value FROM {source} WHERE window = {quote_string(Window.DAY.value)}"
        f" AND scope = {quote_string(scope)} AND time >= {round(period.start * 1e9)}"
        f" AND time < {round(period.end * 1e9)} GROUP BY kpi, part"
    )
    try:
        found = await client.query(query)
    except KpiStoreError as exc:
        raise ReportSourceError(f"cannot read the daily KPIs of {scope}: {exc}") from exc
    daily: DailySeries = defaultdict(list)
    for series in found:
        if series.tags.get("part"):
            continue
        kpi = series.tags.get("kpi", "")
        for row in series.rows():
            if row["value"] is not None:
                day = local_day(row["time"] / 1000, PROVINCE_TZ)
                daily[kpi].append((day, float(row["value"])))
    return {kpi: sorted(points) for kpi, points in daily.items()}


async def read_alerts(store: AlertStore, site: str | None, period: Period) -> list[Alert]:
    """The alerts opened in the period (at ``site``, or anywhere), oldest first."""
    begin = datetime.fromtimestamp(period.start, UTC)
    end = datetime.fromtimestamp(period.end, UTC)

    def work(session: Session) -> list[Alert]:
        query = select(AlertRow).where(AlertRow.opened_at >= begin, AlertRow.opened_at < end)
        if site is not None:
            query = query.where(AlertRow.site == site)
        rows = session.scalars(query.order_by(AlertRow.opened_at, AlertRow.id))
        return [Alert.from_row(row) for row in rows]

    try:
        return await store.run(work)
    except AlertStoreError as exc:
        raise ReportSourceError(f"cannot read the alerts of {period.label}: {exc}") from exc


def open_alert_store(url: str, password: str = "") -> AlertStore:
    """The alert store at ``url``, for reading (blocking). A SQLite file that does not
    exist is refused rather than created: a report of an empty new store would hide a
    wrong state directory or URL behind "no alerts"."""
    try:
        parsed = parse_store_url(url, password, setting="--alerts-url")
    except AlertStoreError as exc:
        raise ReportSourceError(str(exc)) from exc
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        raise ReportSourceError(
            f"the alert store {parsed.database} does not exist (has citytwin run with this"
            " state directory? give the store with --alerts-url)"
        )
    try:
        return AlertStore.open(url, password, setting="--alerts-url")
    except AlertStoreError as exc:
        raise ReportSourceError(str(exc)) from exc
