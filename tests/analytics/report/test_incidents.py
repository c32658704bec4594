"""Alert statistics of a period: response times, types, the incidents that mattered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from analytics.alerts.model import AlertKey, AlertState, RuleType, Severity
from analytics.alerts.records import Alert, Resolution
from analytics.report.incidents import summarise

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
END = T0 + timedelta(days=2)


def _alert(n: int, rule_type: RuleType, severity: Severity, **changes: object) -> Alert:
    alert = Alert(
        id=f"a{n}", key=AlertKey("rule", f"site/dev-{n}"), rule_type=rule_type,
        severity=severity, state=AlertState.OPEN, site="site", sector="health",
        opened_at=T0 + timedelta(hours=n), acknowledged_at=None, acknowledged_by=None,
        resolved_at=None, resolved_by=None, resolution=None, assignee=None,
        escalation_level=0, escalate_at=None, evidence_path=None, message_vi="",
        message_en="", details={},
    )  # fmt: skip
    return replace(alert, **changes)  # type: ignore[arg-type]


def _answered(n: int, ack: float | None, resolve: float, **changes: object) -> Alert:
    opened = T0 + timedelta(hours=n)
    return _alert(
        n,
        changes.pop("rule_type", RuleType.THRESHOLD),  # type: ignore[arg-type]
        changes.pop("severity", Severity.WARNING),  # type: ignore[arg-type]
        state=AlertState.RESOLVED,
        acknowledged_at=None if ack is None else opened + timedelta(minutes=ack),
        resolved_at=opened + timedelta(minutes=resolve),
        resolution=changes.pop("resolution", Resolution.MANUAL),
        **changes,
    )


def test_response_times_count_only_the_answers_given() -> None:
    alerts = [
        _answered(0, 2, 10),
        _answered(1, 4, 30),
        _answered(2, None, 20, resolution=Resolution.AUTO),  # cleared before anyone looked
        _alert(3, RuleType.OFFLINE, Severity.MAJOR),  # still open
        _alert(4, RuleType.OFFLINE, Severity.MAJOR, state=AlertState.ACKNOWLEDGED,
               acknowledged_at=T0 + timedelta(hours=4, minutes=9)),
    ]  # fmt: skip
    summary = summarise(alerts, END)
    assert (summary.total, summary.resolved, summary.active) == (5, 3, 2)
    assert summary.acknowledge.minutes == (2.0, 4.0, 9.0)
    assert summary.acknowledge.waiting == 1
    assert summary.acknowledge.mean == 5.0
    assert summary.acknowledge.median == 4.0
    assert summary.resolve.minutes == (10.0, 30.0, 20.0)
    assert summary.resolve.waiting == 2
    assert summary.resolve.p90 == 28.0


def test_incidents_rank_by_severity_then_duration_and_open_ones_last_to_the_end() -> None:
    alerts = [
        _answered(0, 1, 300, severity=Severity.WARNING),
        _answered(1, 1, 20, severity=Severity.CRITICAL, rule_type=RuleType.INTRUSION),
        _answered(2, 1, 90, severity=Severity.CRITICAL, rule_type=RuleType.INTRUSION),
        _alert(3, RuleType.OFFLINE, Severity.MAJOR),
    ]
    summary = summarise(alerts, END, top=3)
    assert [incident.alert.id for incident in summary.top] == ["a2", "a1", "a3"]
    ongoing = summary.top[2]
    assert ongoing.ongoing
    assert ongoing.minutes == (END - (T0 + timedelta(hours=3))).total_seconds() / 60
    assert list(summary.by_type) == [RuleType.INTRUSION, RuleType.OFFLINE, RuleType.THRESHOLD]
    assert summary.by_type[RuleType.INTRUSION][Severity.CRITICAL] == 2


def test_false_alarms_are_counted() -> None:
    alerts = [_answered(0, 1, 5, resolution=Resolution.FALSE_ALARM), _answered(1, 1, 5)]
    assert summarise(alerts, END).false_alarms == 1
