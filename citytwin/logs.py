"""Logging, configured once per process by the CLI."""

from __future__ import annotations

import logging


def configure_logging(level: str, *, process: str) -> None:
    """Timestamped lines naming the process and module, on stderr."""
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s %(levelname)-7s {process} %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        force=True,
    )
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
