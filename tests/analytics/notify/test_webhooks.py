"""Webhooks against a real HTTP receiver: signature, body, retries, refusals, dead letters.

Retries wait on a fake clock (the delays asked for are recorded); the HTTP exchanges are
real.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
import standardwebhooks
import standardwebhooks.webhooks

from analytics.alerts.model import AlertState, Severity
from analytics.notify.deadletters import DeadLetterLog, GiveUpReason, TargetKind
from analytics.notify.notice import Transition
from analytics.notify.signing import SignatureError, verify
from analytics.notify.webhooks import WebhookBody
from tests.analytics.notify.conftest import Answer, FakeSleep, Receiver, make_notice
from tests.analytics.notify.support import drained, running
from tests.services import free_port, wait_until

SECRET = "s3cret-of-the-ops-desk-receiver"


def path() -> str:
    return f"/hooks/{uuid.uuid4().hex[:10]}"


def hook(receiver: Receiver, where: str, **fields: object) -> dict[str, object]:
    return {"url": receiver.url + where, "secret": SECRET, **fields}


def settings(*hooks: Mapping[str, object], **delivery: object) -> dict[str, object]:
    return {
        "mqtt": {"enabled": False},
        "webhooks": {f"hook{i}": h for i, h in enumerate(hooks)},
        "delivery": {"max_attempts": 4, **delivery},
    }


@pytest.mark.asyncio
async def test_the_receiver_verifies_the_signature_and_reads_the_alert(
    receiver: Receiver, dead_letter_file: Path
) -> None:
    where = path()
    notice = make_notice()
    async with running(settings(hook(receiver, where)), dead_letter_file) as notifier:
        notifier.notify(notice)
        await drained(notifier)
    [request] = receiver.received(where)
    assert (
        verify(SECRET, request.headers, request.body, now=time.time())
        == request.headers["webhook-id"]
    )
    body = WebhookBody.model_validate_json(request.body)
    assert body.type == "alert.opened"
    assert body.data == notice
    assert request.headers["content-type"] == "application/json"
    # another secret, a changed body, a delivery replayed later: all refused
    with pytest.raises(SignatureError, match="does not match"):
        verify("another-secret-of-16+", request.headers, request.body, now=time.time())
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, request.headers, request.body.replace(b"major", b"info"), time.time())
    with pytest.raises(SignatureError, match="outside"):
        verify(SECRET, request.headers, request.body, now=time.time() + 3600)


@pytest.mark.asyncio
async def test_two_server_errors_then_success_deliver_once_under_one_id(
    receiver: Receiver, dead_letter_file: Path, fake_sleep: FakeSleep
) -> None:
    where = path()
    receiver.answer(where, Answer(500), Answer(503))
    async with running(
        settings(hook(receiver, where)), dead_letter_file, sleep=fake_sleep
    ) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
        sender = notifier.senders["webhook:hook0"]
    attempts = receiver.received(where)
    assert len(attempts) == 3
    assert len({a.headers["webhook-id"] for a in attempts}) == 1  # receivers drop repeats
    for attempt in attempts:  # each attempt signed on its own
        verify(SECRET, attempt.headers, attempt.body, now=time.time())
    assert fake_sleep.delays == [1.0, 2.0]  # the backoff: first_retry_seconds, doubled
    assert sender.delivered == 1
    assert DeadLetterLog(dead_letter_file).read() == []


@pytest.mark.asyncio
async def test_a_refusal_is_not_repeated_and_goes_to_the_dead_letters(
    receiver: Receiver, dead_letter_file: Path, fake_sleep: FakeSleep
) -> None:
    where = path()
    receiver.answer(where, Answer(400))
    notice = make_notice(alert_id="a-400")
    async with running(
        settings(hook(receiver, where)), dead_letter_file, sleep=fake_sleep
    ) as notifier:
        notifier.notify(notice)
        await drained(notifier)
    assert len(receiver.received(where)) == 1
    assert fake_sleep.delays == []
    [letter] = DeadLetterLog(dead_letter_file).read()
    assert letter.kind is TargetKind.WEBHOOK
    assert letter.target == "hook0"
    assert letter.reason is GiveUpReason.REFUSED
    assert letter.attempts == 1
    assert letter.last_error.startswith("HTTP 400")
    assert letter.notice == notice
    assert letter.delivery_id == receiver.received(where)[0].headers["webhook-id"]


@pytest.mark.asyncio
async def test_too_many_requests_waits_as_long_as_the_receiver_asks(
    receiver: Receiver, dead_letter_file: Path, fake_sleep: FakeSleep
) -> None:
    where = path()
    now = 1_800_000_000.0
    later = format_datetime(datetime.fromtimestamp(now + 90, UTC), usegmt=True)
    receiver.answer(where, Answer(429, {"retry-after": "7"}), Answer(429, {"retry-after": later}))
    async with running(
        settings(hook(receiver, where)), dead_letter_file, sleep=fake_sleep, wall=lambda: now
    ) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
    assert len(receiver.received(where)) == 3
    assert fake_sleep.delays == [7.0, 90.0]  # seconds, then an HTTP date
    assert DeadLetterLog(dead_letter_file).read() == []


@pytest.mark.asyncio
async def test_retry_after_is_capped(
    receiver: Receiver, dead_letter_file: Path, fake_sleep: FakeSleep
) -> None:
    where = path()
    receiver.answer(where, Answer(429, {"retry-after": "86400"}))
    config = settings(hook(receiver, where), max_retry_after_seconds=120)
    async with running(config, dead_letter_file, sleep=fake_sleep) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
    assert fake_sleep.delays == [120.0]


@pytest.mark.asyncio
async def test_an_unreachable_receiver_is_tried_max_attempts_then_dead_lettered(
    dead_letter_file: Path, fake_sleep: FakeSleep
) -> None:
    nobody = {"url": f"http://127.0.0.1:{free_port()}/hook", "secret": SECRET}
    async with running(settings(nobody), dead_letter_file, sleep=fake_sleep) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
    assert fake_sleep.delays == [1.0, 2.0, 4.0]
    [letter] = DeadLetterLog(dead_letter_file).read()
    assert letter.reason is GiveUpReason.ATTEMPTS
    assert letter.attempts == 4
    assert "ConnectError" in letter.last_error


@pytest.mark.asyncio
async def test_a_receiver_that_does_not_answer_in_time_is_tried_again(
    receiver: Receiver, dead_letter_file: Path, fake_sleep: FakeSleep
) -> None:
    where = path()
    receiver.answer(where, Answer(200, delay=6.0))  # then answers at once, well within 2 s
    config = settings(hook(receiver, where), timeout_seconds=2.0)
    async with running(config, dead_letter_file, sleep=fake_sleep) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
        assert notifier.senders["webhook:hook0"].delivered == 1
    assert len(receiver.received(where)) == 2
    assert fake_sleep.delays == [1.0]


@pytest.mark.asyncio
async def test_a_stuck_receiver_holds_up_neither_the_caller_nor_other_receivers(
    receiver: Receiver, dead_letter_file: Path
) -> None:
    slow, fast = path(), path()
    receiver.answer(slow, Answer(200, delay=5.0))
    config = settings(hook(receiver, slow), hook(receiver, fast), timeout_seconds=30)
    async with running(config, dead_letter_file) as notifier:
        for number in range(3):
            notifier.notify(make_notice(alert_id=f"a-{number}"))  # returns at once
        async with asyncio.timeout(20):
            await notifier.senders["webhook:hook1"].drain()
        assert len(receiver.received(fast)) == 3
        assert len(receiver.received(slow)) == 1  # still on its first notice


@pytest.mark.asyncio
async def test_a_subscription_gets_only_what_its_filter_lets_through(
    receiver: Receiver, dead_letter_file: Path
) -> None:
    where = path()
    config = settings(
        hook(
            receiver,
            where,
            min_severity="major",
            sites=["thaibinh.hcc"],
            transitions=["opened", "escalated"],
            rule_types=["officer_absence", "intrusion"],
        )
    )
    wanted = make_notice(alert_id="a-wanted")
    async with running(config, dead_letter_file) as notifier:
        for notice in [
            make_notice(alert_id="a-minor", severity=Severity.WARNING),
            make_notice(alert_id="a-school", site="thaibinh.school01"),
            make_notice(
                alert_id="a-ack", transition=Transition.ACKNOWLEDGED, state=AlertState.ACKNOWLEDGED
            ),
            make_notice(alert_id="a-ghost", rule_type="ghost_booking"),
            wanted,
        ]:
            notifier.notify(notice)
        await drained(notifier)
    [request] = receiver.received(where)
    assert WebhookBody.model_validate_json(request.body).data == wanted


@pytest.mark.asyncio
async def test_a_full_queue_dead_letters_what_does_not_fit(
    receiver: Receiver, dead_letter_file: Path
) -> None:
    where = path()
    receiver.answer(where, Answer(200, delay=1.0))
    config = settings(hook(receiver, where), queue_size=1)
    async with running(config, dead_letter_file) as notifier:
        for number in range(4):  # one in flight, one waiting, two refused
            notifier.notify(make_notice(alert_id=f"a-{number}"))
            await asyncio.sleep(0)
        await drained(notifier)
    letters = DeadLetterLog(dead_letter_file).read()
    assert {letter.reason for letter in letters} == {GiveUpReason.QUEUE_FULL}
    assert len(letters) + len(receiver.received(where)) == 4
    assert len(letters) >= 1


@pytest.mark.asyncio
async def test_what_is_still_queued_at_a_stop_goes_to_the_dead_letters(
    receiver: Receiver, dead_letter_file: Path
) -> None:
    where = path()
    receiver.answer(where, Answer(200, delay=5.0))
    config = settings(hook(receiver, where), timeout_seconds=30)
    async with running(config, dead_letter_file) as notifier:
        notifier.notify(make_notice(alert_id="a-in-flight"))
        notifier.notify(make_notice(alert_id="a-waiting"))
        await wait_until(lambda: len(receiver.received(where)) == 1)
    letters = DeadLetterLog(dead_letter_file).read()
    assert sorted(letter.notice.alert_id for letter in letters) == ["a-in-flight", "a-waiting"]
    assert {letter.reason for letter in letters} == {GiveUpReason.STOPPED}


@pytest.mark.asyncio
async def test_the_specifications_own_verifier_accepts_a_delivery(
    receiver: Receiver, dead_letter_file: Path
) -> None:
    where = path()
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    notice = make_notice()
    config = settings({"url": receiver.url + where, "secret": secret})
    async with running(config, dead_letter_file) as notifier:
        notifier.notify(notice)
        await drained(notifier)
    [request] = receiver.received(where)
    payload = standardwebhooks.Webhook(secret).verify(request.body, request.headers)
    assert WebhookBody.model_validate(payload).data == notice
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(request.body + b" ", request.headers)
