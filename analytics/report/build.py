"""One report from start to end: open the sources, gather, write the HTML and the PDF."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from analytics.kpis.influx import KpiInflux
from analytics.report.gather import ReportData, gather
from analytics.report.labels import Language
from analytics.report.period import Period
from analytics.report.render import ReportFiles, write_report
from analytics.report.scope import ReportScope
from analytics.report.sources import open_alert_store


@dataclass(slots=True, frozen=True)
class KpiSource:
    """The InfluxDB database the KPI engine writes `kpi` points to."""

    url: str
    database: str
    username: str = ""
    password: str = ""
    token: str = ""
    policy: str | None = None
    """The retention policy of the `kpi` points (None: the database's default)."""


@dataclass(slots=True, frozen=True)
class AlertSource:
    url: str
    password: str = ""


async def read_report(
    scope: ReportScope, period: Period, kpis: KpiSource, alerts: AlertSource, *, now: datetime
) -> ReportData:
    """Everything the report shows, from InfluxDB and the alert store."""
    store = await asyncio.to_thread(open_alert_store, alerts.url, alerts.password)
    client = KpiInflux(
        kpis.url, kpis.database, username=kpis.username, password=kpis.password,
        token=kpis.token, timeout=30.0,
    )  # fmt: skip
    async with store, client:
        return await gather(scope, period, client, store, now=now, policy=kpis.policy)


async def build_report(
    scope: ReportScope,
    period: Period,
    language: Language,
    out_dir: Path,
    kpis: KpiSource,
    alerts: AlertSource,
    *,
    now: datetime,
) -> ReportFiles:
    """Read, then render (off the event loop: charts and PDF layout are CPU work)."""
    data = await read_report(scope, period, kpis, alerts, now=now)
    return await asyncio.to_thread(write_report, data, language, out_dir)
