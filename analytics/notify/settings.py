"""Who is told about which alerts, and how hard to try (the ``analytics.notify`` section).

Webhook subscriptions and apprise channels are named maps, so that a refused value is
reported where it is: ``notify.webhooks.ops-desk.url: …``,
``notify.channels.leaders.urls[1]: apprise cannot make a service of this foo:// URL …``.
Secrets (webhook keys, channel URLs, which carry tokens and passwords) are `SecretStr`; an
apprise URL is refused at load, not at the first alert, when apprise cannot make a service
of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import apprise
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from analytics.alerts.model import RuleType, Severity
from analytics.notify.notice import AlertNotice, SeverityLabel, Transition
from analytics.notify.signing import secret_key
from twins.thing_id import NAMESPACE_PATTERN

SiteName = Annotated[str, Field(pattern=rf"^{NAMESPACE_PATTERN}$")]


class NoticeFilter(BaseModel):
    """Which notices a target wants; an empty list means "all"."""

    model_config = ConfigDict(extra="forbid")

    rule_types: list[RuleType] = Field(
        default_factory=list, description="only alerts of these rule types (empty: all)"
    )
    rules: list[str] = Field(
        default_factory=list, description="only alerts of these rules, by name (empty: all)"
    )
    min_severity: SeverityLabel = Field(
        Severity.INFO,
        description="only alerts at least this severe: info, warning, major, critical",
    )
    sites: list[SiteName] = Field(
        default_factory=list, description="only alerts of these sites (empty: all)"
    )
    transitions: list[Transition] = Field(
        default_factory=list,
        description="only these transitions: opened, acknowledged, resolved, escalated,"
        " reminder (empty: all)",
    )

    def matches(self, notice: AlertNotice) -> bool:
        """Whether ``notice`` passes every condition of the filter."""
        return (
            notice.severity >= self.min_severity
            and (not self.rule_types or notice.rule_type in self.rule_types)
            and (not self.rules or notice.rule in self.rules)
            and (not self.sites or notice.site in self.sites)
            and (not self.transitions or notice.transition in self.transitions)
        )


class WebhookSubscription(NoticeFilter):
    """A receiver that is POSTed each notice it wants, signed with its own secret."""

    url: AnyHttpUrl = Field(description="where notices are POSTed (http or https)")
    secret: SecretStr = Field(
        description="signing key shared with the receiver: at least 16 characters, or"
        " 'whsec_' + base64 of at least 16 random bytes (Standard Webhooks)"
    )
    enabled: bool = Field(True, description="deliver to this receiver")

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr) -> SecretStr:
        if len(secret_key(secret.get_secret_value())) < 16:
            raise ValueError("the secret is shorter than 16 bytes; a short key can be guessed")
        return secret


def _apprise_url(url: SecretStr) -> SecretStr:
    text = url.get_secret_value()
    if apprise.Apprise.instantiate(text) is None:
        scheme = text.partition("://")[0] if "://" in text else text[:12] + "…"
        raise ValueError(
            f"apprise cannot make a service of this {scheme}:// URL (unknown scheme or a"
            " missing part; see apprise's list of services); the URL is not shown, it may"
            " hold a password"
        )
    return url


AppriseUrl = Annotated[SecretStr, AfterValidator(_apprise_url)]


class AppriseChannel(NoticeFilter):
    """People told through apprise services (``mailtos://…``, ``tgram://…``, …)."""

    urls: list[AppriseUrl] = Field(
        min_length=1, description="apprise service URLs; each gets every message of the channel"
    )
    enabled: bool = Field(True, description="send to this channel")


class DeliverySettings(BaseModel):
    """How long webhooks and channels keep trying before a notice is dead-lettered."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(8, ge=1, le=100, description="attempts before giving up")
    first_retry_seconds: float = Field(
        1.0, gt=0, description="wait before the second attempt; doubled after each failure"
    )
    max_retry_seconds: float = Field(300.0, gt=0, description="longest wait between attempts")
    max_retry_after_seconds: float = Field(
        3600.0, gt=0, description="a receiver's Retry-After is honoured up to this"
    )
    timeout_seconds: float = Field(10.0, gt=0, description="one HTTP attempt's time limit")
    queue_size: int = Field(
        1000, ge=1, description="notices waiting per target; past it they are dead-lettered"
    )

    @model_validator(mode="after")
    def _ordered(self) -> DeliverySettings:
        if self.first_retry_seconds > self.max_retry_seconds:
            raise ValueError(
                f"first_retry_seconds ({self.first_retry_seconds}) is above max_retry_seconds"
                f" ({self.max_retry_seconds})"
            )
        return self


class AlertTopicSettings(BaseModel):
    """The retained alerts topic ``citytwin/$platform/alerts/{site}/{alert_id}``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="publish each alert's state, retained, QoS 1")
    resolved_retention_seconds: int = Field(
        86400,
        ge=0,
        le=2**32 - 1,
        description="a resolved alert's retained state expires after this (MQTT 5 message"
        " expiry); 0 clears it at once with an empty retained message",
    )
    queue_size: int = Field(
        10000, ge=1, description="alerts whose newest state waits for the broker"
    )


class NotifySettings(BaseModel):
    """Notifications of alerts: the MQTT topic, webhooks, apprise channels."""

    model_config = ConfigDict(extra="forbid")

    mqtt: AlertTopicSettings = Field(
        default_factory=AlertTopicSettings, description="the retained alerts topic"
    )
    webhooks: dict[str, WebhookSubscription] = Field(
        default_factory=dict, description="webhook receivers by name"
    )
    channels: dict[str, AppriseChannel] = Field(
        default_factory=dict, description="apprise channels by name"
    )
    delivery: DeliverySettings = Field(
        default_factory=DeliverySettings, description="retries of webhooks and channels"
    )
    dead_letters: Path = Field(
        Path("notify/deadletters.jsonl"),
        description="notices given up on, as JSON lines (relative: under the state directory)",
    )
    timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="times in messages are written in this zone"
    )
    console_url: AnyHttpUrl | None = Field(
        None, description="the console's address, linked from messages (none: no link)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (an IANA name)") from None
        return name
