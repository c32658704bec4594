"""The words of a notice, and the notice's own schema."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.notify.messages import RULE_EN, RULE_VI, SECTOR_EN, SECTOR_VI, render
from analytics.notify.notice import AlertNotice, Transition
from tests.analytics.notify.conftest import make_notice
from twins.kinds import Sector
from twins.topics import alert_topic, parse_alert_topic

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_every_rule_type_and_sector_has_words_in_both_languages() -> None:
    assert set(RULE_VI) == set(RULE_EN) == set(RuleType)
    assert set(SECTOR_VI) == set(SECTOR_EN) == set(Sector)


def test_an_acknowledged_escalated_alert_says_who_and_how_far() -> None:
    notice = make_notice(
        state=AlertState.ACKNOWLEDGED,
        transition=Transition.ACKNOWLEDGED,
        severity=Severity.CRITICAL,
        escalation_level=2,
        actor="tran.thi.binh",
    )
    message = render(notice, ZONE)
    assert message.title.startswith("[Khẩn cấp] Đã tiếp nhận: Cán bộ vắng mặt tại quầy")
    vietnamese, english = message.body.split("— English —")
    assert "Cấp chuyển lên: 2" in vietnamese
    assert "Người thực hiện: tran.thi.binh" in vietnamese
    assert "Escalation level: 2" in english
    assert "By: tran.thi.binh" in english
    assert "trạng thái đã tiếp nhận lúc 08:40 03/12/2026" in vietnamese
    assert "Địa điểm: thaibinh.hcc (Hành chính công)" in vietnamese
    assert "Site: thaibinh.hcc (public administration)" in english


def test_a_notice_reads_back_from_its_json_with_severity_as_a_word() -> None:
    notice = make_notice()
    text = notice.model_dump_json()
    assert '"severity":"major"' in text
    assert '"key":"desk-absence|thaibinh.hcc:counter-07|desk"' in text
    assert AlertNotice.model_validate_json(text) == notice
    schema = AlertNotice.model_json_schema()
    assert schema["properties"]["severity"]["enum"] == ["info", "warning", "major", "critical"]


def test_a_notice_refuses_a_key_that_is_not_its_parts_and_a_naive_time() -> None:
    with pytest.raises(ValidationError, match="is not rule\\|device\\|zone"):
        make_notice(key="other|thaibinh.hcc:counter-07|desk")
    with pytest.raises(ValidationError, match="opened_at"):
        make_notice(opened_at="2026-12-03T08:40:00")


def test_alert_topics_carry_one_level_per_part() -> None:
    topic = alert_topic("thaibinh.hcc", "a-1001")
    assert topic == "citytwin/$platform/alerts/thaibinh.hcc/a-1001"
    assert parse_alert_topic(topic) == ("thaibinh.hcc", "a-1001")
    assert parse_alert_topic("citytwin/$platform/events/x/y") is None
    for site, alert_id in [("thaibinh.hcc", "a/b"), ("thaibinh.hcc", "#"), ("+", "a-1")]:
        with pytest.raises(ValueError, match="one topic level"):
            alert_topic(site, alert_id)


def test_the_documentation_describes_every_field_of_a_notice() -> None:
    page = (Path(__file__).parents[3] / "docs" / "notifications.md").read_text()
    table = page.split("### `AlertNotice`", 1)[1].split("```json", 1)[0]
    missing = [name for name in AlertNotice.model_fields if f"`{name}`" not in table]
    assert missing == []
