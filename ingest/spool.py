"""An append-only, fsynced disk spool of write bodies for while InfluxDB is down.

Files ``{n:012d}.spool`` in the spool directory hold records::

    b"CTSP" | length u32 | points u32 | crc32 u32 | body (a gzipped /write body)

Records are appended and fsynced before the messages they hold are acknowledged to the
broker, replayed oldest first, and a file is deleted once every record in it is in
InfluxDB. The read position survives restarts in ``cursor``.

A failed append (a full disk) is cut off again at once, so later appends never land behind
a torn record; at start, a torn record at the end of the newest file (a power cut
mid-append) is cut off too. Either way its messages were never acknowledged and the broker
delivers them again. On replay, only a torn tail of the newest file may be dropped; a bad
record anywhere else is corruption of fsynced data: ``peek`` raises ``SpoolError`` naming
the file and the offset and keeps the file. Methods block: call them off the loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import SpoolError

logger = logging.getLogger(__name__)

MAGIC = b"CTSP"
HEADER = struct.Struct("<4sIII")


@dataclass(slots=True, frozen=True)
class SpoolRecord:
    """One spooled write: where it is and what it holds."""

    segment: int
    offset: int
    end: int
    body: bytes
    points: int


class SpoolFullError(SpoolError):
    """The spool reached its size bound."""


class DiskSpool:
    """The spool in one directory; not thread-safe (one writer task uses it)."""

    def __init__(self, directory: Path, *, max_bytes: int, segment_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot create the spool directory {directory}: {exc}") from exc
        self._cursor_file = directory / "cursor"
        self._segments = sorted(
            int(path.stem) for path in directory.glob("*.spool") if path.stem.isdigit()
        )
        self._read_segment, self._read_offset = self._load_cursor()
        self._bytes = sum(self._path(n).stat().st_size for n in self._segments)
        self._records = 0 if not self._segments else -1  # unknown until replayed
        self._append_size = self._repair_tail() if self._segments else 0
        self._torn = False
        """An append failed and its bytes could not be cut off yet."""

    @property
    def empty(self) -> bool:
        """True when nothing waits for replay."""
        return not self._segments

    @property
    def size_bytes(self) -> int:
        """Bytes on disk, including records already replayed in the oldest file."""
        return self._bytes

    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:012d}.spool"

    def _load_cursor(self) -> tuple[int, int]:
        try:
            segment, offset = self._cursor_file.read_text().split()
            return int(segment), int(offset)
        except (OSError, ValueError):
            return (self._segments[0] if self._segments else 0), 0

    def _repair_tail(self) -> int:
        """Cut a torn record off the end of the newest file; return the size to append at
        (past the bound, so that a new file starts, when the file is corrupt inside)."""
        path = self._path(self._segments[-1])
        try:
            with path.open("r+b") as file:
                size = file.seek(0, os.SEEK_END)
                offset = 0
                while offset < size:
                    file.seek(offset)
                    header = file.read(HEADER.size)
                    if len(header) < HEADER.size:
                        break  # torn header
                    magic, length, _points, crc = HEADER.unpack(header)
                    end = offset + HEADER.size + length
                    if end > size:
                        break  # torn body
                    if magic != MAGIC:
                        if end < size:
                            return self.segment_bytes + 1  # corrupt inside: replay reports it
                        break
                    if end == size and zlib.crc32(file.read(length)) != crc:
                        break  # the last record was not fully written
                    offset = end
                if offset == size:
                    return size
                logger.warning(
                    "spool file %s ends with a torn record at byte %d (%d bytes); cut off"
                    " (its messages were not acknowledged and come again)",
                    path,
                    offset,
                    size - offset,
                )
                file.truncate(offset)
                file.flush()
                os.fsync(file.fileno())
        except OSError as exc:
            raise SpoolError(f"cannot check the spool file {path}: {exc}") from exc
        self._bytes -= size - offset
        return offset

    def append(self, body: bytes, points: int) -> None:
        """Append one write body and fsync it; ``SpoolFullError`` when over the bound."""
        if self._torn:
            if self._segments:
                self._cut_back(self._path(self._segments[-1]))
            self._torn = False
        record = HEADER.pack(MAGIC, len(body), points, zlib.crc32(body)) + body
        if self._bytes + len(record) > self.max_bytes:
            raise SpoolFullError(
                f"spool {self.directory} holds {self._bytes} bytes; another {len(record)}"
                f" would pass its bound of {self.max_bytes}"
            )
        if not self._segments or self._append_size + len(record) > self.segment_bytes:
            self._segments.append((self._segments[-1] + 1) if self._segments else 1)
            self._append_size = 0
        path = self._path(self._segments[-1])
        try:
            with path.open("ab") as file:
                file.write(record)
                file.flush()
                os.fsync(file.fileno())
            if self._append_size == 0:
                directory = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        except OSError as exc:
            self._torn = True
            with contextlib.suppress(SpoolError):
                self._cut_back(path)
            raise SpoolError(f"cannot append to spool file {path}: {exc}") from exc
        self._append_size += len(record)
        self._bytes += len(record)

    def _cut_back(self, path: Path) -> None:
        """Truncate ``path`` to its last good size after a failed append."""
        try:
            with path.open("r+b") as file:
                file.truncate(self._append_size)
                file.flush()
                os.fsync(file.fileno())
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SpoolError(
                f"cannot cut the torn record off spool file {path} at byte"
                f" {self._append_size}: {exc}"
            ) from exc
        self._torn = False

    def peek(self) -> SpoolRecord | None:
        """The oldest record not yet replayed, or None when the spool is empty."""
        while self._segments:
            segment = self._segments[0]
            offset = self._read_offset if self._read_segment == segment else 0
            record = self._read(segment, offset)
            if record is not None:
                return record
            self._drop_segment(segment)
        return None

    def _read(self, segment: int, offset: int) -> SpoolRecord | None:
        """The record at ``offset``, or None at the end of the file (or a torn tail of the
        newest file, which is dropped); corruption elsewhere raises ``SpoolError``."""
        path = self._path(segment)
        newest = segment == self._segments[-1]
        try:
            with path.open("rb") as file:
                size = file.seek(0, os.SEEK_END)
                file.seek(offset)
                header = file.read(HEADER.size)
                if not header:
                    return None
                body = b""
                magic, length, points, crc = MAGIC, 0, 0, 0
                if len(header) == HEADER.size:
                    magic, length, points, crc = HEADER.unpack(header)
                    body = file.read(length)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SpoolError(f"cannot read spool file {path} at {offset}: {exc}") from exc
        complete = len(header) == HEADER.size and len(body) == length
        if complete and magic == MAGIC and zlib.crc32(body) == crc:
            return SpoolRecord(segment, offset, offset + HEADER.size + length, body, points)
        at_tail = not complete or offset + HEADER.size + length >= size
        if newest and at_tail:
            logger.warning(
                "spool file %s ends with a torn record at byte %d; dropped"
                " (its messages were not acknowledged and come again)",
                path,
                offset,
            )
            return None
        message = (
            f"spool file {path} is corrupt at byte {offset} of {size}"
            f" ({'bad magic' if magic != MAGIC else 'bad CRC' if complete else 'torn record'});"
            " the file is kept for inspection and nothing after it is replayed"
        )
        logger.critical("%s", message)
        raise SpoolError(message)

    def pop(self, record: SpoolRecord) -> None:
        """Mark ``record`` replayed (it is in InfluxDB).

        ``SpoolError`` when the disk refuses the cursor: the position holds in memory and
        is written with the next pop; a restart before that replays a few records again,
        which overwrite their own points.
        """
        self._read_segment, self._read_offset = record.segment, record.end
        try:
            if (
                self._segments
                and record.segment == self._segments[-1]
                and (record.end >= self._append_size)
            ):
                self._drop_segment(record.segment)
                return
            self._write_cursor(record.segment, record.end)
        except OSError as exc:
            raise SpoolError(
                f"cannot record the replay position in {self._cursor_file}: {exc}"
            ) from exc

    def _write_cursor(self, segment: int, offset: int) -> None:
        """Replace the cursor atomically: a crash leaves the old one or the new one."""
        tmp = self._cursor_file.with_name("cursor.tmp")
        with tmp.open("w") as handle:
            handle.write(f"{segment} {offset}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._cursor_file)

    def _drop_segment(self, segment: int) -> None:
        path = self._path(segment)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            size = 0
        self._bytes = max(0, self._bytes - size)
        self._segments.remove(segment)
        if not self._segments:
            self._append_size = 0
        self._read_segment = self._segments[0] if self._segments else 0
        self._read_offset = 0
        self._write_cursor(self._read_segment, 0)
