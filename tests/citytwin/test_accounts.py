"""Names of citytwin's broker accounts: one per service, one per ingest worker."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from citytwin.accounts import ServiceRole
from citytwin.settings import CitytwinSettings
from citytwin.stack import analytics_logins, mqtt_account, service_accounts


def test_every_service_has_an_account_of_its_own() -> None:
    accounts = service_accounts(CitytwinSettings())
    assert accounts == {
        "citytwin-ingest-1": ServiceRole.INGEST,
        "citytwin-http": ServiceRole.HTTP,
        "citytwin-analytics": ServiceRole.ANALYTICS,
        "citytwin-analytics-alerts": ServiceRole.ANALYTICS,
        "citytwin-video": ServiceRole.VIDEO,
        "citytwin-probe": ServiceRole.PROBE,
    }


def test_each_ingest_worker_uses_its_own_account_as_its_client_id() -> None:
    settings = CitytwinSettings.model_validate(
        {"mqtt": {"ingest_workers": 3}, "ingest": {"worker": 2}}
    )
    assert [user for user, role in service_accounts(settings).items() if role == "ingest"] == [
        "citytwin-ingest-1",
        "citytwin-ingest-2",
        "citytwin-ingest-3",
    ]
    assert mqtt_account(settings, ServiceRole.INGEST) == "citytwin-ingest-2"


def test_a_worker_without_an_account_is_refused_with_the_setting_to_change() -> None:
    with pytest.raises(ValidationError, match=r"raise mqtt\.ingest_workers"):
        CitytwinSettings.model_validate({"ingest": {"worker": 2}})


def test_each_analytics_worker_has_two_sessions_of_its_own() -> None:
    settings = CitytwinSettings.model_validate(
        {"mqtt": {"analytics_workers": 2}, "analytics": {"worker": 2, "sites": ["thaibinh.hcc"]}}
    )
    analytics = [user for user, role in service_accounts(settings).items() if role == "analytics"]
    assert analytics == [
        "citytwin-analytics",
        "citytwin-analytics-alerts",
        "citytwin-analytics-2",
        "citytwin-analytics-2-alerts",
    ]
    assert analytics_logins(settings) == ("citytwin-analytics-2", "citytwin-analytics-2-alerts")
    with pytest.raises(ValidationError, match=r"raise mqtt\.analytics_workers"):
        CitytwinSettings.model_validate({"analytics": {"worker": 3}})
