"""The ``notify`` settings section: bad values are refused with the field that holds them,
and secrets stay out of what is printed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from analytics.alerts.model import Severity
from analytics.notify.settings import NotifySettings
from twins.validation import dotted, problems

HOOK = {"url": "https://receiver.example/hook", "secret": "a-secret-of-24-characters"}


def refused(config: dict[str, Any]) -> dict[str, str]:
    """``{field: message}`` of every problem of ``config``."""
    with pytest.raises(ValidationError) as caught:
        NotifySettings.model_validate(config)
    return {dotted(p.loc): p.message for p in problems(caught.value)}


def test_a_good_section_reads_severities_and_lists() -> None:
    settings = NotifySettings.model_validate(
        {
            "webhooks": {"ops": {**HOOK, "min_severity": "major", "sites": ["thaibinh.hcc"]}},
            "channels": {
                "leaders": {
                    "urls": ["mailtos://user:pass@mail.example?to=leaders@example.vn"],
                    "rule_types": ["intrusion"],
                    "min_severity": "critical",
                }
            },
        }
    )
    assert settings.webhooks["ops"].min_severity is Severity.MAJOR
    assert settings.channels["leaders"].min_severity is Severity.CRITICAL


def test_an_unknown_field_is_named_with_its_subscription() -> None:
    assert refused({"webhooks": {"ops": {**HOOK, "min_sevrity": "major"}}}) == {
        "webhooks.ops.min_sevrity": "unknown field (check the spelling)"
    }


def test_a_bad_severity_lists_the_accepted_words() -> None:
    found = refused({"webhooks": {"ops": {**HOOK, "min_severity": "urgent"}}})
    assert list(found) == ["webhooks.ops.min_severity"]
    assert "info, warning, major, critical" in found["webhooks.ops.min_severity"]


def test_a_short_secret_and_a_bad_url_are_refused() -> None:
    found = refused({"webhooks": {"ops": {"url": "ftp://receiver/hook", "secret": "short"}}})
    assert set(found) == {"webhooks.ops.url", "webhooks.ops.secret"}
    assert "shorter than 16 bytes" in found["webhooks.ops.secret"]


def test_an_apprise_url_apprise_cannot_use_is_named_without_its_password() -> None:
    found = refused(
        {
            "channels": {
                "leaders": {
                    "urls": [
                        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567",
                        "nosuch://user:hunter2@x",
                    ]
                }
            }
        }
    )
    assert list(found) == ["channels.leaders.urls[1]"]
    assert "nosuch://" in found["channels.leaders.urls[1]"]
    assert "hunter2" not in found["channels.leaders.urls[1]"]


def test_a_channel_needs_a_url_and_delivery_limits_are_ordered() -> None:
    found = refused(
        {
            "channels": {"desk": {"urls": []}},
            "delivery": {"first_retry_seconds": 60, "max_retry_seconds": 10},
            "timezone": "Asia/Thai_Binh",
        }
    )
    assert set(found) == {"channels.desk.urls", "delivery", "timezone"}
    assert "first_retry_seconds (60.0) is above max_retry_seconds (10.0)" in found["delivery"]
    assert "unknown time zone 'Asia/Thai_Binh'" in found["timezone"]


def test_secrets_are_hidden_when_the_settings_are_shown() -> None:
    settings = NotifySettings.model_validate(
        {
            "webhooks": {"ops": HOOK},
            "channels": {"desk": {"urls": ["tgram://123456:bot-token-xyz/987"]}},
        }
    )
    shown = settings.model_dump_json() + repr(settings)
    assert "a-secret-of-24-characters" not in shown
    assert "bot-token-xyz" not in shown
