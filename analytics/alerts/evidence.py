"""Where camera snapshots kept as evidence live: JPEG files under one directory.

The store keeps only the path relative to the root, so the directory can move (or be
served by the HTTP app) without touching the database. Files are written to a temporary
name, fsynced and renamed, so a reader never sees half a snapshot.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Protocol

from analytics.alerts.errors import EvidenceError

logger = logging.getLogger(__name__)

JPEG_MAGIC = b"\xff\xd8\xff"
MAX_SNAPSHOT_BYTES = 20 * 1024 * 1024
_SAFE_ID = re.compile(r"^[0-9a-f]{32}$")


class EvidenceStorage(Protocol):
    """Keeps a snapshot for an alert and says where; reads it back."""

    def save(self, alert_id: str, at: datetime, jpeg: bytes) -> str:
        """Keep ``jpeg`` (taken at ``at``) for ``alert_id``; the path to store."""
        ...

    def read(self, path: str) -> bytes:
        """The bytes of a snapshot ``save`` returned the path of."""
        ...


class DiskEvidenceStorage:
    """Snapshots as ``{root}/{alert_id}/{at:%Y%m%dT%H%M%S%fZ}.jpg``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, alert_id: str, at: datetime, jpeg: bytes) -> str:
        if not _SAFE_ID.match(alert_id):
            raise EvidenceError(f"evidence for alert {alert_id!r}: not an alert id")
        if not jpeg.startswith(JPEG_MAGIC):
            raise EvidenceError(
                f"evidence for alert {alert_id}: the snapshot is not a JPEG"
                f" (starts with {jpeg[:4].hex() or 'nothing'}, a JPEG with ffd8ff)"
            )
        if len(jpeg) > MAX_SNAPSHOT_BYTES:
            raise EvidenceError(
                f"evidence for alert {alert_id}: the snapshot has {len(jpeg)} bytes,"
                f" more than {MAX_SNAPSHOT_BYTES}"
            )
        relative = f"{alert_id}/{at.strftime('%Y%m%dT%H%M%S%fZ')}.jpg"
        target = self.root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(jpeg)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise EvidenceError(
                f"evidence for alert {alert_id}: cannot write {target}: {exc}"
            ) from exc
        logger.info("alert %s: snapshot of %d bytes kept as %s", alert_id, len(jpeg), target)
        return relative

    def read(self, path: str) -> bytes:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise EvidenceError(f"evidence path {path!r} leaves the evidence directory")
        try:
            return target.read_bytes()
        except OSError as exc:
            raise EvidenceError(f"evidence {path!r}: cannot read {target}: {exc}") from exc
