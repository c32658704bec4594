"""Alert transitions as InfluxDB points (measurement ``alert``), in line protocol.

    alert,[category=…,]device=…,rule_type=…,sector=…,severity=…,site=…,state=open|acknowledged|resolved|escalated
          alert_id="…",key="…",opened_at=<epoch s>,false_alarm=<bool>,escalation_level=<n>i <ns>

The timestamp is the transition's time plus the history row's id modulo 10⁶ in
nanoseconds: two alerts of one device and rule that change state at the same instant
(two zones of one camera) stay two points, and writing the same row again overwrites its
own point (the export is at least once). The KPIs read this measurement for MTTA/MTTR.
``category`` is there for a citizen report's alert only (its report's category).

The encoder predates analytics' access to ingest's InfluxDB modules; it escapes as the
InfluxDB 1.x reference says and does nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.alerts.model import RuleType
from analytics.alerts.records import Action, Resolution
from analytics.alerts.tables import AlertRow, HistoryRow

MEASUREMENT = "alert"
_POINT_STATES = {
    Action.OPENED: "open",
    Action.ACKNOWLEDGED: "acknowledged",
    Action.RESOLVED: "resolved",
    Action.ESCALATED: "escalated",
}
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": " ", "\r": " "})


def _tag(value: str) -> str:
    return value.translate(_TAG_ESCAPES)


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _category(alert: AlertRow) -> str:
    """The category of a citizen report's alert; empty for every other alert."""
    if alert.rule_type != RuleType.CITIZEN_REPORT:
        return ""
    category = (alert.details or {}).get("category")
    return category if isinstance(category, str) else ""


@dataclass(slots=True, frozen=True)
class AlertPoint:
    """One transition of one alert, as written to InfluxDB."""

    history_id: int
    alert_id: str
    key: str
    rule_type: str
    severity: str
    site: str
    sector: str
    device: str
    state: str
    opened_at: float
    false_alarm: bool
    escalation_level: int
    time_ns: int
    category: str = ""
    """A citizen report's category (its alert's ``details``), a tag the KPIs group by."""

    @classmethod
    def of(cls, alert: AlertRow, entry: HistoryRow) -> AlertPoint:
        """The point of a transition row (``entry.action`` one of the four transitions)."""
        state = _POINT_STATES[Action(entry.action)]
        seconds = int(entry.at.timestamp())
        micros = entry.at.microsecond
        return cls(
            history_id=entry.id,
            alert_id=alert.id,
            key=alert.key,
            rule_type=alert.rule_type,
            severity=entry.severity,
            site=alert.site,
            sector=alert.sector,
            device=alert.device,
            state=state,
            opened_at=alert.opened_at.timestamp(),
            false_alarm=entry.resolution == Resolution.FALSE_ALARM,
            escalation_level=entry.escalation_level,
            time_ns=(seconds * 1_000_000 + micros) * 1000 + entry.id % 1_000_000,
            category=_category(alert),
        )

    def line(self) -> str:
        tags = {
            "category": self.category,
            "device": self.device,
            "rule_type": self.rule_type,
            "sector": self.sector,
            "severity": self.severity,
            "site": self.site,
            "state": self.state,
        }
        series = ",".join(
            [MEASUREMENT] + [f"{name}={_tag(value)}" for name, value in tags.items() if value]
        )
        fields = (
            f"alert_id={_string(self.alert_id)},key={_string(self.key)},"
            f"opened_at={self.opened_at!r},false_alarm={'true' if self.false_alarm else 'false'},"
            f"escalation_level={self.escalation_level}i"
        )
        return f"{series} {fields} {self.time_ns}"
