"""The report's charts, drawn with matplotlib's Agg renderer into PNG bytes.

Each chart is its own ``Figure`` (never pyplot's global state), so charts can be drawn in
any thread and nothing is left open. Text uses DejaVu Sans — matplotlib's own font, which
has every Vietnamese diacritic. The colours are fixed and distinct, so a reader (and the
tests, which look for them in the rendered PDF) can tell a series from its target.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analytics.alerts.model import Severity
from analytics.kpis.catalogue import KpiDefinition
from analytics.report import labels
from analytics.report.incidents import AlertSummary, ResponseTimes, severities_present
from analytics.report.labels import Language

SERIES_COLOUR = "#1f5fa8"
"""A KPI's daily values."""
TARGET_COLOUR = "#d62728"
"""A KPI's target (dashed), and the MTTA/MTTR targets on the response histograms."""
ACKNOWLEDGE_COLOUR = "#2ca02c"
RESOLVE_COLOUR = "#9467bd"
SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.INFO: "#7f7f7f",
    Severity.WARNING: "#f2b701",
    Severity.MAJOR: "#ff7f0e",
    Severity.CRITICAL: "#8c1c13",
}
DPI = 150


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def kpi_chart(
    definition: KpiDefinition, points: Sequence[tuple[date, float]], language: Language
) -> bytes:
    """One KPI's daily values over the period, with its target as a dashed line (the
    KPI's name is the caption in the page, where it can be searched and copied)."""
    figure = Figure(figsize=(3.6, 1.9), layout="constrained")
    axes = figure.subplots()
    days = [day for day, _ in points]
    values = [value for _, value in points]
    axes.plot(
        range(len(days)), values, color=SERIES_COLOUR, linewidth=2.2, marker="o", markersize=4
    )
    if definition.target is not None:
        axes.axhline(definition.target, color=TARGET_COLOUR, linewidth=2.0, linestyle="--")
    step = max(1, len(days) // 7)
    ticks = list(range(0, len(days), step))
    axes.set_xticks(ticks, [labels.short_day(days[i], language) for i in ticks], fontsize=7)
    axes.tick_params(axis="y", labelsize=7)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    span = [*values, *([definition.target] if definition.target is not None else [])]
    if min(span) >= 0:
        axes.set_ylim(0, max(span) * 1.12 or 1.0)
    return _png(figure)


def alerts_by_type_chart(summary: AlertSummary, language: Language) -> bytes:
    """Horizontal bars: alerts per rule type, stacked by severity."""
    types = list(summary.by_type)
    figure = Figure(figsize=(6.8, 0.6 + 0.36 * len(types)), layout="constrained")
    axes = figure.subplots()
    rows = range(len(types))
    left = [0] * len(types)
    for severity in sorted(severities_present(summary)):
        widths = [summary.by_type[rule].get(severity, 0) for rule in types]
        axes.barh(
            rows, widths, left=left, color=SEVERITY_COLOURS[severity], height=0.6,
            label=labels.SEVERITIES[severity][language],
        )  # fmt: skip
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_xlim(0, max(left) * 1.06)
    axes.set_yticks(list(rows), [labels.RULE_TYPES[rule][language] for rule in types], fontsize=8)
    axes.invert_yaxis()
    axes.tick_params(axis="x", labelsize=7)
    axes.set_xlabel(labels.word("alerts_axis", language), fontsize=8)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize=7, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return _png(figure)


def response_chart(
    summary: AlertSummary,
    language: Language,
    targets: tuple[float | None, float | None],
) -> bytes:
    """Histograms of time to acknowledge and to resolve, with the MTTA and MTTR targets."""
    figure = Figure(figsize=(6.8, 2.2), layout="constrained")
    panels = figure.subplots(1, 2)
    shown: tuple[tuple[ResponseTimes, str, str, float | None], ...] = (
        (summary.acknowledge, "to_acknowledge", ACKNOWLEDGE_COLOUR, targets[0]),
        (summary.resolve, "to_resolve", RESOLVE_COLOUR, targets[1]),
    )
    for axes, (times, title, colour, target) in zip(panels, shown, strict=True):
        if times.minutes:
            axes.hist(times.minutes, bins=min(12, max(3, len(times.minutes))), color=colour)
        if target is not None:
            axes.axvline(target, color=TARGET_COLOUR, linewidth=2.0, linestyle="--")
        axes.set_title(labels.word(title, language), fontsize=8)
        axes.set_xlabel(labels.word("minutes_axis", language), fontsize=7)
        axes.tick_params(labelsize=7)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(left=0)
    return _png(figure)
