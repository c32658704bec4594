"""The report as HTML (a Jinja2 template, charts embedded) and as PDF (WeasyPrint).

The HTML is one self-contained file — charts are PNG data URIs, the style sheet is inline
— so it can be mailed or opened anywhere; the PDF is WeasyPrint's rendering of that same
HTML. Text is set in DejaVu Sans (Debian's fonts-dejavu-core), which has every
Vietnamese diacritic; WeasyPrint finds it through fontconfig and lays text out with
Pango (libpango-1.0-0, libpangoft2-1.0-0), both installed by
scripts/ensure-system-packages.sh.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from analytics.kpis.catalogue import BY_ID, CATALOGUE, Domain
from analytics.kpis.scorecard import Light
from analytics.report import charts, labels
from analytics.report.errors import ReportRenderError
from analytics.report.gather import ReportData
from analytics.report.labels import Language

logger = logging.getLogger(__name__)

LIGHT_COLOURS = {
    Light.GREEN: "#2e9e44",
    Light.AMBER: "#f0a500",
    Light.RED: "#d0312d",
    Light.NONE: "#bbbbbb",
}


@dataclass(slots=True, frozen=True)
class ReportFiles:
    html: Path
    pdf: Path


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string (the page footer's): HTML escaping does not apply
    inside ``<style>``, CSS escaping does."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return Markup(f'"{escaped}"')


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("analytics.report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["css_string"] = css_string
    return environment


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _scorecard_groups(data: ReportData, language: Language) -> list[dict[str, Any]]:
    groups: dict[Domain, list[dict[str, str]]] = {}
    for row in data.scorecard.rows:
        definition = BY_ID[row.kpi]
        groups.setdefault(definition.domain, []).append(
            {
                "kpi": row.kpi,
                "name": labels.kpi_name(definition, language),
                "actual": labels.quantity(row.actual, row.unit, language),
                "target": (
                    "—" if row.target is None
                    else ("≥ " if row.direction == "higher" else "≤ ")
                    + labels.quantity(row.target, row.unit, language)
                ),
                "light": labels.LIGHTS[row.light][language],
                "light_colour": LIGHT_COLOURS[row.light],
                "previous": labels.quantity(row.previous, row.unit, language),
                "trend": labels.TRENDS[row.trend][language],
                "trend_class": row.trend.value,
            }
        )  # fmt: skip
    return [
        {"name": labels.DOMAINS[domain][language], "rows": rows}
        for domain, rows in sorted(groups.items(), key=lambda item: list(Domain).index(item[0]))
    ]


def _light_counts(data: ReportData, language: Language) -> str:
    counts = {light: 0 for light in Light}
    for row in data.scorecard.rows:
        counts[row.light] += 1
    return labels.word(
        "lights", language, green=counts[Light.GREEN], amber=counts[Light.AMBER],
        red=counts[Light.RED], none=counts[Light.NONE],
    )  # fmt: skip


def _daily_charts(data: ReportData, language: Language) -> list[dict[str, str]]:
    found = []
    for definition in CATALOGUE:
        points = data.daily.get(definition.id)
        if points:
            unit = labels.UNITS[definition.unit][language]
            name = labels.kpi_name(definition, language)
            found.append(
                {
                    "kpi": definition.id,
                    "src": _data_uri(charts.kpi_chart(definition, points, language)),
                    "caption": f"{name} ({unit})" if unit else name,
                }
            )
    return found


def _alert_context(data: ReportData, language: Language) -> dict[str, Any]:
    summary = data.alerts
    if summary.total == 0:
        return {"total": 0}
    times = []
    for key, measured in (("to_acknowledge", summary.acknowledge), ("to_resolve", summary.resolve)):
        times.append(
            {
                "name": labels.word(key, language),
                "count": labels.number(measured.count, language),
                "mean": labels.minutes(measured.mean, language),
                "median": labels.minutes(measured.median, language),
                "p90": labels.minutes(measured.p90, language),
                "longest": labels.minutes(measured.longest, language),
                "waiting": labels.number(measured.waiting, language),
            }
        )
    targets = (BY_ID["alert_mtta"].target, BY_ID["alert_mttr"].target)
    top = [
        {
            "opened": labels.local_time(incident.alert.opened_at, language),
            "type": labels.RULE_TYPES[incident.alert.rule_type][language],
            "severity": labels.SEVERITIES[incident.alert.severity][language],
            "severity_class": incident.alert.severity.label,
            "device": incident.alert.device,
            "duration": labels.duration(incident.minutes, language)
            + (f" ({labels.word('ongoing', language)})" if incident.ongoing else ""),
            "message": incident.alert.message_vi if language == "vi" else incident.alert.message_en,
        }
        for incident in summary.top
    ]
    return {
        "total": summary.total,
        "sentence": labels.word(
            "alerts_total",
            language,
            total=summary.total,
            resolved=summary.resolved,
            false=summary.false_alarms,
            active=summary.active,
        ),
        "times": times,
        "by_type": _data_uri(charts.alerts_by_type_chart(summary, language)),
        "response": (
            _data_uri(charts.response_chart(summary, language, targets))
            if summary.acknowledge.count or summary.resolve.count
            else None
        ),
        "top": top,
    }


def render_html(data: ReportData, language: Language) -> str:
    """The report's HTML page."""
    template = _environment().get_template("report.html")
    return template.render(
        lang=language,
        w={
            key: labels.word(key, language)
            for key in labels.WORDS
            if "{" not in labels.WORDS[key][language]
        },
        title=labels.word("title", language),
        place=data.scope.name,
        period=labels.period_name(data.period, language),
        generated=labels.word(
            "generated", language, at=labels.local_time(data.generated_at, language)
        ),
        catalogue=labels.word("catalogue", language, version=data.scorecard.version),
        has_data=data.has_data,
        has_kpis=data.has_kpis,
        light_counts=_light_counts(data, language),
        groups=_scorecard_groups(data, language),
        charts=_daily_charts(data, language),
        alerts=_alert_context(data, language),
    )


def write_report(data: ReportData, language: Language, out_dir: Path) -> ReportFiles:
    """Write ``report-<site>-<period>.html`` and ``.pdf`` into ``out_dir``."""
    from weasyprint import HTML  # imports Pango through cffi: only when a PDF is made

    stem = f"report-{data.scope.slug}-{data.period.label}"
    files = ReportFiles(out_dir / f"{stem}.html", out_dir / f"{stem}.pdf")
    html = render_html(data, language)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        files.html.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportRenderError(f"cannot write the report to {files.html}: {exc}") from exc
    try:
        HTML(string=html, base_url=str(out_dir)).write_pdf(files.pdf)
    except OSError as exc:
        raise ReportRenderError(f"cannot write the PDF report {files.pdf}: {exc}") from exc
    logger.info("report %s written: %s, %s", stem, files.html, files.pdf)
    return files
