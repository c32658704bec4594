"""Grafana provisioning for the embedded stack of ``citytwin up``.

``grafana/provisioning/`` is written for compose: its values come from the environment.
Next to ``citytwin up`` a Grafana reads the same datasources from the files written here
instead, pointed at the embedded InfluxDB and its read-only ``grafana`` user. The password
stays in the state dir's 0600 secret file: the YAML names it with Grafana's
``$__file{…}`` expansion, so no secret is ever written into a provisioning file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from grafana.build import DASHBOARDS
from grafana.model import INFLUX_UID, SITES_UID

DATASOURCES_FILE = Path("datasources") / "citytwin.yml"
DASHBOARDS_FILE = Path("dashboards") / "citytwin.yml"
HEADER = "# Written by citytwin up for the embedded stack; edits are overwritten at start.\n"


@dataclass(slots=True, frozen=True)
class LocalInflux:
    """The embedded InfluxDB as Grafana's datasource reads it."""

    url: str
    database: str
    username: str
    password_file: Path


def datasources(influx: LocalInflux) -> dict[str, object]:
    """The datasources of ``grafana/provisioning/datasources``, for the embedded stack."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "citytwin-influxdb", "uid": INFLUX_UID, "type": "influxdb",
                "access": "proxy", "url": influx.url, "user": influx.username,
                "jsonData": {"dbName": influx.database, "httpMode": "POST",
                             "version": "InfluxQL"},
                "secureJsonData": {"password": f"$__file{{{influx.password_file.resolve()}}}"},
                "isDefault": True, "editable": False,
            },
            {
                "name": "citytwin-sites", "uid": SITES_UID,
                "type": "grafana-testdata-datasource", "access": "proxy", "editable": False,
            },
        ],
    }  # fmt: skip


def dashboards(path: Path = DASHBOARDS) -> dict[str, object]:
    """The file provider of the committed boards, one folder per subdirectory."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "citytwin", "type": "file", "disableDeletion": False,
                "allowUiUpdates": False, "updateIntervalSeconds": 60,
                "options": {"path": str(path.resolve()), "foldersFromFilesStructure": True},
            }
        ],
    }  # fmt: skip


def write_provisioning(root: Path, influx: LocalInflux) -> list[Path]:
    """Write both provisioning files under ``root`` (Grafana's ``paths.provisioning``)."""
    written = []
    for name, body in ((DATASOURCES_FILE, datasources(influx)), (DASHBOARDS_FILE, dashboards())):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
        path.write_text(HEADER + text, encoding="utf-8")
        written.append(path)
    return written
