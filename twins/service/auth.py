"""Who is calling: HTTP basic for configured users, or a trusted proxy's header.

A basic-auth user ``alice`` is the subject ``nginx:alice``, as behind Ditto's nginx. The
``x-ditto-pre-authenticated`` header (``nginx:alice`` or ``issuer:subject,…``) is
honoured only when `TwinSettings.pre_authenticated_header` says a trusted proxy sets it.
The account ``TwinSettings.username`` is citytwin's own, with the ``admin`` role; like
every caller it is checked against each thing's policy (Ditto has no super-user).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from twins.errors import DittoUnauthorizedError
from twins.settings import TwinRole, TwinSettings

SUBJECT_ISSUER = "nginx"
PRE_AUTHENTICATED_HEADER = "x-ditto-pre-authenticated"
REALM = 'Basic realm="citytwin twins", charset="UTF-8"'


@dataclass(slots=True, frozen=True)
class Caller:
    """The authenticated caller: its subjects and its role."""

    subjects: frozenset[str]
    role: TwinRole = TwinRole.VIEWER

    @property
    def subject(self) -> str:
        """The caller's first subject (used in default policies)."""
        return min(self.subjects)


class Authenticator:
    """Checks credentials against the configured users."""

    def __init__(self, settings: TwinSettings, service_password: str) -> None:
        self._passwords: dict[str, bytes] = {
            name: user.password.get_secret_value().encode() for name, user in settings.users.items()
        }
        self._passwords[settings.username] = service_password.encode()
        self._roles: dict[str, TwinRole] = {
            f"{SUBJECT_ISSUER}:{name}": user.role for name, user in settings.users.items()
        }
        self._roles[f"{SUBJECT_ISSUER}:{settings.username}"] = TwinRole.ADMIN
        self._trust_header = settings.pre_authenticated_header

    def role(self, subjects: frozenset[str]) -> TwinRole:
        """The strongest role of any of ``subjects`` (viewer for subjects nobody set up)."""
        roles = {self._roles.get(subject, TwinRole.VIEWER) for subject in subjects}
        for role in (TwinRole.ADMIN, TwinRole.OPERATOR):
            if role in roles:
                return role
        return TwinRole.VIEWER

    def authenticate(self, headers: Mapping[str, str]) -> Caller:
        """The caller of a request with these headers, or a 401."""
        if self._trust_header:
            forwarded = headers.get(PRE_AUTHENTICATED_HEADER)
            if forwarded:
                subjects = frozenset(s.strip() for s in forwarded.split(",") if s.strip())
                if not subjects or not all(":" in s for s in subjects):
                    raise _unauthorized(
                        f"the {PRE_AUTHENTICATED_HEADER} header {forwarded!r} is not a list"
                        " of 'issuer:subject'"
                    )
                return Caller(subjects, self.role(subjects))
        header = headers.get("authorization")
        if not header:
            raise _unauthorized("no credentials were sent (use HTTP basic authentication)")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise _unauthorized(f"the authorization scheme {scheme!r} is not supported; use Basic")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _unauthorized("the basic credentials are not valid base64 'user:pass'") from exc
        username, separator, password = decoded.partition(":")
        expected = self._passwords.get(username)
        if (
            not separator
            or expected is None
            or not expected
            or not hmac.compare_digest(expected, password.encode())
        ):
            raise _unauthorized(f"wrong user name or password for user {username!r}")
        subjects = frozenset({f"{SUBJECT_ISSUER}:{username}"})
        return Caller(subjects, self.role(subjects))


def _unauthorized(message: str) -> DittoUnauthorizedError:
    return DittoUnauthorizedError(
        message,
        description="Check the user name and password of the twin API.",
        headers={"WWW-Authenticate": REALM},
    )
