"""Evidence for camera alerts: the video hub's picture of the moment an alert opened.

    TransitionOutbox.pending ── camera alerts just opened ──► SnapshotTaker.take_for
        ──► GET {hub}/api/cameras/{camera}/snapshot.jpg ──► AlertLifecycle.attach_evidence

An absence or intrusion alert is raised from the video presence signal; what the
operator acts on is the picture. Before the export loop hands the committed transitions
over, it gives the taker the pending ones: for each opening of a camera alert without
evidence, the hub that pulls the camera is asked for its latest JPEG, every request
within ``timeout_s`` and all of them together within that plus a second, and the picture
is kept through the lifecycle's one evidence storage. Only then are the notices made, so
the opened notice carries the ``evidence_url``. The rule engine never waits for a hub
(the export loop is its own task), and a hub that is away, slow or has no picture yet is
logged with the camera and the alert: the alert stands without evidence.

The outbox, not a hook in the rule pipeline, says which alerts opened: the pipeline's
commit is visible to the export loop before the pipeline hears back from the store, so
only what the outbox is about to tell is certain to be seen first. Alerts opened while the
process replays history are not photographed: the hub's picture is of now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import quote

import httpx

from analytics.alerts.errors import AlertError
from analytics.alerts.lifecycle import SYSTEM_ACTOR, AlertLifecycle
from analytics.alerts.model import RuleType
from analytics.alerts.outbox import Transition
from analytics.alerts.records import Action, Alert

logger = logging.getLogger(__name__)

PARALLEL = 4
"""Snapshots asked of the hubs at once (a burst of alerts does not flood a hub)."""


def camera_of(alert: Alert) -> str | None:
    """The camera whose picture is evidence of ``alert``: the camera of an intrusion, the
    desk camera an absence was judged from; None for every other alert."""
    match alert.rule_type:
        case RuleType.INTRUSION:
            return alert.device
        case RuleType.OFFICER_ABSENCE:
            camera = alert.details.get("camera")
            return camera if isinstance(camera, str) and camera else None
    return None


@dataclass(slots=True, frozen=True)
class HubRoutes:
    """Which hub pulls a camera: the one listing its thing id, else its site
    (``namespace:*``), else ``default``."""

    default: str
    shards: Mapping[str, str]

    def hub_for(self, camera: str) -> str:
        namespace = camera.split(":", 1)[0]
        url = self.shards.get(camera) or self.shards.get(f"{namespace}:*") or self.default
        return url.rstrip("/")


@dataclass(slots=True)
class SnapshotStats:
    """What the taker did, for ``/health`` and the tests."""

    kept: int = 0
    failed: int = 0
    skipped: int = 0
    """Alerts opened during a replay."""


class SnapshotTaker:
    """Fetches and keeps the snapshots of camera alerts about to be told of."""

    def __init__(
        self,
        lifecycle: AlertLifecycle,
        routes: HubRoutes,
        *,
        authorization: tuple[str, str] | None,
        timeout_s: float,
    ) -> None:
        self._lifecycle = lifecycle
        self._routes = routes
        self._auth = authorization
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None
        self._at_once = asyncio.Semaphore(PARALLEL)
        self.live = False
        """Set once the feed has caught up: before, alerts are history."""
        self.stats = SnapshotStats()

    async def __aenter__(self) -> Self:
        self._client = httpx.AsyncClient(
            timeout=self.timeout_s, follow_redirects=False, auth=self._auth
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def take_for(self, transitions: Sequence[Transition]) -> None:
        """Keep a snapshot for every camera alert these transitions open (none kept yet);
        returns within ``timeout_s`` + 1 s whatever the hubs do."""
        wanted: dict[str, tuple[Alert, str]] = {}
        for transition in transitions:
            alert = transition.alert
            camera = camera_of(alert)
            if transition.entry.action is not Action.OPENED or camera is None:
                continue
            if alert.evidence_path is not None or alert.id in wanted:
                continue
            if not self.live:
                self.stats.skipped += 1
                logger.info("alert %s on %s opened in a replay: no snapshot", alert.id, camera)
                continue
            wanted[alert.id] = (alert, camera)
        if not wanted:
            return
        takes = [asyncio.create_task(self._take(*job)) for job in wanted.values()]
        done, late = await asyncio.wait(takes, timeout=self.timeout_s + 1)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if late:
            self.stats.failed += len(late)
            logger.warning("%d snapshot(s) not taken in %.1f s", len(late), self.timeout_s + 1)
        for task in done:
            task.result()  # a bug in _take, not a hub's failure: raise it

    async def _take(self, alert: Alert, camera: str) -> None:
        assert self._client is not None, "SnapshotTaker used outside its context"
        url = f"{self._routes.hub_for(camera)}/api/cameras/{quote(camera, safe=':')}/snapshot.jpg"
        async with self._at_once:
            try:
                response = await self._client.get(url)
            except httpx.HTTPError as exc:
                self._failed(alert, camera, f"{url}: {type(exc).__name__} {exc}".rstrip())
                return
        if response.status_code != 200:
            text = response.text.strip()[:200]
            self._failed(alert, camera, f"{url} answered {response.status_code}: {text}")
            return
        try:
            await self._lifecycle.attach_evidence(alert.id, response.content, actor=SYSTEM_ACTOR)
        except AlertError as exc:
            self._failed(alert, camera, str(exc))
            return
        self.stats.kept += 1

    def _failed(self, alert: Alert, camera: str, why: str) -> None:
        self.stats.failed += 1
        logger.warning("alert %s: no snapshot of camera %s: %s", alert.id, camera, why)
