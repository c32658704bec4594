"""``docs/kpis.md``, generated from the catalogue: ``python -m analytics.kpis.docs [PATH]``.

A test renders it again and compares, so the page and the code cannot drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analytics.kpis.catalogue import CATALOGUE, CATALOGUE_VERSION, Domain, KpiDefinition
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import Window

TITLES = {
    Domain.SERVICE_CENTRE: "Service centre (Trung tâm phục vụ hành chính công)",
    Domain.MEETING_ROOMS: "Meeting rooms (Phòng họp)",
    Domain.CAMERAS: "Cameras",
    Domain.SENSORS: "Sensors",
    Domain.OPERATIONS: "Operations (alerts)",
}


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def _row(kpi: KpiDefinition) -> str:
    scopes = ", ".join(sorted(scope.value for scope in kpi.scopes))
    windows = ", ".join(w.value for w in Window if w in kpi.windows)
    parts = f"; by {', '.join(kpi.parts)}" if kpi.parts else ""
    cells = [
        f"`{kpi.id}`",
        f"{kpi.name_vi} / {kpi.name_en}",
        kpi.formula,
        kpi.unit.value,
        _number(kpi.target),
        kpi.direction.value,
        f"{kpi.tolerance:g}",
        kpi.source,
        f"{scopes}; {windows}{parts}",
    ]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render() -> str:
    """The whole page."""
    settings = KpiSettings()
    lines = [
        "# KPI catalogue",
        "",
        f"Catalogue version **{CATALOGUE_VERSION}**, {len(CATALOGUE)} KPIs. Generated from",
        "`analytics/kpis/catalogue.py` by `python -m analytics.kpis.docs docs/kpis.md`; do not",
        "edit by hand (`tests/analytics/kpis/test_catalogue.py` fails when they differ).",
        "",
        "Every KPI is computed over calendar windows in Asia/Ho_Chi_Minh (15 min, hour, day,",
        "week from Monday, month) for the scopes it lists (`counter:{thing}`, `room:{thing}`,",
        "`camera:{thing}`, `sensor:{thing}`, `site:{id}`, `sector:{sector}`, `province`) and",
        "written to InfluxDB measurement `kpi`: tags `kpi`, `scope`, `window` (and `part` for",
        "a breakdown such as `rule_type=intrusion`), fields `value`, `numerator`,",
        "`denominator` (ratios and means: sum them to add windows or scopes up) and `version`,",
        "time = the window's start, in the retention policy `retention_policy` (the",
        "database's default, 30 days, unless set: give months one that keeps them). Late",
        "events recompute the windows they belong to (`analytics/kpis/engine.py`).",
        "",
        "Traffic light: green on the right side of the target, amber within *tolerance* ×",
        "|target| on the wrong side, red beyond; trend against the previous window of the",
        "same kind, steady within 1 % (`analytics/kpis/scorecard.py`).",
        "",
        "Rules that are settings (`KpiSettings`, defaults): SLA wait"
        f" {settings.sla_wait_minutes:g} min; login grace {settings.login_grace_seconds:g} s;",
        f"ghost grace {settings.ghost_grace_minutes:g} min; on-time start within"
        f" {settings.on_time_minutes:g} min; limits "
        + ", ".join(f"{k} {v:g}" for k, v in settings.limits.items())
        + f", released at {settings.release_fraction:g} × limit; office hours"
        f" {settings.office.opens:%H:%M}–{settings.office.lunch_starts:%H:%M},"
        f" {settings.office.lunch_ends:%H:%M}–{settings.office.closes:%H:%M},"
        f" {', '.join(d.value for d in settings.office.days)}.",
        "",
    ]
    header = (
        "| id | name (vi / en) | formula | unit | target | better | tolerance | source |"
        " scopes; windows |"
    )
    for domain in Domain:
        lines += [f"## {TITLES[domain]}", "", header, "|" + "---|" * 9]
        lines += [_row(kpi) for kpi in CATALOGUE if kpi.domain is domain]
        lines.append("")
    lines += [
        "## Checked against the simulators' ground truth",
        "",
        "`tests/analytics/kpis/test_ground_truth.py` runs a simulated office day through the",
        "real broker, ingest and InfluxDB, computes the KPIs from InfluxDB and again from the",
        "simulators' ground truth, and compares them KPI by KPI.",
        "",
        "| id | check | what the ground truth gives, or why not |",
        "|---|---|---|",
    ]
    lines += [f"| `{kpi.id}` | {kpi.truth.value} | {kpi.truth_note} |" for kpi in CATALOGUE]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path("docs/kpis.md")
    path.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
