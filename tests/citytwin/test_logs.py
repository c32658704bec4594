"""Log lines reach the stderr of the moment, even after the first one was closed."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest

from citytwin.logs import configure_logging


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, with its handlers and level put back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


def test_a_line_reaches_the_stderr_that_replaced_a_closed_one(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO", process="ingest")
    logging.getLogger("ingest.bridge").info("first line")
    assert "first line" in first.getvalue()

    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("ingest.bridge").warning("spool at %d %%", 80)

    line = second.getvalue()
    assert "WARNING" in line
    assert "ingest ingest.bridge: spool at 80 %" in line
    assert "Logging error" not in line


def test_the_level_holds_and_http_clients_stay_quiet(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("WARNING", process="analytics")

    logging.getLogger("analytics.rules").info("not shown")
    logging.getLogger("httpx").info("HTTP Request: GET /api/2/things")
    logging.getLogger("analytics.rules").error("rule file broken")

    out = stream.getvalue()
    assert "not shown" not in out
    assert "HTTP Request" not in out
    assert "rule file broken" in out
    assert logging.getLogger("httpx").level == logging.WARNING
