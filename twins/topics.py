"""MQTT topics of the device contract v1, built and parsed in one place.

    citytwin/{namespace}/{name}/{channel}

``{namespace}:{name}`` is the device's thing id. Channels: ``telemetry``, ``event``,
``state`` (device → platform), ``status`` (retained birth/last will), ``cmd`` (platform →
device) and ``cmd/ack`` (device → platform). Platform-internal traffic lives under
``citytwin/$platform/…`` which no device may touch, and rejected messages under
``citytwin/$platform/deadletter/{namespace}/{name}``; alerts, one retained topic each,
under ``citytwin/$platform/alerts/{site}/{alert_id}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from twins.errors import ContractError, ContractReason
from twins.thing_id import NAME_PATTERN, NAMESPACE_PATTERN, ThingId

ROOT = "citytwin"
PLATFORM = f"{ROOT}/$platform"


class Channel(StrEnum):
    """What a message on a device topic carries."""

    TELEMETRY = "telemetry"
    EVENT = "event"
    STATE = "state"
    STATUS = "status"
    CMD = "cmd"
    CMD_ACK = "cmd/ack"


TOPIC_MATCHER = re.compile(
    rf"^{ROOT}/(?P<namespace>{NAMESPACE_PATTERN})/(?P<name>{NAME_PATTERN})"
    r"/(?P<channel>telemetry|event|state|status|cmd|cmd/ack)$"
)


@dataclass(slots=True, frozen=True)
class DeviceTopic:
    """A parsed device topic."""

    thing_id: ThingId
    channel: Channel

    def __str__(self) -> str:
        return device_topic(self.thing_id, self.channel)


def device_topic(thing_id: ThingId, channel: Channel) -> str:
    """The topic a device (or the platform, for ``cmd``) publishes ``channel`` on."""
    return f"{ROOT}/{thing_id.namespace}/{thing_id.name}/{channel.value}"


def parse_topic(topic: str) -> DeviceTopic:
    """Parse a device topic, raising ``ContractError`` (reason ``topic``) when it is not one."""
    match = TOPIC_MATCHER.fullmatch(topic)
    if match is None:
        raise ContractError(
            f"topic {topic!r} is not 'citytwin/{{namespace}}/{{name}}/{{channel}}' with channel"
            " one of telemetry, event, state, status, cmd, cmd/ack",
            reason=ContractReason.TOPIC,
        )
    return DeviceTopic(ThingId(match["namespace"], match["name"]), Channel(match["channel"]))


def deadletter_topic(thing_id: ThingId | None) -> str:
    """Where ingest republishes a rejected message, with the reason."""
    if thing_id is None:
        return f"{PLATFORM}/deadletter/_unknown"
    return f"{PLATFORM}/deadletter/{thing_id.namespace}/{thing_id.name}"


def event_topic(kind: str, thing_id: ThingId) -> str:
    """Normalized events for analytics: ``citytwin/$platform/events/{kind}/{ns}/{name}``."""
    return f"{PLATFORM}/events/{kind}/{thing_id.namespace}/{thing_id.name}"


ALERT_TOPIC_MATCHER = re.compile(
    rf"^{re.escape(PLATFORM)}/alerts/(?P<site>{NAMESPACE_PATTERN})/(?P<alert_id>{NAME_PATTERN})$"
)


def alert_topic(site: str, alert_id: str) -> str:
    """An alert's current state, retained: ``citytwin/$platform/alerts/{site}/{alert_id}``.

    ValueError when either part is not one topic level of the allowed characters, so that
    no alert can land on another's topic or inject a wildcard.
    """
    topic = f"{PLATFORM}/alerts/{site}/{alert_id}"
    if ALERT_TOPIC_MATCHER.fullmatch(topic) is None:
        raise ValueError(
            f"alert topic of site {site!r} and alert {alert_id!r}: the site must be a registry"
            " namespace and the alert id one topic level of letters, digits, '_', '.', '-'"
        )
    return topic


def parse_alert_topic(topic: str) -> tuple[str, str] | None:
    """``(site, alert_id)`` of an alert topic, None for any other topic."""
    match = ALERT_TOPIC_MATCHER.fullmatch(topic)
    return None if match is None else (match["site"], match["alert_id"])
