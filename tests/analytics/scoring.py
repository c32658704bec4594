"""Alerts and KPIs of a run scored against the simulators' ground truth.

The truth (`simulators.groundtruth`) writes down each incident as an interval; a rule type
should raise an alert for the intervals it is meant to see. `episodes_of` turns truth
lines into *episodes* per rule type — **required** ones (recall counts them) and
**optional** ones (too short for the rule's hold, or an officer who was late before the
counter opened: an alert on one is right, no alert is right too). An alert is *true* when
its onset, in event time, falls inside an episode of its rule type on its device (widened
by `MATCH_S` on both sides: a last will carries no time and is placed at the newest device
time the platform has seen). Precision is true alerts ÷ alerts; recall is detected
required episodes ÷ required episodes; the onset delay of a detected episode is its first
true alert's onset − the episode's start (it includes the rule's own hold: ten minutes of
an empty desk before an absence is an absence).

`compare_kpis` holds each KPI the live process wrote against the same KPI computed from
the truth (`tests.analytics.kpis.truth`), with the relative error flagged at 1 %.

Used by ``benchmarks/ground_truth_bench.py``; ``tests/analytics/test_scoring.py`` pins
the arithmetic.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MATCH_S = 120.0
"""How far outside its episode an alert's onset may fall and still be the episode's."""
SETTLE_S = 1200.0
"""Episodes and alerts of the last 20 minutes of event time before a run stopped are not
scored: the longest hold of the thaibinh rules (15 minutes) had not passed for them."""
HOLD_S = {"officer_absence": 600.0, "stuck": 900.0, "unbooked_use": 900.0}
"""The thaibinh rules' minimum durations (analytics/rules/defaults/thaibinh): an episode
shorter than this plus a report interval is optional."""
REPORT_S = 60.0
TRUTH_RULE = {
    "officer_absent": "officer_absence",
    "intrusion": "intrusion",
    "threshold": "threshold",
    "sensor_stuck": "stuck",
    "device_offline": "offline",
    "ghost_booking": "ghost_booking",
    "unbooked_use": "unbooked_use",
}
"""Which rule type should see each kind of truth line."""

Key = tuple[str, str, str, float]


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@dataclass(slots=True, frozen=True)
class Episode:
    """An interval of the truth one rule type should alert on."""

    rule_type: str
    device: str
    start: float
    end: float | None
    """None: still going when the run stopped."""
    required: bool = True


@dataclass(slots=True, frozen=True)
class RaisedAlert:
    """One alert of the live process: its rule type, device and onset in event time."""

    rule_type: str
    device: str
    onset: float
    cleared: float | None = None


@dataclass(slots=True, frozen=True)
class RuleScore:
    rule_type: str
    required: int
    detected: int
    alerts: int
    true_alerts: int
    delays: tuple[float, ...]
    """Onset delay of each detected required episode, seconds of event time, ascending."""

    @property
    def precision(self) -> float | None:
        return self.true_alerts / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.required if self.required else None


def episodes_of(lines: Iterable[Mapping[str, Any]]) -> list[Episode]:
    """The episodes of the truth lines the thaibinh rules watch."""
    found: list[Episode] = []
    booked: dict[str, list[tuple[float, float]]] = defaultdict(list)
    lines = list(lines)
    for line in lines:
        if line["what"] == "room_occupied" and "booking" in line["details"] and line["end"]:
            booked[line["device"]].append((epoch(line["start"]), epoch(line["end"])))
    for line in lines:
        rule_type = TRUTH_RULE.get(line["what"])
        if rule_type is None:
            continue
        start = epoch(line["start"])
        end = epoch(line["end"]) if line["end"] else None
        long_enough = end is None or end - start >= HOLD_S.get(rule_type, 0.0) + REPORT_S
        required = long_enough
        if rule_type == "officer_absence" and line["details"].get("cause") == "late":
            required = False  # the counter may not be open yet: no tickets, nobody logged in
        if rule_type == "unbooked_use" and any(
            s < (end or math.inf) and start < e for s, e in booked[line["device"]]
        ):
            required = False  # inside a booked meeting: the room's sensor shows one meeting
        found.append(Episode(rule_type, line["device"], start, end, required))
    return found


def alerts_of(rows: Iterable[Mapping[str, Any]]) -> list[RaisedAlert]:
    """Alerts from the ``alert`` points of InfluxDB (``SELECT * FROM alert``, epoch ms):
    one per ``alert_id``, its onset the ``opened_at`` field, cleared at its resolution."""
    onset: dict[str, tuple[str, str, float]] = {}
    cleared: dict[str, float] = {}
    for row in rows:
        alert_id = row["alert_id"]
        onset[alert_id] = (row["rule_type"], row["device"], float(row["opened_at"]))
        if row["state"] == "resolved":
            cleared[alert_id] = row["time"] / 1000
    return sorted(
        (
            RaisedAlert(rule, device, at, cleared.get(alert_id))
            for alert_id, (rule, device, at) in onset.items()
        ),
        key=lambda alert: (alert.onset, alert.device),
    )


def _matches(alert: RaisedAlert, episode: Episode) -> bool:
    end = math.inf if episode.end is None else episode.end
    return (
        alert.rule_type == episode.rule_type
        and alert.device == episode.device
        and episode.start - MATCH_S <= alert.onset <= end + MATCH_S
    )


def score_alerts(
    episodes: Iterable[Episode], alerts: Iterable[RaisedAlert], *, until: float = math.inf
) -> list[RuleScore]:
    """Precision, recall and onset delays per rule type, of what began before ``until``."""
    kept_episodes = [e for e in episodes if e.start < until]
    kept_alerts = [a for a in alerts if a.onset < until]
    types = sorted({e.rule_type for e in kept_episodes} | {a.rule_type for a in kept_alerts})
    scores = []
    for rule_type in types:
        mine = [e for e in kept_episodes if e.rule_type == rule_type]
        raised = [a for a in kept_alerts if a.rule_type == rule_type]
        true_alerts = sum(1 for a in raised if any(_matches(a, e) for e in mine))
        delays = []
        for episode in mine:
            if not episode.required:
                continue
            onsets = [a.onset for a in raised if _matches(a, episode)]
            if onsets:
                delays.append(min(onsets) - episode.start)
        scores.append(
            RuleScore(
                rule_type,
                required=sum(1 for e in mine if e.required),
                detected=len(delays),
                alerts=len(raised),
                true_alerts=true_alerts,
                delays=tuple(sorted(delays)),
            )
        )
    return scores


def nearest_rank(values: tuple[float, ...], q: float) -> float:
    """The ``q`` quantile of sorted ``values`` by nearest rank (one of the values)."""
    if not values:
        raise ValueError("no values")
    return values[max(0, math.ceil(q * len(values)) - 1)]


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def alert_table(scores: Iterable[RuleScore]) -> str:
    rows = [
        "| rule type | episodes to detect | detected | recall | alerts | true | precision"
        " | onset delay p50 / p95 / max (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in scores:
        delay = (
            " / ".join(f"{nearest_rank(s.delays, q):.0f}" for q in (0.5, 0.95, 1.0))
            if s.delays
            else "–"
        )
        rows.append(
            f"| `{s.rule_type}` | {s.required} | {s.detected} | {_ratio(s.recall)} | {s.alerts}"
            f" | {s.true_alerts} | {_ratio(s.precision)} | {delay} |"
        )
    return "\n".join(rows)


@dataclass(slots=True, frozen=True)
class KpiComparison:
    kpi: str
    scope: str
    measured: float | None
    """None: the live process wrote no value where the truth has one."""
    truth: float
    tolerance: float

    @property
    def relative_error(self) -> float:
        if self.measured is None:
            return math.inf
        scale = max(abs(self.measured), abs(self.truth))
        return 0.0 if scale < 1e-9 else abs(self.measured - self.truth) / scale

    @property
    def within(self) -> bool:
        return self.relative_error <= self.tolerance


def compare_kpis(
    measured: Mapping[Key, float], truth: Mapping[Key, float], *, tolerance: float = 0.01
) -> list[KpiComparison]:
    """Every truth value against the live one of the same key; a key the live process left
    out is compared only when the truth's value is not 0 (no facts, nothing written)."""
    rows = []
    for key, expected in sorted(truth.items()):
        got = measured.get(key)
        if got is None and expected == 0:
            continue
        rows.append(KpiComparison(key[0], key[1], got, expected, tolerance))
    return rows


def kpi_table(comparisons: Iterable[KpiComparison], scope: str = "province") -> str:
    """One row per KPI: scopes compared, how many within the tolerance, the worst relative
    error, and the live and truth values of ``scope``."""
    by_kpi: dict[str, list[KpiComparison]] = defaultdict(list)
    for row in comparisons:
        by_kpi[row.kpi].append(row)
    lines = [
        f"| KPI | scopes | within 1 % | worst error | {scope}: live | truth |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kpi, rows in sorted(by_kpi.items()):
        worst = max(r.relative_error for r in rows)
        shown = next((r for r in rows if r.scope == scope), None)
        live = "–" if shown is None or shown.measured is None else f"{shown.measured:.4g}"
        truth = "–" if shown is None else f"{shown.truth:.4g}"
        error = "missing" if math.isinf(worst) else f"{100 * worst:.2f} %"
        within = sum(r.within for r in rows)
        lines.append(f"| `{kpi}` | {len(rows)} | {within} | {error} | {live} | {truth} |")
    return "\n".join(lines)
