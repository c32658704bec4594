"""``push`` against a real HTTP server speaking the few Grafana endpoints it uses."""

from __future__ import annotations

import pytest

from grafana.build import boards
from grafana.errors import PushError
from grafana.push import BoardPusher, InfluxSource, folder_uid
from tests.grafana.fake_grafana import fake_grafana

TOKEN = "glsa_test_token"
INFLUX = InfluxSource("http://influxdb:8086", "citytwin", "grafana", "reader-secret")


def test_a_first_push_creates_folders_datasources_and_boards() -> None:
    built = boards()
    with fake_grafana(TOKEN) as (url, state):
        report = BoardPusher(url, TOKEN).push(built, INFLUX)
    folders = {board.folder for board in built}
    assert {f["title"] for f in state.folders.values()} == folders
    assert set(state.datasources) == {"citytwin-influxdb", "citytwin-sites"}
    influx = state.datasources["citytwin-influxdb"]
    assert influx["user"] == "grafana"
    assert influx["secureJsonData"] == {"password": "reader-secret"}
    assert influx["jsonData"]["dbName"] == "citytwin"
    assert set(state.dashboards) == {board.uid for board in built}
    for board in built:
        stored = state.dashboards[board.uid]
        assert stored["dashboard"] == board.json()
        assert stored["folderUid"] == folder_uid(board.folder)
    assert len(report.created) == len(folders) + 2 + len(built)
    assert report.updated == []
    creates = [(r.method, r.path) for r in state.requests if r.method == "POST"]
    assert creates.count(("POST", "/api/folders")) == len(folders)
    assert creates.count(("POST", "/api/datasources")) == 2


def test_a_second_push_updates_and_creates_nothing_new() -> None:
    built = boards()
    with fake_grafana(TOKEN) as (url, state):
        pusher = BoardPusher(url, TOKEN)
        pusher.push(built, INFLUX)
        counts = (len(state.folders), len(state.datasources), len(state.dashboards))
        first = len(state.requests)
        report = pusher.push(built, InfluxSource("http://db:8086", "citytwin", "grafana", "new"))
        second = state.requests[first:]
    assert (len(state.folders), len(state.datasources), len(state.dashboards)) == counts
    assert report.created == []
    assert len(report.updated) == sum(counts)
    assert not [r for r in second if r.path in ("/api/folders", "/api/datasources")]
    saves = [r for r in second if r.path == "/api/dashboards/db"]
    assert len(saves) == len(built)
    assert all(r.body["overwrite"] is True for r in saves)
    assert all(d["version"] == 2 for d in state.dashboards.values())
    assert state.datasources["citytwin-influxdb"]["secureJsonData"] == {"password": "new"}
    assert state.datasources["citytwin-influxdb"]["url"] == "http://db:8086"


def test_a_wrong_token_is_a_clear_error() -> None:
    with fake_grafana(TOKEN) as (url, _), pytest.raises(PushError, match=r"refused.*401"):
        BoardPusher(url, "wrong").push(boards(), INFLUX)


def test_an_unreachable_grafana_is_a_clear_error() -> None:
    with fake_grafana(TOKEN) as (url, _):
        pass  # the server is gone
    with pytest.raises(PushError, match=r"Grafana http://127\.0\.0\.1"):
        BoardPusher(url, TOKEN, timeout=2).push(boards(), INFLUX)


def test_folder_uids_are_plain_ascii() -> None:
    assert folder_uid("Hành chính công") == "citytwin-hanh-chinh-cong"
    assert folder_uid("Điều hành") == "citytwin-dieu-hanh"
