"""A fake clock and signal builders for the alert tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.alerts.model import AlertKey, AlertSignal, RuleType, Severity

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
"""An office morning in Thái Bình (15:00 local), the event time the tests start from."""

DESK = AlertKey(rule="hcc-desk-absence", device="thaibinh.hcc/cam-03", zone="desk-2")


@dataclass
class FakeClock:
    """The centre's clock, moved by the test."""

    now: datetime = field(default_factory=lambda: T0 + timedelta(seconds=5))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def signal(
    active: bool = True,
    at: datetime = T0,
    *,
    key: AlertKey = DESK,
    severity: Severity = Severity.MAJOR,
    site: str = "thaibinh.hcc",
    rule_type: RuleType = RuleType.OFFICER_ABSENCE,
    details: dict[str, Any] | None = None,
) -> AlertSignal:
    return AlertSignal(
        key=key,
        rule_type=rule_type,
        active=active,
        at=at,
        severity=severity,
        site=site,
        sector="public-administration",
        message_vi="Cán bộ vắng mặt tại quầy 2",
        message_en="Officer absent from desk 2",
        details=details if details is not None else {"empty_minutes": 10},
    )


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
