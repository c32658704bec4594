"""Where report photos live: one interface, the disk under the state dir behind it.

Files are written 0600 in a 0700 directory per report, through a temporary file and a
rename, so a crash never leaves half a photo that a later read would serve.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


class PhotoStorage(Protocol):
    """Photos of reports, numbered from 1 per report."""

    def put(self, report_id: str, number: int, jpeg: bytes) -> None: ...

    def get(self, report_id: str, number: int) -> bytes | None: ...

    def remove(self, report_id: str) -> None: ...

    def count(self, report_id: str) -> int: ...


class DiskPhotoStorage:
    """``root/<report id>/<n>.jpg``, readable by citytwin's user alone."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, report_id: str) -> Path:
        if not SAFE_ID.match(report_id):
            raise ValueError(f"report id {report_id!r} is not a safe file name")
        return self.root / report_id.replace(":", "~")

    def put(self, report_id: str, number: int, jpeg: bytes) -> None:
        folder = self._dir(report_id)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(jpeg)
            os.chmod(temporary, 0o600)
            os.replace(temporary, folder / f"{number}.jpg")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, report_id: str, number: int) -> bytes | None:
        path = self._dir(report_id) / f"{number}.jpg"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def remove(self, report_id: str) -> None:
        shutil.rmtree(self._dir(report_id), ignore_errors=True)

    def count(self, report_id: str) -> int:
        folder = self._dir(report_id)
        return len(list(folder.glob("*.jpg"))) if folder.is_dir() else 0
