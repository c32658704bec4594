"""The state directory is private: directories ``0700``, files ``0600``.

It holds the twin database, the broker's persistence (queued device messages), the
spool, the logs (device ids, addresses) and generated passwords. citytwin's processes
run with umask ``077``, which their children (Mosquitto, InfluxDB) inherit, so whatever
any of them creates there is private from the start; ``citytwin up`` also takes the
group and other bits off what an older version left readable.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from citytwin.paths import StatePaths

logger = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def use_private_files(paths: StatePaths) -> None:
    """Make everything this process (and its children) creates owner-only; create root."""
    os.umask(PRIVATE_UMASK)
    paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)


def make_private(root: Path) -> int:
    """Take group and other permissions off everything under ``root``; returns how many
    entries were changed (symbolic links are left alone)."""
    changed = 0
    for entry in (root, *root.rglob("*")):
        info = entry.lstat()
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
            continue
        entry.chmod(stat.S_IMODE(info.st_mode) & ~0o077)
        changed += 1
    if changed:
        logger.info("made %d entries under %s private to their owner", changed, root)
    return changed
