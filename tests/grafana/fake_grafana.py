"""A small real HTTP server answering the few Grafana API endpoints ``push`` uses, as
Grafana's API spec (grafana/grafana ``public/api-merged.json``) describes them:

    GET/PUT /api/folders/{uid}          200 | 404
    POST    /api/folders                200 | 409 when the uid exists
    GET/PUT /api/datasources/uid/{uid}  200 | 404
    POST    /api/datasources            200 | 409 when the uid or name exists
    GET     /api/dashboards/uid/{uid}   200 | 404
    POST    /api/dashboards/db          200 | 412 when the uid exists and overwrite is
                                        false | 400 when folderUid names no folder

Every request needs ``Authorization: Bearer <token>`` (401 otherwise). It records each
request, so tests assert paths, bodies and that a second push creates nothing.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    body: Any


@dataclass
class GrafanaState:
    token: str
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: GrafanaState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with state.lock:
                state.requests.append(Request(method, self.path, body))
                if self.headers.get("Authorization") != f"Bearer {state.token}":
                    self._answer(401, {"message": "Unauthorized"})
                    return
                status, answer = route(state, method, self.path, body)
            self._answer(status, answer)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

    return Handler


def route(state: GrafanaState, method: str, path: str, body: Any) -> tuple[int, Any]:
    if match := re.fullmatch(r"/api/folders/([^/]+)", path):
        uid = match.group(1)
        if uid not in state.folders:
            return 404, {"message": "folder not found"}
        if method == "PUT":
            state.folders[uid]["title"] = body["title"]
            state.folders[uid]["version"] += 1
        return 200, state.folders[uid]
    if path == "/api/folders" and method == "POST":
        uid = body["uid"]
        if uid in state.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        state.folders[uid] = {
            "id": len(state.folders) + 1,
            "uid": uid,
            "title": body["title"],
            "version": 1,
        }
        return 200, state.folders[uid]
    if match := re.fullmatch(r"/api/datasources/uid/([^/]+)", path):
        uid = match.group(1)
        if uid not in state.datasources:
            return 404, {"message": "Data source not found"}
        if method == "PUT":
            state.datasources[uid] = {**body, "id": state.datasources[uid]["id"]}
            return 200, {"message": "Datasource updated", "datasource": state.datasources[uid]}
        return 200, state.datasources[uid]
    if path == "/api/datasources" and method == "POST":
        names = {d["name"] for d in state.datasources.values()}
        if body["uid"] in state.datasources or body["name"] in names:
            return 409, {"message": "data source with the same name already exists"}
        state.datasources[body["uid"]] = {**body, "id": len(state.datasources) + 1}
        return 200, {"message": "Datasource added", "datasource": state.datasources[body["uid"]]}
    if match := re.fullmatch(r"/api/dashboards/uid/([^/]+)", path):
        found = state.dashboards.get(match.group(1))
        if found is None:
            return 404, {"message": "Dashboard not found"}
        return 200, {"dashboard": found["dashboard"], "meta": {"folderUid": found["folderUid"]}}
    if path == "/api/dashboards/db" and method == "POST":
        dashboard = body["dashboard"]
        uid = dashboard["uid"]
        if body.get("folderUid") not in state.folders:
            return 400, {"message": "folder not found"}
        if uid in state.dashboards and not body.get("overwrite"):
            return 412, {
                "message": "A dashboard with the same uid already exists",
                "status": "name-exists",
            }
        version = state.dashboards[uid]["version"] + 1 if uid in state.dashboards else 1
        state.dashboards[uid] = {
            "dashboard": dashboard,
            "folderUid": body["folderUid"],
            "version": version,
        }
        return 200, {"id": len(state.dashboards), "uid": uid, "status": "success",
                     "version": version, "url": f"/d/{uid}", "slug": uid}  # fmt: skip
    return 404, {"message": "Not found"}


@contextmanager
def fake_grafana(token: str) -> Iterator[tuple[str, GrafanaState]]:
    """A running fake Grafana on loopback: its URL and its state."""
    state = GrafanaState(token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, name="fake-grafana", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
