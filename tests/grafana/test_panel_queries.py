"""Every panel query of every board, expanded as Grafana expands it, against the real
InfluxDB after a simulated morning with ingest and the analytics process running
(tests/grafana/scenario.py): no error and at least one series, with every variable at
"all" and at each of the values the scenario has."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from grafana.build import boards
from grafana.influxql import Selection
from grafana.model import Json
from grafana.preview import panel_data, preview_board
from grafana.queries import InfluxReader, panel_queries, resolve
from simulators.scenario import measures_of
from tests.grafana.scenario import DISTRICT, Morning, reception_of, run_morning
from tests.ingest.conftest import TwinService, twin_service
from tests.services import Broker, Influx
from twins.kinds import DeviceKind

pytestmark = pytest.mark.slow
__all__ = ["twin_service"]

PREVIEWED = {"citytwin-overview", "citytwin-service-centre", "citytwin-platform"}
SENSOR_FIELDS = {
    "temperature_c": "temperature",
    "humidity_pct": "humidity",
    "pm25_ugm3": "pm25",
    "noise_dba": "noise",
    "water_level_cm": "water_level",
}


@pytest.fixture(scope="module")
def morning(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    tmp_path_factory: pytest.TempPathFactory,
) -> Morning:
    return run_morning(broker, influx, twin_service, tmp_path_factory.mktemp("boards"))


@pytest.fixture(scope="module")
def built(morning: Morning) -> list[Json]:
    return [board.json() for board in boards(list(morning.scenario.registry_spec().sites))]


@pytest.fixture
def reader(morning: Morning, influx: Influx) -> Iterator[InfluxReader]:
    with InfluxReader(influx.url, morning.database, influx.username, influx.password) as client:
        yield client


def _measures(morning: Morning) -> dict[str, set[str]]:
    """What each sensor of the scenario measures (a device name → its measures)."""
    return {
        device.thing_id.name: {m.value for m in measures_of(device.attributes)}
        for device in morning.registry
        if device.kind is DeviceKind.SENSOR
    }


def _empty(reader: InfluxReader, board: Json, morning: Morning,
           selections: dict[str, Selection]) -> list[str]:  # fmt: skip
    """Queries of the board that fail or return no series (failures raise)."""
    empty = []
    for run in panel_queries(board, morning.from_ms, morning.to_ms, selections):
        if not reader.query(run.query):
            empty.append(
                f"{board['uid']} «{run.panel['title']}» {run.target['refId']}: {run.query}"
            )
    return empty


def test_every_panel_query_has_data_with_every_variable_at_all(
    built: list[Json], reader: InfluxReader, morning: Morning
) -> None:
    empty = []
    count = 0
    for board in built:
        selections, offered = resolve(reader, board, morning.from_ms, morning.to_ms)
        assert offered["site"], board["uid"]
        assert set(offered["site"]) <= {s.id for s in morning.scenario.registry_spec().sites}
        assert offered["device"], board["uid"]
        for run in panel_queries(board, morning.from_ms, morning.to_ms, selections):
            count += 1
            assert "$" not in run.query.replace("$/", "").replace("$tag", ""), run.query
            if not reader.query(run.query):
                empty.append(f"{board['uid']} «{run.panel['title']}»: {run.query}")
    assert count > 60
    assert not empty, "\n".join(empty)


def test_every_panel_query_has_data_for_each_value_of_each_variable(
    built: list[Json], reader: InfluxReader, morning: Morning
) -> None:
    """Each value alone (the others at "all"); a sensor panel may stay empty only when no
    sensor the selection leaves measures its field (the reception room has no flood
    sensor, an air sensor no water level)."""
    measures = _measures(morning)
    empty: list[str] = []
    checked = 0
    for board in built:
        _, offered = resolve(reader, board, morning.from_ms, morning.to_ms)
        for variable in board["templating"]["list"]:
            name = variable["name"]
            for value in offered[name]:
                selections, now_offered = resolve(
                    reader, board, morning.from_ms, morning.to_ms, {name: value}
                )
                devices = [value] if name == "device" else now_offered["device"]
                measured = set().union(*(measures.get(d, set()) for d in devices))
                for missing in _empty(reader, board, morning, selections):
                    field = next((f for f in SENSOR_FIELDS if f in missing), None)
                    if field is None or SENSOR_FIELDS[field] in measured:
                        empty.append(f"{name}={value}: {missing}")
                checked += 1
    assert checked > 30
    assert not empty, "\n".join(empty)


def test_the_district_variable_lists_the_scenarios_district(built: list[Json]) -> None:
    for board in built:
        district = board["templating"]["list"][0]
        assert district["name"] == "district"
        assert [o["text"] for o in district["options"]] == ["Tất cả", DISTRICT]


def test_a_district_without_the_site_leaves_the_boards_empty(
    built: list[Json], reader: InfluxReader, morning: Morning
) -> None:
    """The district filter filters: another district's regex lists no site."""
    board = built[0]
    other = dict(board)
    templating = [dict(v) for v in board["templating"]["list"]]
    templating[0]["options"] = [{"text": "Huyện khác", "value": r"other\.site", "selected": True}]
    other["templating"] = {"list": templating}
    _, offered = resolve(reader, other, morning.from_ms, morning.to_ms)
    assert offered["site"] == []


def test_previews_draw_every_board_with_its_vietnamese_text(
    built: list[Json], reader: InfluxReader, morning: Morning, tmp_path: Path
) -> None:
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the font is a warning
        # every panel type is on these three: geomap, stat, bar, timeseries (overview);
        # gauge, state timeline, table (service centre); text (platform)
        for board in [b for b in built if b["uid"] in PREVIEWED]:
            timing = preview_board(reader, board, tmp_path, morning.from_ms, morning.to_ms)
            with Image.open(timing.path) as image:
                width, height = image.size
                colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
            assert width > 1000, board["uid"]
            assert height > 300, board["uid"]
            assert colours is not None, board["uid"]
            assert len(colours) > 50, board["uid"]  # drawn, not a blank page


def test_a_preview_draws_the_stat_from_the_query(morning: Morning, reader: InfluxReader) -> None:
    """The devices-online stat shows what InfluxDB answers for it."""
    overview = next(b for b in boards(list(morning.scenario.registry_spec().sites)))
    board = overview.json()
    selections, _ = resolve(reader, board, morning.from_ms, morning.to_ms)
    data = panel_data(reader, board, morning.from_ms, morning.to_ms, selections)
    online = next(p for p in board["panels"] if p["title"] == "Thiết bị trực tuyến")
    [(_, series)] = data[online["id"]].series
    devices = sum(1 for _ in morning.registry)
    assert 0 < series["values"][0][1] <= devices


@pytest.mark.parametrize("where", ["hcc", "tiepdan"])
def test_alerts_not_closed_counts_what_the_alert_store_holds(
    morning: Morning, reader: InfluxReader, where: str
) -> None:
    """The stat of alerts not closed shows, per site, the open and acknowledged alerts the
    analytics process's store holds (the reception's escalated alert was resolved)."""
    site = morning.site if where == "hcc" else reception_of(morning.site)
    board = boards(list(morning.scenario.registry_spec().sites))[0].json()
    selections, _ = resolve(reader, board, morning.from_ms, morning.to_ms, {"site": site})
    data = panel_data(reader, board, morning.from_ms, morning.to_ms, selections)
    panel = next(p for p in board["panels"] if p["title"] == "Cảnh báo chưa đóng")
    [(_, series)] = data[panel["id"]].series
    assert series["values"][0][1] == morning.not_closed[site]
