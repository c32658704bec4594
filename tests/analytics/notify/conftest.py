"""A real HTTP receiver for webhooks and apprise's ``json://``, and notices to send it.

The receiver is a Starlette app under uvicorn on a free port (one per session); each test
uses paths of its own, scripts the answers of a path (``answer``) and reads what arrived.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.notify.notice import AlertNotice, Transition
from tests.services import free_port, serve_in_thread


@dataclass(slots=True, frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True, frozen=True)
class Answer:
    """What the receiver answers to one request (after ``delay`` seconds)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """Records every request; answers each path from its script, then 200."""

    def __init__(self) -> None:
        self.url = ""
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._script: defaultdict[str, deque[Answer]] = defaultdict(deque)
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])

    def answer(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self._script[path].extend(answers)

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == path]

    async def _handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        body = await request.body()
        with self._lock:
            self._received.append(Received(path, dict(request.headers), body))
            script = self._script[path]
            answer = script.popleft() if script else Answer()
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return Response(f"answer {answer.status}", answer.status, headers=answer.headers)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    with serve_in_thread(server.app, free_port()) as url:
        server.url = url
        yield server


class FakeSleep:
    """Records the delays asked for and returns at once (retries without waiting)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def dead_letter_file(tmp_path: Path) -> Path:
    return tmp_path / "notify" / "deadletters.jsonl"


OPENED_AT = datetime(2026, 12, 3, 1, 40, tzinfo=UTC)  # 08:40 in Thái Bình


def make_notice(**changes: Any) -> AlertNotice:
    """An officer-absence alert just opened at a service-centre desk, changed by ``changes``."""
    fields: dict[str, Any] = {
        "alert_id": "a-1001",
        "rule": "desk-absence",
        "device": "thaibinh.hcc:counter-07",
        "zone": "desk",
        "rule_type": RuleType.OFFICER_ABSENCE,
        "state": AlertState.OPEN,
        "transition": Transition.OPENED,
        "severity": Severity.MAJOR,
        "site": "thaibinh.hcc",
        "sector": "public_administration",
        "opened_at": OPENED_AT,
        "at": OPENED_AT,
        "message_vi": "Quầy 7 vắng cán bộ hơn 10 phút trong khi có 4 người đang chờ",
        "message_en": "Counter 7 has had no officer for over 10 minutes while 4 people wait",
        "evidence_url": "http://127.0.0.1:8090/evidence/a-1001.jpg",
    }
    fields.update(changes)
    return AlertNotice(**fields)
