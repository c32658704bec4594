"""The KPI API of the real HTTP app over the `kpi` points in a real InfluxDB."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest
import pytest_asyncio

from analytics.kpis.aggregate import KpiValue
from analytics.kpis.engine import line_of
from analytics.kpis.influx import KpiInflux
from analytics.kpis.windows import Window, day_start
from tests.citytwin.alert_app import VIEWER, VIEWER_TOKEN, AlertApp, running_app
from tests.services import Influx

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(120)]

DATABASE = "kpisapi"
DAY = date(2026, 12, 3)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[AlertApp]:
    influx.create_database(DATABASE)
    with running_app(tmp_path_factory.mktemp("kpis-api"), influx, DATABASE) as running:
        yield running


@pytest_asyncio.fixture
async def http(app: AlertApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app.url, timeout=20) as client:
        yield client


async def write(influx: Influx, values: list[KpiValue]) -> None:
    async with KpiInflux(
        influx.url, DATABASE, username=influx.username, password=influx.password
    ) as client:
        await client.write([line_of(value) for value in values])


def day(kpi: str, scope: str, on: date, value: float, part: str = "") -> KpiValue:
    return KpiValue(kpi, scope, Window.DAY, day_start(on), value, value, None, part)


async def test_the_scorecard_compares_the_day_with_the_day_before(
    http: httpx.AsyncClient, influx: Influx, unique_name: str
) -> None:
    scope = f"site:{unique_name}.hcc"
    before = date(2026, 12, 2)
    await write(
        influx,
        [
            day("waiting_time_mean", scope, DAY, 12.0),
            day("waiting_time_mean", scope, before, 14.0),
            day("officer_availability", scope, DAY, 91.0),
            day("officer_availability", scope, before, 96.0),
            day("alert_escalations", scope, DAY, 2.0),
            day("alert_escalations", scope, before, 2.0),
            day("tickets_issued", scope, DAY, 300.0),
            day("waiting_time_mean", "province", DAY, 40.0),  # another scope
        ],
    )
    answer = await http.get(
        "/api/kpis/scorecard",
        params={"scope": scope, "window": "day", "at": "2026-12-03T15:30:00+07:00"},
        auth=VIEWER,
    )
    assert answer.status_code == 200, answer.text
    card = answer.json()
    assert (card["scope"], card["window"]) == (scope, "day")
    assert card["start"] == "2026-12-03T00:00:00+07:00"
    assert card["end"] == "2026-12-04T00:00:00+07:00"
    rows = {row["kpi"]: row for row in card["rows"]}
    # catalogue order, only the KPIs with a value in the window
    assert [row["kpi"] for row in card["rows"]] == [
        "tickets_issued",
        "waiting_time_mean",
        "officer_availability",
        "alert_escalations",
    ]
    waiting = rows["waiting_time_mean"]
    assert (waiting["actual"], waiting["target"], waiting["previous"], waiting["change"]) == (
        12.0,
        15.0,
        14.0,
        -2.0,
    )
    assert (waiting["light"], waiting["trend"]) == ("green", "improving")
    assert waiting["name_vi"] == "Thời gian chờ trung bình"
    assert (rows["officer_availability"]["light"], rows["officer_availability"]["trend"]) == (
        "amber",
        "worsening",
    )
    assert (rows["alert_escalations"]["light"], rows["alert_escalations"]["trend"]) == (
        "red",
        "steady",
    )
    assert (rows["tickets_issued"]["light"], rows["tickets_issued"]["trend"]) == ("none", "new")
    empty = await http.get(
        "/api/kpis/scorecard",
        params={"scope": scope, "window": "week", "at": "2026-11-03T10:00:00+07:00"},
        headers={"Authorization": f"Bearer {VIEWER_TOKEN}"},
    )
    assert empty.json()["rows"] == []


async def test_a_kpi_history_is_its_windows_oldest_first_without_breakdowns(
    http: httpx.AsyncClient, influx: Influx, unique_name: str
) -> None:
    scope = f"site:{unique_name}.hcc"
    await write(
        influx,
        [
            day("alert_mtta", scope, date(2026, 12, 1), 4.0),
            day("alert_mtta", scope, date(2026, 12, 2), 5.4),
            day("alert_mtta", scope, date(2026, 12, 3), 9.0),
            day("alert_mtta", scope, date(2026, 12, 3), 30.0, part="rule_type=intrusion"),
            day("alert_mtta", scope, date(2026, 11, 20), 1.0),  # before `since`
        ],
    )
    answer = await http.get(
        "/api/kpis/alert_mtta/history",
        params={
            "scope": scope,
            "window": "day",
            "since": "2026-12-01T00:00:00+07:00",
            "until": "2026-12-04T00:00:00+07:00",
        },
        auth=VIEWER,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["kpi"], body["unit"], body["target"], body["direction"]) == (
        "alert_mtta",
        "min",
        5.0,
        "lower",
    )
    assert [(p["start"], p["value"], p["light"]) for p in body["points"]] == [
        ("2026-12-01T00:00:00+07:00", 4.0, "green"),
        ("2026-12-02T00:00:00+07:00", 5.4, "amber"),
        ("2026-12-03T00:00:00+07:00", 9.0, "red"),
    ]


async def test_bad_kpi_requests_name_what_is_wrong(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/api/kpis/happiness/history", auth=VIEWER)
    assert unknown.status_code == 404
    assert "no KPI 'happiness'" in unknown.json()["message"]
    for params, field in (
        ({"scope": "town hall"}, "scope"),
        ({"window": "year"}, "window"),
        ({"at": "2026-12-03T10:00:00"}, "at"),
    ):
        refused = await http.get("/api/kpis/scorecard", params=params, auth=VIEWER)
        assert refused.status_code == 422, params
        assert refused.json()["field"] == field
    backwards = await http.get(
        "/api/kpis/alert_mtta/history",
        params={"since": "2026-12-03T00:00:00Z", "until": "2026-12-02T00:00:00Z"},
        auth=VIEWER,
    )
    assert (backwards.status_code, backwards.json()["field"]) == (422, "until")
    catalogue = (await http.get("/api/kpis", auth=VIEWER)).json()
    assert {"waiting_time_mean", "false_alert_share"} <= {kpi["id"] for kpi in catalogue}
