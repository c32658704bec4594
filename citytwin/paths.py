"""Where things live inside the state directory, named once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True, frozen=True)
class StatePaths:
    """The layout of a citytwin state directory (default ``./var``)."""

    root: Path

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def mosquitto_dir(self) -> Path:
        return self.root / "mosquitto"

    @property
    def mosquitto_conf(self) -> Path:
        return self.mosquitto_dir / "mosquitto.conf"

    @property
    def password_file(self) -> Path:
        return self.mosquitto_dir / "passwd"

    @property
    def acl_file(self) -> Path:
        return self.mosquitto_dir / "acl"

    @property
    def influx_dir(self) -> Path:
        return self.root / "influxdb"

    @property
    def influx_conf(self) -> Path:
        return self.influx_dir / "influxdb.conf"

    @property
    def radicale_dir(self) -> Path:
        """The embedded CalDAV server: config, users file, collections."""
        return self.root / "radicale"

    @property
    def radicale_conf(self) -> Path:
        return self.radicale_dir / "radicale.conf"

    @property
    def radicale_users(self) -> Path:
        return self.radicale_dir / "users"

    @property
    def calendar_password(self) -> Path:
        """The password of citytwin's CalDAV account on the embedded Radicale."""
        return self.secrets / "calendar-password"

    @property
    def calendar_status(self) -> Path:
        """The calendar sync's last verdict per room calendar, read by `citytwin status`."""
        return self.run / "calendar-status.json"

    @property
    def report_photos(self) -> Path:
        """Photos of citizen reports, one 0700 directory per report."""
        return self.root / "reports" / "photos"

    @property
    def twins_db(self) -> Path:
        return self.root / "twins" / "twins.sqlite3"

    @property
    def effective_registry(self) -> Path:
        """The registry `citytwin up` provisioned, read by its children."""
        return self.root / "registry.yaml"

    @property
    def device_credentials(self) -> Path:
        """Plaintext device passwords for simulators and installers (mode 0600)."""
        return self.secrets / "device-credentials.json"

    def mqtt_password(self, username: str) -> Path:
        """The generated password of one of citytwin's broker accounts."""
        return self.secrets / "mqtt" / username

    @property
    def influx_admin_password(self) -> Path:
        return self.secrets / "influx-admin-password"

    @property
    def influx_password(self) -> Path:
        """The password of the embedded InfluxDB's `citytwin` user."""
        return self.secrets / "influx-citytwin-password"

    @property
    def grafana_provisioning(self) -> Path:
        """Grafana's provisioning (datasources, dashboards) for the embedded stack."""
        return self.root / "grafana" / "provisioning"

    @property
    def influx_grafana_password(self) -> Path:
        """The password of the embedded InfluxDB's read-only user of Grafana's datasource."""
        return self.secrets / "influx-grafana-password"

    @property
    def twins_password(self) -> Path:
        return self.secrets / "twins-password"

    @property
    def video_token_key(self) -> Path:
        """The key the console signs camera-wall viewer tokens with and the hub checks."""
        return self.secrets / "video-token-key"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"
