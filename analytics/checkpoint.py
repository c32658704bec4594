"""Where the analytics engine remembers how far in event time it has processed.

After a restart the engine replays from InfluxDB from this point on (less its lookback),
so the checkpoint need only be *behind* the truth, never ahead: it is saved after the
events up to it were handled, and a crash between the two replays a little more, which
the lifecycle absorbs (a repeated signal changes nothing).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read back (named, with what to do)."""


class Checkpoint(Protocol):
    """The last event time (epoch ms) fully processed, kept across restarts."""

    def load(self) -> int | None:
        """The saved event time, or None before the first save."""
        ...

    def save(self, event_ms: int) -> None:
        """Remember ``event_ms``; durable when this returns."""
        ...


class FileCheckpoint:
    """A checkpoint in a small JSON file, replaced atomically (a crash keeps old or new)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> int | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            value = json.loads(text)["event_ms"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"analytics checkpoint {self.path} is unreadable ({exc}); remove it to"
                " start again from `analytics.start_lookback_hours`"
            ) from exc
        if not isinstance(value, int) or isinstance(value, bool):
            raise CheckpointError(f"analytics checkpoint {self.path}: event_ms {value!r} is not ms")
        return value

    def save(self, event_ms: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as file:
            json.dump({"event_ms": event_ms}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, self.path)
