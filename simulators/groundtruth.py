"""Ground truth: what analytics should detect, as JSON lines, for scoring alerts and KPIs.

One line per incident or state change::

    {"what": "officer_absent", "device": "thaibinh.hcc:counter-07", "site": "thaibinh.hcc",
     "start": "2026-11-25T11:05:00.000+07:00", "end": "2026-11-25T11:40:00.000+07:00",
     "details": {"cause": "incident"}}

An interval is written when it ends; what is still open when the run stops is written then
with ``"end": null``. Points (a hostile message, a served ticket) have ``end == start``.
Times are simulated (event) times.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from simulators.clock import rfc3339
from twins.thing_id import ThingId

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Open:
    what: str
    device: ThingId
    site: str
    start: float
    details: dict[str, Any] = field(default_factory=dict)


class GroundTruth:
    """The ground-truth file of one run; a context manager that closes open intervals."""

    def __init__(self, path: Path, tz: timezone) -> None:
        self.path = path
        self._tz = tz
        self._file: IO[str] | None = None
        self._open: dict[int, _Open] = {}
        self._next = 0
        self.counts: Counter[str] = Counter()

    def __enter__(self) -> GroundTruth:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for entry in sorted(self._open.values(), key=lambda entry: entry.start):
            self._write(entry.what, entry.device, entry.site, entry.start, None, entry.details)
        self._open.clear()
        if self._file is not None:
            self._file.close()
            self._file = None

    def begin(
        self, what: str, device: ThingId, start: float, details: dict[str, Any] | None = None
    ) -> int:
        """Open an interval; returns the handle ``end`` takes."""
        self._next += 1
        self._open[self._next] = _Open(what, device, device.namespace, start, details or {})
        self.counts[what] += 1
        return self._next

    def end(self, handle: int, end: float, **details: Any) -> None:
        entry = self._open.pop(handle)
        entry.details.update(details)
        self._write(entry.what, entry.device, entry.site, entry.start, end, entry.details)

    def interval(
        self,
        what: str,
        device: ThingId,
        start: float,
        end: float | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record a whole interval (or a point, with ``end == start``) at once."""
        self.counts[what] += 1
        self._write(what, device, device.namespace, start, end, details or {})

    def _write(
        self,
        what: str,
        device: ThingId,
        site: str,
        start: float,
        end: float | None,
        details: dict[str, Any],
    ) -> None:
        if self._file is None:
            raise RuntimeError("ground truth written outside its context")
        line = {
            "what": what,
            "device": str(device),
            "site": site,
            "start": rfc3339(start, self._tz),
            "end": None if end is None else rfc3339(end, self._tz),
            "details": details,
        }
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()


def read_ground_truth(path: Path) -> list[dict[str, Any]]:
    """Every line of a ground-truth file, in file order."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
