"""The device registry file, reread when it changes, keeping the last good registry.

Provisioning (``citytwin provision``, ``citytwin simulate``) replaces the file atomically
(``os.replace``) and reloads the broker, so new devices may publish right away. Ingest and
the HTTP router reread the file when its signature (inode, size, mtime) changes. A file
that becomes invalid or disappears is logged once — with the file and, for bad YAML or a
bad field, the line — and the last good registry stays in use.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from twins.errors import TwinsError
from twins.registry import Registry

logger = logging.getLogger(__name__)

_Signature = tuple[int, int, int] | None


def _signature(path: Path) -> _Signature:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class RegistryFile:
    """A registry file and the last registry read from it without error."""

    def __init__(self, path: Path) -> None:
        """Read ``path`` (errors here propagate: there is no good registry yet)."""
        self.path = path
        self._signature = _signature(path)
        self.registry = Registry.load(path)

    def refresh(self) -> Registry | None:
        """The new registry when the file changed and reads well, else None."""
        signature = _signature(self.path)
        if signature == self._signature:
            return None
        self._signature = signature
        if signature is None:
            logger.error(
                "registry %s is missing; keeping the last good registry (%d devices)",
                self.path,
                len(self.registry),
            )
            return None
        try:
            registry = Registry.load(self.path)
        except (TwinsError, ValueError, OSError) as exc:
            logger.error(
                "registry %s not reloaded, keeping the last good one (%d devices): %s",
                self.path,
                len(self.registry),
                exc,
            )
            return None
        logger.info("registry %s reloaded: %d devices", self.path, len(registry))
        self.registry = registry
        return registry
