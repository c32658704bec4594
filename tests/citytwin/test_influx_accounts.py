"""The embedded InfluxDB's users: Grafana's may read the database and do nothing else."""

from __future__ import annotations

import asyncio
import re
import stat
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from citytwin.influx_setup import InfluxAccounts, prepare_influx
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import (
    embedded_influx_accounts,
    grafana_influx_password,
    load_secrets,
    write_grafana_provisioning,
)
from tests.services import Influx

pytestmark = pytest.mark.timeout(60)


def _accounts(influx: Influx, tmp_path: Path) -> tuple[InfluxAccounts, CitytwinSettings]:
    """What ``citytwin up`` would create, on the session's InfluxDB, for a database and
    users of the test's own."""
    suffix = uuid.uuid4().hex[:8]
    settings = CitytwinSettings.model_validate(
        {
            "state_dir": tmp_path / "var",
            "influx": {"url": influx.url, "database": f"grafana{suffix}"},
            "grafana": {"influx_username": f"grafana-{suffix}"},
        }
    )
    secrets = load_secrets(settings, StatePaths(settings.state_dir))
    accounts = embedded_influx_accounts(settings, secrets)
    accounts = InfluxAccounts(
        accounts.url, accounts.database, (influx.username, influx.password),
        (f"citytwin-{suffix}", secrets.influx), accounts.reader, 1, 1,
    )  # fmt: skip
    return accounts, settings


def _provisioned_login(settings: CitytwinSettings) -> tuple[str, str, str]:
    """``(database, user, password)`` of the InfluxDB datasource ``citytwin up`` provisions,
    the password read from the file it names, as Grafana's ``$__file{…}`` does."""
    paths = StatePaths(settings.state_dir)
    written = write_grafana_provisioning(settings, paths, load_secrets(settings, paths))
    assert {p.relative_to(paths.grafana_provisioning) for p in written} == {
        Path("datasources/citytwin.yml"),
        Path("dashboards/citytwin.yml"),
    }
    text = (paths.grafana_provisioning / "datasources" / "citytwin.yml").read_text("utf-8")
    [source, _] = yaml.safe_load(text)["datasources"]
    assert source["uid"] == "citytwin-influxdb"
    assert source["url"] == str(settings.influx.url).rstrip("/")
    reference = source["secureJsonData"]["password"]
    match = re.fullmatch(r"\$__file\{(.+)\}", reference)
    assert match, reference
    secret = Path(match.group(1))
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    password = secret.read_text(encoding="utf-8").strip()
    assert password not in text
    return source["jsonData"]["dbName"], source["user"], password


def test_grafanas_provisioned_user_reads_the_database_and_cannot_write_or_drop(
    influx: Influx, tmp_path: Path
) -> None:
    accounts, settings = _accounts(influx, tmp_path)
    assert asyncio.run(prepare_influx(accounts))
    database, *login = _provisioned_login(settings)
    assert database == accounts.database
    reader = (login[0], login[1])
    assert reader == accounts.reader
    written = httpx.post(
        f"{influx.url}/write", params={"db": database}, auth=accounts.user, timeout=10,
        content=b"sensor_telemetry,site=thaibinh.hcc noise_dba=41.5",
    )  # fmt: skip
    assert written.status_code == 204, written.text

    def query(login: tuple[str, str], statement: str) -> httpx.Response:
        return httpx.post(
            f"{influx.url}/query", data={"db": database, "q": statement}, auth=login, timeout=10
        )

    read = query(reader, 'SELECT "noise_dba" FROM "sensor_telemetry"')
    assert read.status_code == 200, read.text
    assert read.json()["results"][0]["series"][0]["values"][0][1] == 41.5

    refused = httpx.post(
        f"{influx.url}/write", params={"db": database}, auth=reader, timeout=10,
        content=b"sensor_telemetry,site=thaibinh.hcc noise_dba=99",
    )  # fmt: skip
    assert refused.status_code == 403
    assert "not authorized" in refused.text
    dropped = query(reader, 'DROP MEASUREMENT "sensor_telemetry"')
    assert "not authorized" in dropped.text
    other = query(reader, 'CREATE DATABASE "elsewhere"')
    assert "not authorized" in other.text
    still = query(accounts.user, 'SELECT count("noise_dba") FROM "sensor_telemetry"')
    assert still.json()["results"][0]["series"][0]["values"][0][1] == 1


def test_a_grafana_user_that_could_write_is_made_read_only_at_the_next_start(
    influx: Influx, tmp_path: Path
) -> None:
    accounts, _ = _accounts(influx, tmp_path)
    assert asyncio.run(prepare_influx(accounts))
    name = accounts.reader[0]
    influx.execute(f'GRANT ALL ON "{accounts.database}" TO "{name}"')  # by hand, by mistake
    assert asyncio.run(prepare_influx(accounts))  # the next `citytwin up`
    grants = influx.execute(f'SHOW GRANTS FOR "{name}"')
    rows = grants["results"][0]["series"][0]["values"]  # type: ignore[index]
    assert rows == [[accounts.database, "READ"]]


def test_the_grafana_password_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = CitytwinSettings(state_dir=tmp_path / "var")
    paths = StatePaths(settings.state_dir)
    with pytest.raises(FileNotFoundError):
        grafana_influx_password(settings, paths, create=False)  # `up` never ran
    first = grafana_influx_password(settings, paths, create=True)
    assert len(first) >= 24
    assert stat.S_IMODE(paths.influx_grafana_password.stat().st_mode) == 0o600
    assert grafana_influx_password(settings, paths, create=False) == first
    given = CitytwinSettings.model_validate(
        {"state_dir": tmp_path / "var", "grafana": {"influx_password": "from-settings"}}
    )
    assert grafana_influx_password(given, paths, create=False) == "from-settings"
