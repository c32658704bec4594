"""Everything one ``citytwin analytics`` process is given, resolved by the shell.

The shell (``citytwin/cli/analytics.py``) turns the one settings model and the state
directory's secrets into this record, so that analytics never reads settings, files of
secrets or the environment itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analytics.alerts.settings import AlertStoreSettings
from analytics.kpis.settings import KpiSettings
from analytics.notify.settings import NotifySettings
from analytics.rules.ruleset import DEFAULTS
from analytics.service.settings import AnalyticsSettings


@dataclass(slots=True, frozen=True)
class AnalyticsRuntime:
    """One analytics process's settings, endpoints and credentials."""

    settings: AnalyticsSettings
    alerts: AlertStoreSettings
    notify: NotifySettings
    kpis: KpiSettings
    state_dir: Path
    registry_path: Path
    mqtt_host: str
    mqtt_port: int
    mqtt_username: str
    """The event feed's account."""
    mqtt_password: str
    alerts_username: str
    """The alerts-topic publisher's account (a second session: the broker makes a client's
    id its user name)."""
    alerts_password: str
    influx_url: str
    influx_database: str
    influx_username: str
    influx_password: str
    influx_token: str
    twins_url: str
    twins_username: str
    twins_password: str
    twins_timeout: float = 10.0
    twins_pre_authenticated: bool = False
    video_url: str = ""
    """The camera hub the snapshots of camera alerts are asked of (empty: none are)."""
    video_shards: Mapping[str, str] = field(default_factory=dict)
    """Other hubs by the cameras they pull: a thing id or ``namespace:*`` → its URL."""

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(self.settings.sites)

    @property
    def rules_dir(self) -> Path:
        """The configured rule directory, or the bundled Thái Bình rules."""
        return self.settings.rules_dir or DEFAULTS / "thaibinh"

    @property
    def checkpoint_path(self) -> Path:
        """One checkpoint per split: processes of different sites never share one."""
        name = "-".join(self.sites) if self.sites else "all"
        return self.state_dir / "analytics" / f"checkpoint.{name}.json"

    @property
    def dead_letters(self) -> Path:
        path = self.notify.dead_letters
        return path if path.is_absolute() else self.state_dir / path
