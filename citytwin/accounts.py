"""citytwin's own broker accounts: one per service, each with an ACL for what it does.

The broker makes a client's id its user name (Mosquitto's ``use_username_as_clientid``),
so an account is an identity: nobody connecting with another client id can take over a
service's session, and no two services share one. Each role gets exactly the topics it
needs:

    role       publishes                                   subscribes
    ingest     citytwin/$platform/deadletter/#, …/events/#  the device channels
    http       telemetry, event, state of any device       —
    analytics  citytwin/$platform/alerts/#                 …/events/#, …/video/#,
                                                           …/deadletter/#
    video      citytwin/$platform/video/#                  state and status of devices
    probe      —                                           —

An analytics process holds two connections — the event feed and the alerts-topic
publisher, each with its own session — so it has two accounts of the analytics role:
``{prefix}-analytics`` and ``{prefix}-analytics-alerts`` (worker 2 of a province split by
site: ``{prefix}-analytics-2`` and ``{prefix}-analytics-2-alerts``).

Simulators connect as the devices they play, with device credentials, and need no
account of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ingest.http import HTTP_CHANNELS
from ingest.service import subscriptions
from twins.topics import PLATFORM, ROOT, Channel


class ServiceRole(StrEnum):
    """What a citytwin service does on the broker; names its account."""

    INGEST = "ingest"
    HTTP = "http"
    ANALYTICS = "analytics"
    VIDEO = "video"
    PROBE = "probe"


class Access(StrEnum):
    """Mosquitto ACL access words."""

    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"


@dataclass(slots=True, frozen=True)
class AclRule:
    """One ``topic ACCESS FILTER`` line of a Mosquitto ACL."""

    access: Access
    topic: str

    def line(self) -> str:
        return f"topic {self.access.value} {self.topic}"


@dataclass(slots=True, frozen=True)
class BrokerAccount:
    """A broker user citytwin provisions: name, plaintext password, ACL."""

    username: str
    password: str
    acl: tuple[AclRule, ...]


DEADLETTERS = f"{PLATFORM}/deadletter/#"
EVENTS = f"{PLATFORM}/events/#"
ALERTS = f"{PLATFORM}/alerts/#"
VIDEO = f"{PLATFORM}/video/#"
"""Presence events and stream health: ``…/video/presence/{ns}/{name}``,
``…/video/health/{ns}/{name}``."""


def _every_device(channel: Channel) -> str:
    return f"{ROOT}/+/+/{channel.value}"


def role_acl(role: ServiceRole) -> tuple[AclRule, ...]:
    """The ACL of a service role (see the module docstring)."""
    match role:
        case ServiceRole.INGEST:
            return (
                # exactly the filters ingest subscribes to (also behind $share/{group}/)
                *(AclRule(Access.READ, topic) for topic in subscriptions(None)),
                AclRule(Access.WRITE, DEADLETTERS),
                AclRule(Access.WRITE, EVENTS),
            )
        case ServiceRole.HTTP:
            # what HTTP ingest publishes on a device's behalf
            return tuple(AclRule(Access.WRITE, _every_device(c)) for c in HTTP_CHANNELS.values())
        case ServiceRole.ANALYTICS:
            return (
                AclRule(Access.READ, EVENTS),
                AclRule(Access.READ, VIDEO),
                AclRule(Access.READ, DEADLETTERS),  # devices that misbehave
                AclRule(Access.WRITE, ALERTS),
            )
        case ServiceRole.VIDEO:
            return (
                AclRule(Access.READ, _every_device(Channel.STATE)),
                AclRule(Access.READ, _every_device(Channel.STATUS)),
                AclRule(Access.WRITE, VIDEO),
            )
        case ServiceRole.PROBE:
            return ()


ALERTS_PUBLISHER_SUFFIX = "-alerts"


def analytics_accounts(prefix: str, worker: int = 1) -> tuple[str, str]:
    """The feed's and the alerts publisher's accounts of analytics worker ``worker``."""
    feed = f"{prefix}-{ServiceRole.ANALYTICS.value}" + (f"-{worker}" if worker > 1 else "")
    return feed, feed + ALERTS_PUBLISHER_SUFFIX


def account_name(prefix: str, role: ServiceRole, worker: int | None = None) -> str:
    """``citytwin-http``; ingest workers are numbered: ``citytwin-ingest-1``."""
    if role is ServiceRole.INGEST:
        return f"{prefix}-{role.value}-{worker or 1}"
    return f"{prefix}-{role.value}"
