"""apprise channels against a real local receiver (apprise's ``json://`` service) and a
real SMTP server (aiosmtpd) for e-mail.

What arrives is what an operator's phone or mailbox would show: the title with severity and
site, Vietnamese first with its diacritics intact, English after.
"""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from analytics.alerts.model import RuleType, Severity
from analytics.notify.deadletters import DeadLetterLog, GiveUpReason, TargetKind
from tests.analytics.notify.conftest import Answer, FakeSleep, Receiver, make_notice
from tests.analytics.notify.support import drained, running
from tests.services import free_port


def json_url(receiver: Receiver, where: str) -> str:
    return receiver.url.replace("http://", "json://") + where


def path() -> str:
    return f"/apprise/{uuid.uuid4().hex[:10]}"


def channels(**named: dict[str, Any]) -> dict[str, Any]:
    return {
        "mqtt": {"enabled": False},
        "channels": named,
        "delivery": {"max_attempts": 3},
        "console_url": "https://ioc.thaibinh.gov.vn/console",
    }


@pytest.mark.asyncio
async def test_the_message_arrives_in_vietnamese_then_english(
    receiver: Receiver, dead_letter_file: Path
) -> None:
    where = path()
    config = channels(desk={"urls": [json_url(receiver, where)]})
    async with running(config, dead_letter_file) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
    [request] = receiver.received(where)
    sent = json.loads(request.body.decode("utf-8"))
    title, body = sent["title"], sent["message"]
    assert title.startswith("[Nghiêm trọng] Cảnh báo mới: Cán bộ vắng mặt tại quầy — thaibinh.hcc")
    assert "[Major] New alert: Officer absent from the desk" in title
    assert "Quầy 7 vắng cán bộ hơn 10 phút trong khi có 4 người đang chờ" in body
    assert "Counter 7 has had no officer for over 10 minutes while 4 people wait" in body
    assert body.index("Quầy 7") < body.index("— English —") < body.index("Counter 7")
    assert "Bắt đầu lúc 08:40 03/12/2026" in body  # 01:40 UTC, written in Thái Bình's time
    assert "Ảnh bằng chứng: http://127.0.0.1:8090/evidence/a-1001.jpg" in body
    assert "https://ioc.thaibinh.gov.vn/console/alerts/a-1001" in body
    assert sent["type"] == "failure"  # apprise's word for a major alert


@pytest.mark.asyncio
async def test_channels_are_chosen_by_rule_type_and_severity(
    receiver: Receiver, dead_letter_file: Path
) -> None:
    leaders, desk = path(), path()
    config = channels(
        leaders={
            "urls": [json_url(receiver, leaders)],
            "rule_types": ["intrusion"],
            "min_severity": "critical",
        },
        desk={
            "urls": [json_url(receiver, desk)],
            "rules": ["desk-absence"],
            "min_severity": "warning",
        },
    )
    async with running(config, dead_letter_file) as notifier:
        notifier.notify(make_notice(alert_id="a-absent", severity=Severity.WARNING))
        notifier.notify(make_notice(alert_id="a-info", severity=Severity.INFO))
        notifier.notify(
            make_notice(
                alert_id="a-intruder", rule="records-room", rule_type=RuleType.INTRUSION,
                severity=Severity.CRITICAL, message_vi="Có người trong phòng lưu trữ hồ sơ",
            )
        )  # fmt: skip
        notifier.notify(
            make_notice(alert_id="a-intruder-minor", rule="lobby", rule_type=RuleType.INTRUSION)
        )
        await drained(notifier)

    def ids(where: str) -> list[str]:
        return [
            json.loads(r.body)["message"].rsplit("Alert id: ", 1)[1]
            for r in receiver.received(where)
        ]

    assert ids(leaders) == ["a-intruder"]
    assert ids(desk) == ["a-absent"]
    [intrusion] = receiver.received(leaders)
    assert "Có người trong phòng lưu trữ hồ sơ" in json.loads(intrusion.body)["message"]
    assert json.loads(intrusion.body)["title"].startswith("[Khẩn cấp]")


@pytest.mark.asyncio
async def test_a_failing_channel_is_retried_then_dead_lettered(
    receiver: Receiver, dead_letter_file: Path, fake_sleep: FakeSleep
) -> None:
    where = path()
    receiver.answer(where, Answer(500), Answer(500), Answer(500))
    config = channels(desk={"urls": [json_url(receiver, where)]})
    async with running(config, dead_letter_file, sleep=fake_sleep) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
    assert len(receiver.received(where)) == 3
    assert fake_sleep.delays == [1.0, 2.0]
    [letter] = DeadLetterLog(dead_letter_file).read()
    assert (letter.kind, letter.target, letter.reason) == (
        TargetKind.CHANNEL, "desk", GiveUpReason.ATTEMPTS,
    )  # fmt: skip


@pytest.mark.asyncio
async def test_a_channel_that_recovers_delivers_once(
    receiver: Receiver, dead_letter_file: Path, fake_sleep: FakeSleep
) -> None:
    where = path()
    receiver.answer(where, Answer(502))
    config = channels(desk={"urls": [json_url(receiver, where)]})
    async with running(config, dead_letter_file, sleep=fake_sleep) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
        assert notifier.senders["channel:desk"].delivered == 1
    assert len(receiver.received(where)) == 2
    assert DeadLetterLog(dead_letter_file).read() == []


class Mailbox:
    """What a real SMTP server (aiosmtpd, in its own thread) was given."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.mark.asyncio
async def test_an_email_keeps_its_vietnamese_subject_body_and_lines(
    mailbox: tuple[Mailbox, int], dead_letter_file: Path
) -> None:
    box, port = mailbox
    url = (
        f"mailto://127.0.0.1:{port}?mode=insecure&user=ioc"
        "&from=ioc@thaibinh.gov.vn&to=tiepdan@thaibinh.gov.vn"
    )
    async with running(channels(reception={"urls": [url]}), dead_letter_file) as notifier:
        notifier.notify(make_notice())
        await drained(notifier)
    [envelope] = box.envelopes
    assert envelope.rcpt_tos == ["tiepdan@thaibinh.gov.vn"]
    assert isinstance(envelope.content, bytes)
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert str(mail["subject"]).startswith("[Nghiêm trọng] Cảnh báo mới: Cán bộ vắng mặt tại quầy")
    plain = mail.get_body(("plain",))
    assert plain is not None
    lines = plain.get_content().splitlines()
    assert lines[1] == "Quầy 7 vắng cán bộ hơn 10 phút trong khi có 4 người đang chờ"
    assert "— English —" in lines
    assert lines.index("— English —") < lines.index(
        "Counter 7 has had no officer for over 10 minutes while 4 people wait"
    )
