"""The device twin's ``alerts`` feature: its alerts at a glance, after every transition.

A transition marks its device; `AlertSummaries.write_marked` then reads the device's
alerts that are not resolved from the store and writes the whole summary (declared in
`twins.definitions`, writer ``analytics``) as the twin's ``features/alerts/properties``,
replaced by one PUT (a merge patch would delete the properties that become null).
Reading the store rather than counting transitions makes the summary right whatever
order transitions come in and however often one is replayed.
A twin service that is away keeps the device marked for the next round; a device with no
twin is logged once and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertState
from analytics.alerts.outbox import Transition
from analytics.alerts.records import Alert
from twins.client import DittoClient
from twins.definitions import KIND_FEATURES
from twins.errors import DittoError, DittoNotFoundError, DittoUnavailableError
from twins.kinds import DeviceKind

logger = logging.getLogger(__name__)

ALERTS_FEATURE = next(
    feature for feature in KIND_FEATURES[DeviceKind.SENSOR] if feature.name == "alerts"
)
FEATURE_PATH = f"features/{ALERTS_FEATURE.name}/properties"


def rfc3339(at: datetime) -> str:
    """UTC with milliseconds and a ``Z``, as twins show times."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summary_of(alerts: Iterable[Alert], changed_at: datetime | None) -> dict[str, Any]:
    """The ``alerts`` feature's properties for a device's unresolved ``alerts``."""
    current = [alert for alert in alerts if alert.state is not AlertState.RESOLVED]
    worst = max((alert.severity for alert in current), default=None)
    newest = max(current, key=lambda alert: (alert.opened_at, alert.id), default=None)
    return {
        "open": len(current),
        "acknowledged": sum(1 for alert in current if alert.state is AlertState.ACKNOWLEDGED),
        "worstSeverity": worst.label if worst is not None else None,
        "newestAlertId": newest.id if newest is not None else None,
        "changedAt": rfc3339(changed_at) if changed_at is not None else None,
    }


class AlertSummaries:
    """Keeps the ``alerts`` feature of each device twin in step with the store."""

    def __init__(self, lifecycle: AlertLifecycle, client: Callable[[], DittoClient]) -> None:
        self.lifecycle = lifecycle
        self._client_factory = client
        self._client: DittoClient | None = None
        self._marked: dict[tuple[str, str], datetime] = {}
        self.written = 0

    def mark(self, transitions: Iterable[Transition]) -> None:
        """The devices of ``transitions`` need their summary written again."""
        for transition in transitions:
            alert = transition.alert
            place = (alert.site, alert.device)
            at = transition.entry.at
            self._marked[place] = max(at, self._marked.get(place, at))

    @property
    def marked(self) -> int:
        return len(self._marked)

    async def write_marked(self) -> None:
        """Write the summary of every marked device (kept marked if the twins are away)."""
        if not self._marked:
            return
        marked, self._marked = self._marked, {}
        by_site: dict[str, list[Alert]] = {}
        for (site, device), changed_at in marked.items():
            if site not in by_site:
                by_site[site] = await self.lifecycle.active_alerts(site)
            alerts = [alert for alert in by_site[site] if alert.device == device]
            summary = summary_of(alerts, changed_at)
            try:
                await asyncio.to_thread(self._patch, device, summary)
            except DittoNotFoundError:
                logger.warning("%s: no twin to write its alert summary to", device)
            except DittoError as exc:
                logger.warning("%s: alert summary not written (%s); trying again", device, exc)
                previous = self._marked.get((site, device), changed_at)
                self._marked[(site, device)] = max(previous, changed_at)
            else:
                self.written += 1

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _patch(self, device: str, summary: dict[str, Any]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        try:
            self._put(device, summary)
        except DittoUnavailableError:  # an idle keep-alive connection the server closed
            self._put(device, summary)

    def _put(self, device: str, summary: dict[str, Any]) -> None:
        assert self._client is not None
        try:
            self._client.put(device, FEATURE_PATH, summary)
        except DittoNotFoundError:
            # a twin provisioned before the feature was declared: create the feature
            feature = {"definition": [ALERTS_FEATURE.definition], "properties": summary}
            self._client.put(device, "features/alerts", feature)
