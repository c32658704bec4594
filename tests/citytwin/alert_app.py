"""The HTTP app with its alert store and InfluxDB, as the alert API and console tests use
it: console users of each role, API tokens of other systems, and a lifecycle in the test
that plays ``citytwin analytics`` on the same store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analytics.alerts.evidence import DiskEvidenceStorage
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertKey, AlertSignal, RuleType, Severity
from analytics.alerts.records import Alert
from analytics.alerts.store import AlertStore
from citytwin.app import create_app
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import load_secrets
from tests.services import Influx, free_port, serve_in_thread

VIEWER = ("khach", "chi-xem-2026")
OPERATOR = ("truc-ban", "truc-ban-2026")
ADMIN = ("quan-tri", "quan-tri-2026")
VIETNAMESE = ("lan", "mật-khẩu-trực-ban")
"""An operator whose password is not ASCII (browsers send it as UTF-8)."""
OPERATOR_TOKEN = "queue-system-token-0123456789"
VIEWER_TOKEN = "dashboard-token-9876543210abc"


@dataclass
class AlertApp:
    """The running app and what a test needs to reach its store."""

    url: str
    settings: CitytwinSettings

    @property
    def store_url(self) -> str:
        return self.settings.alerts.store_url(self.settings.state_dir)

    @property
    def evidence_dir(self) -> Path:
        return self.settings.alerts.evidence_root(self.settings.state_dir)

    async def lifecycle(self) -> AlertLifecycle:
        """A lifecycle of its own on the app's store, as the analytics process has."""
        store = await AlertStore.connect(
            self.store_url, self.settings.alerts.password.get_secret_value()
        )
        return AlertLifecycle(store, evidence=DiskEvidenceStorage(self.evidence_dir))


@contextmanager
def running_app(
    state: Path,
    influx: Influx,
    database: str,
    *,
    store_url: str = "",
    influx_url: str = "",
    reports: dict[str, Any] | None = None,
) -> Iterator[AlertApp]:
    """The app on a free port; ``influx_url`` points it elsewhere than ``influx``;
    ``reports`` is its ``reports`` settings section."""
    port = free_port()
    settings = CitytwinSettings.model_validate(
        {
            "state_dir": str(state),
            "http": {"port": port},
            "mqtt": {"port": free_port()},
            "influx": {
                "embedded": False,
                "url": influx_url or influx.url,
                "database": database,
                "username": influx.username,
                "password": influx.password,
            },
            "twins": {
                "users": {
                    VIEWER[0]: {"password": VIEWER[1]},
                    OPERATOR[0]: {"password": OPERATOR[1], "role": "operator"},
                    ADMIN[0]: {"password": ADMIN[1], "role": "admin"},
                    VIETNAMESE[0]: {"password": VIETNAMESE[1], "role": "operator"},
                }
            },
            "alerts": {"url": store_url},
            "api": {
                "tokens": {
                    "queue-system": {"token": OPERATOR_TOKEN, "role": "operator"},
                    "dashboard": {"token": VIEWER_TOKEN},
                },
                "live_poll_seconds": 0.2,
            },
            "reports": reports or {},
        }
    )
    secrets = load_secrets(settings, StatePaths(settings.state_dir))
    with serve_in_thread(create_app(settings, secrets), port) as url:
        yield AlertApp(url, settings)


T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def signal(
    site: str,
    device: str = "cam-03",
    *,
    rule: str = "hcc-desk-absence",
    zone: str = "",
    rule_type: RuleType = RuleType.OFFICER_ABSENCE,
    severity: Severity = Severity.MAJOR,
    at: datetime = T0,
    active: bool = True,
    details: dict[str, Any] | None = None,
) -> AlertSignal:
    return AlertSignal(
        key=AlertKey(rule=rule, device=f"{site}:{device}", zone=zone),
        rule_type=rule_type,
        active=active,
        at=at,
        severity=severity,
        site=site,
        sector="public_administration",
        message_vi=f"Cán bộ vắng mặt tại {device}",
        message_en=f"Officer absent at {device}",
        details=details if details is not None else {"empty_minutes": 10},
    )


async def open_alert(
    lifecycle: AlertLifecycle,
    site: str,
    device: str = "cam-03",
    *,
    snapshot: bytes | None = None,
    **kwargs: Any,
) -> Alert:
    applied = await lifecycle.apply(signal(site, device, **kwargs), snapshot=snapshot)
    assert applied.alert is not None, applied
    return applied.alert


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
