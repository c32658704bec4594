"""The ``api`` settings refuse tokens another system could guess or share."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from citytwin.settings import CitytwinSettings, settings_problems


def problems(values: dict[str, object]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        CitytwinSettings.model_validate(values)
    return settings_problems(caught.value)


def test_a_short_token_is_refused_naming_it() -> None:
    found = problems({"api": {"tokens": {"queue-system": {"token": "short"}}}})
    assert found == [
        "api.tokens.queue-system: token: use 16 characters or more (e.g. `openssl rand -hex 24`)"
    ]


def test_two_systems_may_not_share_a_token() -> None:
    token = "0123456789abcdef0123"
    found = problems(
        {"api": {"tokens": {"a": {"token": token}, "b": {"token": token, "role": "operator"}}}}
    )
    assert found == ["api: tokens: 'b' has the same token as 'a'"]


def test_a_token_role_is_one_of_the_three() -> None:
    found = problems({"api": {"tokens": {"a": {"token": "0123456789abcdef", "role": "root"}}}})
    assert len(found) == 1
    assert found[0].startswith("api.tokens.a.role:")
    assert "'viewer', 'operator' or 'admin'" in found[0]


def test_tokens_default_to_viewer_and_the_store_to_the_state_dir() -> None:
    settings = CitytwinSettings.model_validate(
        {"state_dir": "/srv/ct", "api": {"tokens": {"a": {"token": "0123456789abcdef"}}}}
    )
    assert settings.api.tokens["a"].role == "viewer"
    assert settings.alerts.store_url(settings.state_dir) == "sqlite:////srv/ct/alerts/alerts.db"
