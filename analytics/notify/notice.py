"""What a notifier is told about an alert: its current state and the transition just made.

One `AlertNotice` is both the retained payload of the alert's MQTT topic and the ``data`` of
a webhook body, so a subscriber and a webhook receiver read one schema
(``AlertNotice.model_json_schema()``, printed in docs/notifications.md). Severities are
written as their labels (``"major"``), times as RFC 3339 with their offset.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from analytics.alerts.model import AlertKey, AlertState, RuleType, Severity
from twins.thing_id import NAME_PATTERN, NAMESPACE_PATTERN


def _severity(value: object) -> object:
    return Severity.parse(value) if isinstance(value, str) else value


SeverityLabel = Annotated[
    Severity,
    BeforeValidator(_severity),
    PlainSerializer(lambda severity: severity.label, return_type=str),
    WithJsonSchema({"enum": [s.label for s in Severity], "type": "string"}),
]
"""A `Severity` read from and written as its label (``"major"``); numbers are accepted too."""


class Transition(StrEnum):
    """What just happened to the alert, which is why people are told now."""

    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    REMINDER = "reminder"


ALERT_ID_PATTERN = NAME_PATTERN
"""An alert id is one MQTT topic level: letters, digits, ``_ . -`` (no ``/ + #``)."""


class AlertNotice(BaseModel):
    """An alert as it stands after ``transition``, with the texts people read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = Field(1, description="version of this schema")
    alert_id: str = Field(
        pattern=rf"^{ALERT_ID_PATTERN}$", description="the store's id of the alert"
    )
    rule: str = Field(min_length=1, description="name of the rule that raised it")
    device: str = Field(min_length=1, description="thing id of the device it is about")
    zone: str = Field("", description="camera zone, empty for other devices")
    rule_type: RuleType = Field(description="what kind of condition the rule watches")
    state: AlertState = Field(description="where the alert is in its life now")
    transition: Transition = Field(description="what just happened to it")
    severity: SeverityLabel = Field(description="severity now (escalation may have raised it)")
    site: str = Field(pattern=rf"^{NAMESPACE_PATTERN}$", description="site (registry namespace)")
    sector: str = Field(description="sector of the site (health, education, administration …)")
    opened_at: AwareDatetime = Field(description="event time the condition began to hold")
    at: AwareDatetime = Field(description="when the transition happened")
    message_vi: str = Field(description="what is wrong, in Vietnamese")
    message_en: str = Field(description="what is wrong, in English")
    escalation_level: int = Field(0, ge=0, description="0 until first escalated, then 1, 2 …")
    actor: str | None = Field(None, description="who acknowledged or resolved it, if a person")
    assignee: str | None = Field(None, description="who is to act on it")
    evidence_url: str | None = Field(None, description="snapshot kept as evidence (cameras)")

    key: str = Field("", description="the dedup key, rule|device|zone (filled in from those three)")

    @model_validator(mode="after")
    def _key_of_parts(self) -> AlertNotice:
        expected = str(AlertKey(self.rule, self.device, self.zone))
        if not self.key:
            object.__setattr__(self, "key", expected)
        elif self.key != expected:
            raise ValueError(f"key {self.key!r} is not rule|device|zone ({expected!r})")
        return self
