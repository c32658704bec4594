"""The sync's verdict per room calendar, kept in a file ``citytwin status`` reads.

A file rather than an HTTP port: the sync has nothing else to serve, and the verdict
must outlive a restart of the status command, not of the sync.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class CalendarState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    DEGRADED = "degraded"


class RoomCalendarStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calendar: str
    state: CalendarState
    reason: str | None = None
    synced_at: float | None = None
    bookings: int = 0


class SyncStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str
    checked_at: float
    rooms: dict[str, RoomCalendarStatus]

    @property
    def degraded(self) -> dict[str, RoomCalendarStatus]:
        return {
            thing: room for thing, room in self.rooms.items() if room.state is not CalendarState.OK
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(self.model_dump_json(indent=1), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read(cls, path: Path) -> SyncStatus:
        """Raises ``OSError`` or ``pydantic.ValidationError``."""
        return cls.model_validate_json(path.read_bytes())
