"""Webhooks: each notice POSTed as JSON to a subscriber, signed, retried, or dead-lettered.

The body is a `WebhookBody` (``{"type": "alert.opened", "timestamp": …, "data": notice}``,
the Standard Webhooks envelope) and carries the headers of `analytics.notify.signing`. An
attempt that times out, cannot connect, or gets a 5xx, 408 or 429 is repeated after the
backoff's delay — or the receiver's ``Retry-After`` — up to ``delivery.max_attempts``; any
other non-2xx answer is final. Every attempt is signed anew (a fresh timestamp stays inside
the receiver's replay window however long the retries took) under the same
``webhook-id``, which receivers use to drop a repeat of a delivery they already took.

The ``webhook-id`` is derived from the transition the notice tells of (`delivery_id_of`), not
drawn at random: the outbox hands a transition over again after a crash between handing
it over and marking it done, and the new process then sends it under the id the first
one used, so the receiver sees a repeat, not a second alert.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from analytics.notify.deadletters import DeadLetterLog, GiveUpReason, TargetKind
from analytics.notify.delivery import QueuedSender, Sleep, Wall
from analytics.notify.notice import AlertNotice
from analytics.notify.retry import judge_status
from analytics.notify.settings import DeliverySettings, WebhookSubscription
from analytics.notify.signing import signed_headers

logger = logging.getLogger(__name__)

USER_AGENT = "citytwin-notify/1"


def delivery_id_of(notice: AlertNotice) -> str:
    """``msg_`` + 32 hex digits of SHA-256 over what makes the transition one: the alert,
    what happened to it, when, and the escalation level (two escalations of one alert
    differ by it). The same for every attempt, every process and every restart."""
    at = notice.at.astimezone(UTC).isoformat(timespec="microseconds")
    identity = f"{notice.alert_id}|{notice.transition.value}|{at}|{notice.escalation_level}"
    return "msg_" + hashlib.sha256(identity.encode()).hexdigest()[:32]


class WebhookBody(BaseModel):
    """What a webhook receiver is POSTed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="'alert.' + the transition: alert.opened, alert.resolved …")
    timestamp: AwareDatetime = Field(description="when the notice was queued")
    data: AlertNotice


class WebhookSender(QueuedSender):
    """One subscription's queue and delivery task."""

    kind = TargetKind.WEBHOOK

    def __init__(
        self,
        name: str,
        subscription: WebhookSubscription,
        delivery: DeliverySettings,
        client: httpx.AsyncClient,
        dead_letters: DeadLetterLog,
        *,
        sleep: Sleep | None = None,
        wall: Wall | None = None,
        new_id: Callable[[AlertNotice], str] = delivery_id_of,
    ) -> None:
        super().__init__(name, subscription, delivery, dead_letters, sleep=sleep, wall=wall)
        self._subscription = subscription
        self._client = client
        self._new_id = new_id
        self.attempts = 0

    async def deliver(self, notice: AlertNotice) -> bool:
        body = (
            WebhookBody(
                type=f"alert.{notice.transition.value}",
                timestamp=datetime.fromtimestamp(self._wall(), UTC),
                data=notice,
            )
            .model_dump_json()
            .encode()
        )
        delivery_id = self._new_id(notice)
        url = str(self._subscription.url)
        secret = self._subscription.secret.get_secret_value()
        backoff = self.backoff()
        last_error = ""
        for attempt in range(1, self._delivery.max_attempts + 1):
            self.attempts += 1
            headers = {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                **signed_headers(secret, delivery_id, int(self._wall()), body),
            }
            wait: float | None = None
            try:
                response = await self._client.post(
                    url, content=body, headers=headers, timeout=self._delivery.timeout_seconds
                )
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.is_success:
                    self.delivered += 1
                    logger.info(
                        "webhook %r took alert %s (%s) at attempt %d",
                        self.name, notice.alert_id, notice.transition.value, attempt,
                    )  # fmt: skip
                    return True
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                verdict = judge_status(
                    response.status_code, response.headers.get("retry-after"), self._wall()
                )
                if not verdict.retry:
                    self.give_up(notice, GiveUpReason.REFUSED, attempt, last_error, delivery_id)
                    return False
                wait = verdict.wait
            if attempt == self._delivery.max_attempts:
                break
            delay = backoff.next_delay()
            if wait is not None:
                delay = min(wait, self._delivery.max_retry_after_seconds)
            logger.warning(
                "webhook %r, alert %s, attempt %d of %d: %s; again in %.1f s",
                self.name, notice.alert_id, attempt, self._delivery.max_attempts, last_error,
                delay,
            )  # fmt: skip
            await self._sleep(delay)
        self.give_up(
            notice, GiveUpReason.ATTEMPTS, self._delivery.max_attempts, last_error, delivery_id
        )
        return False
