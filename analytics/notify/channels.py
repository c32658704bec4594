"""apprise channels: email, Telegram, Slack, Matrix and the rest, by URL.

A channel is a set of apprise URLs with a filter (rules, rule types, minimum severity,
sites, transitions); each notice it wants is rendered (`analytics.notify.messages`,
Vietnamese first) and sent to all its URLs. apprise tells only success or failure, so a
failed send is repeated with the shared backoff up to ``delivery.max_attempts`` and then
dead-lettered; apprise's own log says which service failed and why.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import apprise

from analytics.alerts.model import Severity
from analytics.notify.deadletters import DeadLetterLog, GiveUpReason, TargetKind
from analytics.notify.delivery import QueuedSender, Sleep, Wall
from analytics.notify.errors import NotifyConfigError
from analytics.notify.messages import render
from analytics.notify.notice import AlertNotice, Transition
from analytics.notify.settings import AppriseChannel, DeliverySettings

logger = logging.getLogger(__name__)

NOTIFY_TYPES = {
    Severity.INFO: apprise.NotifyType.INFO,
    Severity.WARNING: apprise.NotifyType.WARNING,
    Severity.MAJOR: apprise.NotifyType.FAILURE,
    Severity.CRITICAL: apprise.NotifyType.FAILURE,
}


class ChannelSender(QueuedSender):
    """One apprise channel's queue and delivery task."""

    kind = TargetKind.CHANNEL

    def __init__(
        self,
        name: str,
        channel: AppriseChannel,
        delivery: DeliverySettings,
        dead_letters: DeadLetterLog,
        *,
        zone: ZoneInfo,
        console_url: str | None = None,
        sleep: Sleep | None = None,
        wall: Wall | None = None,
    ) -> None:
        super().__init__(name, channel, delivery, dead_letters, sleep=sleep, wall=wall)
        self._zone = zone
        self._console_url = console_url
        self._apprise = apprise.Apprise()
        for index, url in enumerate(channel.urls):
            if not self._apprise.add(url.get_secret_value()):
                raise NotifyConfigError(
                    f"notify.channels.{name}.urls[{index}]: apprise cannot use this URL"
                )

    async def deliver(self, notice: AlertNotice) -> bool:
        message = render(notice, self._zone, self._console_url)
        notify_type = (
            apprise.NotifyType.SUCCESS
            if notice.transition is Transition.RESOLVED
            else NOTIFY_TYPES[notice.severity]
        )
        backoff = self.backoff()
        for attempt in range(1, self._delivery.max_attempts + 1):
            sent = await self._apprise.async_notify(
                body=message.body,
                title=message.title,
                notify_type=notify_type,
                body_format=apprise.NotifyFormat.TEXT,
            )
            if sent:
                self.delivered += 1
                logger.info(
                    "channel %r sent alert %s (%s) at attempt %d",
                    self.name, notice.alert_id, notice.transition.value, attempt,
                )  # fmt: skip
                return True
            if attempt < self._delivery.max_attempts:
                delay = backoff.next_delay()
                logger.warning("channel %r, alert %s, attempt %d failed; again in %.1f s",
                               self.name, notice.alert_id, attempt, delay)  # fmt: skip
                await self._sleep(delay)
        self.give_up(
            notice,
            GiveUpReason.ATTEMPTS,
            self._delivery.max_attempts,
            "apprise reported a failure on every attempt (its log names the service)",
        )
        return False
