"""``citytwin grafana push``: the folders, datasources and boards, sent to a running Grafana.

Idempotent: a folder or datasource that exists (looked up by its fixed uid) is updated,
one that does not is created, and boards are saved with ``overwrite`` — so a second push
changes what differs and creates nothing. Grafana's HTTP API (folders and datasources by
uid, ``POST /api/dashboards/db``) through httpx, citytwin's HTTP client: ``grafana-client``
5 pulls in niquests and urllib3-future, which installs itself *as* ``urllib3`` under every
other library of the environment (docs/architecture.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

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


class _RefusedError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BoardPusher:
    """Pushes to one Grafana through an API token."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._timeout = timeout
        self._http: httpx.Client | None = None
        """The push's own connection (``push`` opens and closes it)."""

    def push(self, boards: list[Board], influx: InfluxSource) -> PushReport:
        """Folders, then datasources, then boards; PushError names what Grafana refused."""
        report = PushReport()
        self._http = httpx.Client(base_url=self.url, headers=self._headers, timeout=self._timeout)
        try:
            for title in sorted({board.folder for board in boards}):
                self._folder(title, report)
            for source in datasources(influx):
                self._datasource(source, report)
            for board in boards:
                self._board(board, report)
        except _RefusedError as exc:
            raise PushError(
                f"Grafana {self.url} refused the push ({exc.status}): {exc.message}"
            ) from exc
        except httpx.TransportError as exc:
            raise PushError(f"Grafana {self.url} cannot be reached: {exc}") from exc
        finally:
            self._http.close()
            self._http = None
        return report

    def _call(self, method: str, path: str, body: Json | None = None) -> Any:
        assert self._http is not None, "outside a push"
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            try:
                message = str(response.json().get("message", response.text))
            except ValueError:
                message = response.text
            raise _RefusedError(response.status_code, f"{method} {path}: {message}")
        return response.json() if response.content else None

    def _exists(self, path: str) -> bool:
        try:
            self._call("GET", path)
        except _RefusedError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _folder(self, title: str, report: PushReport) -> None:
        uid = folder_uid(title)
        if self._exists(f"/api/folders/{uid}"):
            self._call("PUT", f"/api/folders/{uid}", {"title": title, "overwrite": True})
            report.updated.append(f"folder:{uid}")
        else:
            self._call("POST", "/api/folders", {"title": title, "uid": uid})
            report.created.append(f"folder:{uid}")

    def _datasource(self, source: Json, report: PushReport) -> None:
        uid = source["uid"]
        if self._exists(f"/api/datasources/uid/{uid}"):
            self._call("PUT", f"/api/datasources/uid/{uid}", source)
            report.updated.append(f"datasource:{uid}")
        else:
            self._call("POST", "/api/datasources", source)
            report.created.append(f"datasource:{uid}")

    def _board(self, board: Board, report: PushReport) -> None:
        existed = self._exists(f"/api/dashboards/uid/{board.uid}")
        self._call(
            "POST",
            "/api/dashboards/db",
            {
                "dashboard": board.json(),
                "folderUid": folder_uid(board.folder),
                "overwrite": True,
                "message": MESSAGE,
            },
        )
        (report.updated if existed else report.created).append(f"dashboard:{board.uid}")
        logger.info("pushed board %s to %s", board.uid, self.url)
