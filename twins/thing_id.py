"""Thing ids: ``namespace:name``, as Eclipse Ditto defines them, kept MQTT-safe.

Ditto allows a namespace of dot- or dash-separated segments that start with a letter and a
name of any characters but control characters and ``/``. A citytwin device name is also an
MQTT topic level and a Mosquitto user name, so it is limited to letters, digits, ``_``,
``.`` and ``-`` (no ``+``, ``#``, ``:`` or ``/``). Every citytwin thing id is therefore a
valid Ditto thing id, and the reverse holds for the ids citytwin itself creates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twins.errors import InvalidThingIdError

NAMESPACE_PATTERN = r"[a-zA-Z]\w*(?:[.-][a-zA-Z]\w*)*"
NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
MAX_THING_ID_LENGTH = 256

_THING_ID = re.compile(rf"^(?P<namespace>{NAMESPACE_PATTERN}):(?P<name>{NAME_PATTERN})$")
# Ditto's own (wider) rule for names: anything but control characters and "/".
_DITTO_THING_ID = re.compile(
    rf"^(?P<namespace>(?:{NAMESPACE_PATTERN})?):(?P<name>[^\x00-\x1F\x7F-\xFF/]+)$"
)


@dataclass(slots=True, frozen=True, order=True)
class ThingId:
    """A parsed thing id; ``str(thing_id)`` gives ``namespace:name``."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}:{self.name}"

    @property
    def mqtt_username(self) -> str:
        """The broker user name of this device (Mosquitto forbids ``:`` in user names)."""
        return f"{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, value: str) -> ThingId:
        """Parse a citytwin (MQTT-safe) thing id, saying what is wrong when it is not one."""
        if len(value) > MAX_THING_ID_LENGTH:
            raise InvalidThingIdError(
                f"thing id {value[:40]!r}… is {len(value)} characters long;"
                f" at most {MAX_THING_ID_LENGTH} are allowed"
            )
        match = _THING_ID.fullmatch(value)
        if match is None:
            raise InvalidThingIdError(
                f"thing id {value!r} is not 'namespace:name' with a namespace of"
                " dot-separated segments starting with a letter (e.g. 'thaibinh.hcc') and a"
                " name of letters, digits, '_', '.', '-' (e.g. 'counter-07')"
            )
        return cls(match["namespace"], match["name"])


def is_ditto_thing_id(value: str) -> bool:
    """True when ``value`` is a thing id Eclipse Ditto itself would accept."""
    return len(value) <= MAX_THING_ID_LENGTH and _DITTO_THING_ID.fullmatch(value) is not None
