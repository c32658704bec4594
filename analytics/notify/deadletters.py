"""Notices that could not be delivered, kept as JSON lines for an operator to look at.

A webhook that answered 400, a channel that failed every attempt, a queue that overflowed:
each gives one line with the target, the reason, the attempts and the notice itself, so
nothing is lost silently and a notice can be replayed by hand. Lines are appended and
flushed one at a time; they are rare, and a crash loses at most the line being written.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from analytics.notify.notice import AlertNotice

logger = logging.getLogger(__name__)


class TargetKind(StrEnum):
    """Which kind of target gave up."""

    WEBHOOK = "webhook"
    CHANNEL = "channel"


class GiveUpReason(StrEnum):
    """Why a notice was given up on."""

    REFUSED = "refused"
    """The receiver answered with a status that is not worth repeating (4xx, 3xx)."""
    ATTEMPTS = "attempts"
    """Every attempt failed."""
    QUEUE_FULL = "queue_full"
    """The target's queue was full when the notice came."""
    STOPPED = "stopped"
    """The service stopped with the notice still waiting."""


class DeadLetter(BaseModel):
    """One notice given up on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: AwareDatetime = Field(description="when it was given up on")
    kind: TargetKind
    target: str = Field(description="name of the webhook or channel")
    reason: GiveUpReason
    attempts: int = Field(ge=0)
    last_error: str = Field(description="the last answer or error, e.g. 'HTTP 400: …'")
    delivery_id: str = Field("", description="the webhook-id header, for webhooks")
    notice: AlertNotice


class DeadLetterLog:
    """Appends dead letters to one file (its folder is made on the first one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0

    def add(self, letter: DeadLetter) -> None:
        self.count += 1
        logger.warning(
            "%s %r gave up on alert %s (%s, %s) after %d attempt(s): %s",
            letter.kind.value, letter.target, letter.notice.alert_id,
            letter.notice.transition.value, letter.reason.value, letter.attempts,
            letter.last_error,
        )  # fmt: skip
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(letter.model_dump_json() + "\n")
        except OSError as exc:
            logger.error("dead letter of alert %s not written to %s: %s",
                         letter.notice.alert_id, self.path, exc)  # fmt: skip

    def read(self) -> list[DeadLetter]:
        """Every dead letter in the file, oldest first (none when there is no file)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [DeadLetter.model_validate_json(line) for line in lines if line.strip()]
