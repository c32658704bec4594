"""Who calls the alerts and KPI API, and what their role lets them do.

Two kinds of callers, one set of roles (``twins.settings.TwinRole``, the same words the
twin API uses):

    people         HTTP basic with their console user (``twins.users``: password, role);
                   citytwin's own service account (``twins.username``) is an admin
    other systems  ``Authorization: Bearer <token>`` (``api.tokens``: token, role); their
                   actor in an alert's history is ``api:NAME``

    role       may
    viewer     read alerts, their history and evidence, KPIs, maintenance windows
    operator   also acknowledge, resolve, assign and annotate alerts
    admin      also add and remove maintenance windows

Passwords and tokens are compared in constant time. A missing or wrong credential is a
401 with a ``WWW-Authenticate`` challenge; a role too low for the action a 403 naming the
role it needs.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from citytwin.settings import CitytwinSettings
from twins.settings import TwinRole

Role = TwinRole

RANK: Mapping[TwinRole, int] = {TwinRole.VIEWER: 1, TwinRole.OPERATOR: 2, TwinRole.ADMIN: 3}


class Via(StrEnum):
    """How a caller authenticated."""

    BASIC = "basic"
    TOKEN = "token"


@dataclass(slots=True, frozen=True)
class Principal:
    """An authenticated caller."""

    name: str
    role: TwinRole
    via: Via

    @property
    def actor(self) -> str:
        """The name written in an alert's history."""
        return self.name if self.via is Via.BASIC else f"api:{self.name}"

    def may(self, needed: TwinRole) -> bool:
        return RANK[self.role] >= RANK[needed]


def _same(given: str, expected: str) -> bool:
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


class Authenticator:
    """Checks credentials against the settings' users and tokens."""

    def __init__(
        self,
        users: Mapping[str, tuple[str, TwinRole]],
        tokens: Mapping[str, tuple[str, TwinRole]],
    ) -> None:
        self._users = dict(users)
        self._tokens = dict(tokens)

    @classmethod
    def from_settings(cls, settings: CitytwinSettings, service_password: str) -> Authenticator:
        users = {
            name: (user.password.get_secret_value(), user.role)
            for name, user in settings.twins.users.items()
        }
        users[settings.twins.username] = (service_password, TwinRole.ADMIN)
        tokens = {
            name: (token.token.get_secret_value(), token.role)
            for name, token in settings.api.tokens.items()
        }
        return cls(users, tokens)

    def by_password(self, user: str, password: str) -> Principal | None:
        """A console user whose password this is, or None."""
        known = self._users.get(user)
        if known is not None and _same(password, known[0]):
            return Principal(user, known[1], Via.BASIC)
        return None

    def by_token(self, token: str) -> Principal | None:
        """The system whose bearer token this is, or None."""
        for name, (expected, role) in self._tokens.items():
            if _same(token.strip(), expected):
                return Principal(name, role, Via.TOKEN)
        return None
