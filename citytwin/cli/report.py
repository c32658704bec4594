"""``citytwin report``: the effectiveness report of a week or a month, as HTML and PDF.

The KPIs come from the InfluxDB of the settings (``influx.*``), the alerts from the
alert store (the embedded SQLite file of the state directory unless ``--alerts-url``
names another), the sites from the registry (``registry``, or the one ``citytwin up``
provisioned). See docs/report.md.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from citytwin.i18n import text
from citytwin.logs import configure_logging
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import influx_username

if TYPE_CHECKING:  # the report's modules load matplotlib: only `report` itself imports them
    from analytics.report.build import KpiSource
    from analytics.report.labels import Language
    from analytics.report.scope import ReportScope

EXIT_BAD_INPUT = 2
EXIT_NO_SOURCE = 3


def _language(settings: CitytwinSettings, lang: str | None) -> Language:
    from analytics.report.errors import ReportInputError
    from analytics.report.labels import LANGUAGES

    chosen = lang or settings.language
    if chosen not in LANGUAGES:
        raise ReportInputError(f"--lang {chosen!r} is not a language (one of: vi, en)")
    return chosen


def _scope(settings: CitytwinSettings, site: str | None, language: Language) -> ReportScope:
    """``--site`` among the registry's sites (the file of ``registry``, or the one
    ``citytwin up`` provisioned into the state directory)."""
    from analytics.report.errors import ReportInputError
    from analytics.report.scope import resolve_scope
    from twins.registry import Registry
    from twins.yaml_source import YamlModelError

    path = settings.registry or StatePaths(settings.state_dir).effective_registry
    sites: dict[str, str] = {}
    if site not in (None, "province"):
        if not path.exists():
            raise ReportInputError(
                f"--site {site!r}: there is no registry at {path} to find it in"
                " (set `registry`, or run `citytwin provision` first)"
            )
        try:
            sites = {spec.id: spec.name for spec in Registry.load(path).spec.sites}
        except YamlModelError as exc:
            raise ReportInputError("; ".join(exc.problems)) from exc
    province = text("province", language)
    return resolve_scope(site, sites, province[0].upper() + province[1:], where=str(path))


def _kpi_source(settings: CitytwinSettings, policy: str | None) -> KpiSource:
    from analytics.report.build import KpiSource

    influx = settings.influx
    password = influx.password.get_secret_value()
    stored = StatePaths(settings.state_dir).influx_password
    if influx.embedded and not password and stored.exists():
        password = stored.read_text(encoding="utf-8").strip()
    return KpiSource(
        url=str(influx.url).rstrip("/"),
        database=influx.database,
        username=influx_username(settings) if password else influx.username,
        password=password,
        token=influx.token.get_secret_value(),
        policy=policy,
    )


def report(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="week (ISO, from Monday) or month.")] = "week",
    start: Annotated[
        str | None,
        typer.Option(help="A day of the period, YYYY-MM-DD (default: the last complete one)."),
    ] = None,
    site: Annotated[
        str | None, typer.Option(help="Site id of the registry (default: the whole province).")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Directory for report-<site>-<period>.html and .pdf.")
    ] = Path("."),
    lang: Annotated[
        str | None, typer.Option(help="vi or en (default: the `language` setting).")
    ] = None,
    alerts_url: Annotated[
        str | None,
        typer.Option(
            help="Alert store URL (default: the `alerts.url` setting, or the SQLite file"
            " of the state directory)."
        ),
    ] = None,
    retention_policy: Annotated[
        str | None,
        typer.Option(
            help="Retention policy of the `kpi` points (default: `kpis.retention_policy`)."
        ),
    ] = None,
) -> None:
    """Write the effectiveness report: KPIs against targets, daily trends, alerts."""
    from analytics.report.build import AlertSource, build_report
    from analytics.report.errors import ReportError, ReportInputError
    from analytics.report.period import PeriodKind, choose_period, parse_start

    settings: CitytwinSettings = ctx.obj
    configure_logging(settings.log_level, process="report")
    now = time.time()
    try:
        language = _language(settings, lang)
        chosen = choose_period(PeriodKind.parse(period), parse_start(start) if start else None, now)
        scope = _scope(settings, site, language)
    except ReportInputError as exc:
        typer.echo(text("report_failed", settings.language, error=exc), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    alerts = AlertSource(alerts_url or settings.alerts.store_url(settings.state_dir))
    kpis = _kpi_source(settings, retention_policy or settings.kpis.retention_policy)
    try:
        files = asyncio.run(
            build_report(
                scope, chosen, language, out, kpis, alerts,
                now=datetime.fromtimestamp(now, UTC),
            )
        )  # fmt: skip
    except ReportError as exc:
        typer.echo(text("report_failed", language, error=exc), err=True)
        raise typer.Exit(EXIT_NO_SOURCE) from None
    typer.echo(text("report_written", language, html=files.html, pdf=files.pdf))
