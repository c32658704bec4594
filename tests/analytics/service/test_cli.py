"""``citytwin analytics`` refuses what it cannot run with, naming the setting or the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from citytwin.settings import CitytwinSettings, settings_problems
from tests.analytics.service.conftest import FLOOD_RULES

pytestmark = pytest.mark.timeout(120)


def analytics(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CITYTWIN_")}
    return subprocess.run(
        [sys.executable, "-m", "citytwin", "analytics", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            **clean,
            "CITYTWIN_STATE_DIR": str(tmp_path / "var"),
            "CITYTWIN_LANGUAGE": "en",
            **env,
        },
    )


def test_a_broken_rule_file_stops_the_start_naming_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "flood.yaml").write_text(FLOOD_RULES.replace("severity: major", "severity: urgent"))
    result = analytics(tmp_path, CITYTWIN_ANALYTICS__RULES_DIR=str(rules))
    assert result.returncode == 2
    assert (
        f"{rules / 'flood.yaml'}:4: rules[0].severity: unknown severity 'urgent'" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_an_alert_store_url_of_another_database_is_refused_by_its_setting(tmp_path: Path) -> None:
    result = analytics(tmp_path, CITYTWIN_ALERTS__URL="mysql://ops@db/alerts")
    assert result.returncode == 2
    assert "alerts.url: 'mysql://ops@db/alerts' is a mysql URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_analytics_settings_are_named_by_their_key() -> None:
    with pytest.raises(ValidationError) as caught:
        CitytwinSettings.model_validate(
            {"analytics": {"sites": ["thaibinh.hcc", "thai binh"], "lookback_minutes": -1}}
        )
    problems = settings_problems(caught.value)
    assert any(line.startswith("analytics.sites[1]: String should match") for line in problems)
    assert any(line.startswith("analytics.lookback_minutes: ") for line in problems)
