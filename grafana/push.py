"""``citytwin grafana push``: the folders, datasources and boards, sent to a running Grafana.

Idempotent: a folder or datasource that exists (looked up by its fixed uid) is updated,
one that does not is created, and boards are saved with ``overwrite`` — so a second push
changes what differs and creates nothing. Uses ``grafana-client`` (HTTP API: folders,
datasources by uid, ``POST /api/dashboards/db``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from grafana.errors import PushError
from grafana.model import INFLUX_UID, SITES_UID, Board, Json

logger = logging.getLogger(__name__)

MESSAGE = "citytwin grafana push"


@dataclass(slots=True, frozen=True)
class InfluxSource:
    """How Grafana reaches InfluxDB: URL, database and the read-only account."""

    url: str
    database: str
    username: str
    password: str


@dataclass(slots=True)
class PushReport:
    """What a push did, by kind: ``created`` and ``updated`` uids."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def folder_uid(title: str) -> str:
    """A folder's fixed uid, from its title (``Hành chính công`` → ``citytwin-hanh-chinh-cong``)."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", title.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in plain if c.isascii()).lower()
    return "citytwin-" + "-".join(ascii_only.split())


def datasources(influx: InfluxSource) -> list[Json]:
    """The two datasources the boards use, as Grafana's API takes them."""
    return [
        {
            "name": "citytwin-influxdb",
            "uid": INFLUX_UID,
            "type": "influxdb",
            "access": "proxy",
            "url": influx.url,
            "user": influx.username,
            "isDefault": True,
            "jsonData": {"dbName": influx.database, "httpMode": "POST", "version": "InfluxQL"},
            "secureJsonData": {"password": influx.password},
        },
        {
            "name": "citytwin-sites",
            "uid": SITES_UID,
            "type": "grafana-testdata-datasource",
            "access": "proxy",
        },
    ]


def _exists(call: Any, *args: Any) -> bool:
    try:
        call(*args)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return False
        raise
    return True


class BoardPusher:
    """Pushes to one Grafana through an API token."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._api = GrafanaApi.from_url(self.url, credential=token, timeout=timeout)

    def push(self, boards: list[Board], influx: InfluxSource) -> PushReport:
        """Folders, then datasources, then boards; PushError names what Grafana refused."""
        report = PushReport()
        try:
            for title in sorted({board.folder for board in boards}):
                self._folder(title, report)
            for source in datasources(influx):
                self._datasource(source, report)
            for board in boards:
                self._board(board, report)
        except GrafanaException as exc:
            raise PushError(
                f"Grafana {self.url} refused the push ({exc.status_code}): {exc.message}"
            ) from exc
        except OSError as exc:
            raise PushError(f"Grafana {self.url} cannot be reached: {exc}") from exc
        return report

    def _folder(self, title: str, report: PushReport) -> None:
        uid = folder_uid(title)
        if _exists(self._api.folder.get_folder, uid):
            self._api.folder.update_folder(uid, title=title, overwrite=True)
            report.updated.append(f"folder:{uid}")
        else:
            self._api.folder.create_folder(title, uid=uid)
            report.created.append(f"folder:{uid}")

    def _datasource(self, source: Json, report: PushReport) -> None:
        uid = source["uid"]
        if _exists(self._api.datasource.get_datasource_by_uid, uid):
            self._api.datasource.update_datasource_by_uid(uid, source)
            report.updated.append(f"datasource:{uid}")
        else:
            self._api.datasource.create_datasource(source)
            report.created.append(f"datasource:{uid}")

    def _board(self, board: Board, report: PushReport) -> None:
        existed = _exists(self._api.dashboard.get_dashboard, board.uid)
        self._api.dashboard.update_dashboard(
            {
                "dashboard": board.json(),
                "folderUid": folder_uid(board.folder),
                "overwrite": True,
                "message": MESSAGE,
            }
        )
        (report.updated if existed else report.created).append(f"dashboard:{board.uid}")
        logger.info("pushed board %s to %s", board.uid, self.url)
