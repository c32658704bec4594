"""Logging, configured once per process by the CLI."""

from __future__ import annotations

import logging
import sys
from typing import TextIO


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the moment of each record.

    A plain ``StreamHandler`` keeps the stream it was given. When the CLI runs in-process
    (tests with pytest's capture, an embedding program that swaps ``sys.stderr``), that
    stream may be closed by the time a background thread logs, and every later record
    becomes a "--- Logging error ---" traceback instead of a line. Looking ``sys.stderr``
    up per record keeps the lines flowing to the stream that is there now.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _stream: TextIO) -> None:
        """The stream is always the current ``sys.stderr``; nothing to keep."""


def configure_logging(level: str, *, process: str) -> None:
    """Timestamped lines naming the process and module, on stderr."""
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s %(levelname)-7s {process} %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        handlers=[CurrentStderrHandler()],
        force=True,
    )
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
