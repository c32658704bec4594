"""The alerts API of the real HTTP app on a real alert store (SQLite; one flow on
PostgreSQL): every role, every action and its history, refusals with their JSON."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import pytest_asyncio

from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.alerts.records import Action, Resolution
from tests.citytwin.alert_app import (
    ADMIN,
    OPERATOR,
    OPERATOR_TOKEN,
    T0,
    VIETNAMESE,
    VIEWER,
    VIEWER_TOKEN,
    AlertApp,
    minutes,
    open_alert,
    running_app,
    signal,
)
from tests.postgres import Postgres, start_postgres
from tests.services import Influx, free_port

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(120)]

JPEG = b"\xff\xd8\xff\xe0" + b"snapshot of desk 2" * 40 + b"\xff\xd9"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[AlertApp]:
    database = "alertsapi"
    influx.create_database(database)
    with running_app(tmp_path_factory.mktemp("alerts-api"), influx, database) as running:
        yield running


@pytest_asyncio.fixture
async def lifecycle(app: AlertApp) -> AsyncIterator[AlertLifecycle]:
    opened = await app.lifecycle()
    async with opened.store:
        yield opened


@pytest_asyncio.fixture
async def http(app: AlertApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app.url, timeout=20) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_listing_filters_by_every_field_most_urgent_first(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    site = f"{unique_name}.hcc"
    desk = await open_alert(lifecycle, site, severity=Severity.WARNING)
    gate = await open_alert(
        lifecycle,
        site,
        "cam-gate",
        rule="night-gate",
        rule_type=RuleType.INTRUSION,
        severity=Severity.CRITICAL,
        at=T0 + minutes(30),
    )
    sensor = await open_alert(
        lifecycle,
        site,
        "sensor-01",
        rule="hot",
        rule_type=RuleType.THRESHOLD,
        severity=Severity.MAJOR,
        at=T0 + minutes(60),
    )
    await lifecycle.resolve(sensor.id, actor="operator-lan")
    await open_alert(lifecycle, f"{unique_name}.other")

    def ids(answer: httpx.Response) -> list[str]:
        assert answer.status_code == 200, answer.text
        return [alert["id"] for alert in answer.json()["alerts"]]

    everything = await http.get("/api/alerts", params={"site": site}, auth=VIEWER)
    # not resolved first, then the most severe
    assert ids(everything) == [gate.id, desk.id, sensor.id]
    assert everything.json()["total"] == 3
    first = everything.json()["alerts"][0]
    assert (first["severity"], first["state"], first["rule_type"]) == (
        "critical",
        "open",
        "intrusion",
    )
    assert first["device"] == f"{site}:cam-gate"
    assert first["message_vi"] == "Cán bộ vắng mặt tại cam-gate"

    async def listed(**params: str | list[str]) -> list[str]:
        return ids(await http.get("/api/alerts", params={"site": site, **params}, auth=VIEWER))

    assert await listed(state="resolved") == [sensor.id]
    assert await listed(state=["open", "acknowledged"]) == [gate.id, desk.id]
    assert await listed(severity=["warning", "major"]) == [desk.id, sensor.id]
    assert await listed(rule_type="intrusion") == [gate.id]
    assert await listed(device=f"{site}:sensor-01") == [sensor.id]
    assert await listed(since=(T0 + minutes(30)).isoformat()) == [gate.id, sensor.id]
    assert await listed(until=(T0 + minutes(30)).isoformat()) == [desk.id]
    paging: dict[str, str | int] = {"site": site, "limit": 2, "offset": 2}
    page = await http.get("/api/alerts", params=paging, auth=VIEWER)
    assert ids(page) == [sensor.id]
    assert (page.json()["total"], page.json()["limit"], page.json()["offset"]) == (3, 2, 2)


async def test_without_credentials_or_with_wrong_ones_the_answer_is_401(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    for attempt in (
        await http.get("/api/alerts"),
        await http.get(f"/api/alerts/{alert.id}", auth=(OPERATOR[0], "guess")),
        await http.post(f"/api/alerts/{alert.id}/acknowledge", headers=bearer("not-a-token")),
        await http.get("/api/kpis/scorecard"),
        await http.get("/api/alerts", headers={"Authorization": "Basic !!not-base64"}),
    ):
        assert attempt.status_code == 401
        assert attempt.json()["error"] == "unauthorized"
        assert "Authorization: Bearer" in attempt.json()["message"]
        assert attempt.headers["www-authenticate"].startswith("Basic")
    assert (await lifecycle.get(alert.id)).state is AlertState.OPEN


async def test_a_viewer_reads_but_may_not_act(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    read = await http.get(f"/api/alerts/{alert.id}", auth=VIEWER)
    assert read.status_code == 200
    assert read.json()["state"] == "open"
    for action, body in (
        ("acknowledge", {}),
        ("resolve", {"resolution": "manual"}),
        ("assign", {"assignee": "lan"}),
        ("notes", {"text": "seen"}),
    ):
        refused = await http.post(f"/api/alerts/{alert.id}/{action}", json=body, auth=VIEWER)
        assert refused.status_code == 403, action
        assert refused.json() == {
            "error": "forbidden",
            "message": "khach is a viewer; this needs the role operator or higher",
            "where": f"POST /api/alerts/{alert.id}/{action}",
            "needed": "operator",
        }
    assert (await lifecycle.get(alert.id)).state is AlertState.OPEN
    assert [entry.action for entry in await lifecycle.history(alert.id)] == [Action.OPENED]


async def test_an_operator_acts_and_each_action_is_in_the_history(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    url = f"/api/alerts/{alert.id}"
    acked = await http.post(f"{url}/acknowledge", json={"note": "on my way"}, auth=OPERATOR)
    assert acked.status_code == 200, acked.text
    assert (acked.json()["state"], acked.json()["acknowledged_by"]) == ("acknowledged", "truc-ban")
    assigned = await http.post(f"{url}/assign", json={"assignee": "can-bo-lan"}, auth=OPERATOR)
    assert assigned.json()["assignee"] == "can-bo-lan"
    noted = await http.post(f"{url}/notes", json={"text": "officer back at 15:20"}, auth=OPERATOR)
    assert noted.status_code == 200
    resolved = await http.post(
        f"{url}/resolve", json={"resolution": "manual", "note": "back"}, auth=OPERATOR
    )
    assert (resolved.json()["state"], resolved.json()["resolution"]) == ("resolved", "manual")
    # a note is still allowed on a resolved alert
    late = await http.post(f"{url}/notes", json={"text": "talked to her"}, auth=OPERATOR)
    assert late.status_code == 200

    history = (await http.get(f"{url}/history", auth=VIEWER)).json()
    assert [(e["action"], e["actor"], e["to_state"]) for e in history] == [
        ("opened", "system", "open"),
        ("acknowledged", "truc-ban", "acknowledged"),
        ("assigned", "truc-ban", "acknowledged"),
        ("noted", "truc-ban", "acknowledged"),
        ("resolved", "truc-ban", "resolved"),
        ("noted", "truc-ban", "resolved"),
    ]
    assert history[1]["note"] == "on my way"
    assert history[2]["details"] == {"assignee": "can-bo-lan", "previous": None}
    assert [e["note"] for e in history[3:]] == ["officer back at 15:20", "back", "talked to her"]
    stored = await lifecycle.get(alert.id)
    assert (stored.state, stored.resolved_by, stored.assignee) == (
        AlertState.RESOLVED,
        "truc-ban",
        "can-bo-lan",
    )


async def test_a_password_in_vietnamese_logs_in(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    acked = await http.post(f"/api/alerts/{alert.id}/acknowledge", auth=VIETNAMESE)
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == "lan"
    page = await http.get("/alerts", auth=VIETNAMESE)
    assert page.status_code == 200
    assert "Đăng nhập: lan (trực ban)" in page.text


async def test_a_false_alarm_is_kept_as_such(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    answer = await http.post(
        f"/api/alerts/{alert.id}/resolve", json={"resolution": "false_alarm"}, auth=ADMIN
    )
    assert answer.json()["resolution"] == "false_alarm"
    assert (await lifecycle.get(alert.id)).resolution is Resolution.FALSE_ALARM
    assert (await lifecycle.history(alert.id))[-1].resolution is Resolution.FALSE_ALARM


async def test_other_systems_act_with_their_token_and_its_role(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    listed = await http.get(
        "/api/alerts", params={"site": unique_name}, headers=bearer(VIEWER_TOKEN)
    )
    assert [a["id"] for a in listed.json()["alerts"]] == [alert.id]
    refused = await http.post(f"/api/alerts/{alert.id}/acknowledge", headers=bearer(VIEWER_TOKEN))
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("api:dashboard is a viewer")
    acked = await http.post(f"/api/alerts/{alert.id}/acknowledge", headers=bearer(OPERATOR_TOKEN))
    assert acked.status_code == 200
    assert acked.json()["acknowledged_by"] == "api:queue-system"
    assert (await lifecycle.history(alert.id))[-1].actor == "api:queue-system"


async def test_an_unknown_alert_is_404(http: httpx.AsyncClient) -> None:
    missing = "0" * 32
    for answer in (
        await http.get(f"/api/alerts/{missing}", auth=VIEWER),
        await http.get(f"/api/alerts/{missing}/history", auth=VIEWER),
        await http.get("/api/alerts/no-such-alert/evidence", auth=VIEWER),
        await http.post(f"/api/alerts/{missing}/acknowledge", auth=OPERATOR),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"
        assert "no alert with id" in answer.json()["message"]


async def test_acts_the_state_does_not_allow_are_409_naming_the_state(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    url = f"/api/alerts/{alert.id}"
    assert (await http.post(f"{url}/resolve", auth=OPERATOR)).status_code == 200
    refused = await http.post(f"{url}/acknowledge", auth=OPERATOR)
    assert refused.status_code == 409
    body = refused.json()
    assert (body["error"], body["state"]) == ("conflict", "resolved")
    assert "is resolved (resolved as manual by truc-ban" in body["message"]
    assert "only an open alert can be acknowledged" in body["message"]
    for action, payload in (("resolve", {}), ("assign", {"assignee": "lan"})):
        again = await http.post(f"{url}/{action}", json=payload, auth=OPERATOR)
        assert (again.status_code, again.json()["state"]) == (409, "resolved")
    twice = await open_alert(lifecycle, unique_name, "cam-04")
    await http.post(f"/api/alerts/{twice.id}/acknowledge", auth=OPERATOR)
    second = await http.post(f"/api/alerts/{twice.id}/acknowledge", auth=ADMIN)
    assert (second.status_code, second.json()["state"]) == (409, "acknowledged")
    assert "acknowledged by truc-ban" in second.json()["message"]


async def test_bad_values_are_422_naming_the_field(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    async def refused(answer: httpx.Response, field: str) -> str:
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert (body["error"], body["field"]) == ("invalid", field)
        assert body["message"].startswith(field)
        return str(body["message"])

    message = await refused(
        await http.get("/api/alerts", params={"severity": "urgent"}, auth=VIEWER), "severity"
    )
    assert "'urgent'" in message
    assert "'critical'" in message
    await refused(await http.get("/api/alerts", params={"state": "closed"}, auth=VIEWER), "state")
    await refused(
        await http.get("/api/alerts", params={"rule_type": "fire"}, auth=VIEWER), "rule_type"
    )
    naive = await refused(
        await http.get("/api/alerts", params={"since": "2026-12-03T08:00:00"}, auth=VIEWER),
        "since",
    )
    assert "timezone" in naive
    await refused(await http.get("/api/alerts", params={"limit": 0}, auth=VIEWER), "limit")
    await refused(await http.get("/api/alerts", params={"offset": -1}, auth=VIEWER), "offset")
    await refused(
        await http.get(
            "/api/alerts",
            params={"since": "2026-12-03T09:00:00Z", "until": "2026-12-03T08:00:00Z"},
            auth=VIEWER,
        ),
        "until",
    )
    alert = await open_alert(lifecycle, unique_name)
    url = f"/api/alerts/{alert.id}"
    await refused(
        await http.post(f"{url}/resolve", json={"resolution": "fixed"}, auth=OPERATOR),
        "resolution",
    )
    await refused(await http.post(f"{url}/notes", json={"text": ""}, auth=OPERATOR), "text")
    await refused(await http.post(f"{url}/assign", json={}, auth=OPERATOR), "assignee")
    await refused(
        await http.post(f"{url}/acknowledge", json={"note": "x", "by": "me"}, auth=OPERATOR), "by"
    )
    blank = await http.post(f"{url}/notes", json={"text": "   "}, auth=OPERATOR)
    assert blank.status_code == 422
    assert "the text is empty" in blank.json()["message"]
    assert (await lifecycle.get(alert.id)).state is AlertState.OPEN


async def test_the_snapshot_downloads_as_the_jpeg_kept(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name, snapshot=JPEG)
    body = (await http.get(f"/api/alerts/{alert.id}", auth=VIEWER)).json()
    assert body["evidence"] == f"/api/alerts/{alert.id}/evidence"
    snapshot = await http.get(body["evidence"], auth=VIEWER)
    assert snapshot.status_code == 200
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert snapshot.content == JPEG
    bare = await open_alert(lifecycle, unique_name, "cam-09")
    assert (await http.get(f"/api/alerts/{bare.id}", auth=VIEWER)).json()["evidence"] is None
    none = await http.get(f"/api/alerts/{bare.id}/evidence", auth=VIEWER)
    assert none.status_code == 404
    assert none.json()["message"] == f"alert {bare.id} has no snapshot"


async def test_an_operator_attaches_a_snapshot_and_only_a_jpeg(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    url = f"/api/alerts/{alert.id}/evidence"
    jpeg = {"Content-Type": "image/jpeg"}
    viewer = await http.put(url, content=JPEG, headers=jpeg, auth=VIEWER)
    assert viewer.status_code == 403
    png = await http.put(url, content=b"\x89PNG\r\n\x1a\n...", headers=jpeg, auth=OPERATOR)
    assert png.status_code == 422
    assert "the snapshot is not a JPEG (starts with 89504e47" in png.json()["message"]
    attached = await http.put(url, content=JPEG, headers=jpeg, auth=OPERATOR)
    assert attached.status_code == 200, attached.text
    assert attached.json()["evidence"] == url
    assert (await http.get(url, auth=VIEWER)).content == JPEG
    last = (await lifecycle.history(alert.id))[-1]
    assert (last.action, last.actor) == (Action.EVIDENCE, "truc-ban")


async def test_maintenance_windows_are_for_admins(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    window = {
        "site": unique_name,
        "device": f"{unique_name}:cam-03",
        "starts_at": T0.isoformat(),
        "ends_at": (T0 + minutes(120)).isoformat(),
        "reason": "thay camera",
    }
    refused = await http.post("/api/maintenance", json=window, auth=OPERATOR)
    assert (refused.status_code, refused.json()["needed"]) == (403, "admin")
    added = await http.post("/api/maintenance", json=window, auth=ADMIN)
    assert added.status_code == 201, added.text
    assert added.json()["created_by"] == "quan-tri"
    # the window now keeps that camera from opening an alert
    applied = await lifecycle.apply(signal(unique_name, at=T0 + minutes(10)))
    assert applied.alert is None
    listed = await http.get("/api/maintenance", params={"site": unique_name}, auth=VIEWER)
    assert [w["id"] for w in listed.json()] == [added.json()["id"]]
    backwards = await http.post(
        "/api/maintenance", json={**window, "ends_at": T0.isoformat()}, auth=ADMIN
    )
    assert backwards.status_code == 422
    assert "is not after starts_at" in backwards.json()["message"]
    gone = await http.delete(f"/api/maintenance/{added.json()['id']}", auth=ADMIN)
    assert gone.status_code == 204
    again = await http.delete(f"/api/maintenance/{added.json()['id']}", auth=ADMIN)
    assert again.status_code == 404
    assert await lifecycle.maintenance_windows(unique_name) == []


async def test_changes_are_found_by_polling_and_pushed_live(
    http: httpx.AsyncClient, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    first = await http.get("/api/alerts/changes", params={"after": 0}, auth=VIEWER)
    start = first.json()["last_id"]
    async with http.stream(
        "GET", "/api/alerts/stream", params={"site": unique_name}, auth=VIEWER
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith("retry:")
        alert = await open_alert(lifecycle, unique_name)
        await open_alert(lifecycle, f"{unique_name}.elsewhere")  # another site: not sent
        await lifecycle.acknowledge(alert.id, actor="truc-ban")
        events: list[dict[str, object]] = []
        async with asyncio.timeout(20):
            async for line in lines:
                if line.startswith("data:"):
                    events.append(orjson.loads(line.removeprefix("data:")))
                    if events[-1]["state"] == "acknowledged":
                        break
    assert {event["id"] for event in events} == {alert.id}
    assert events[-1]["acknowledged_by"] == "truc-ban"
    polled = await http.get("/api/alerts/changes", params={"after": start}, auth=VIEWER)
    ids = [a["id"] for a in polled.json()["alerts"]]
    assert alert.id in ids
    assert polled.json()["last_id"] > start
    later = await http.get(
        "/api/alerts/changes", params={"after": polled.json()["last_id"]}, auth=VIEWER
    )
    assert later.json()["alerts"] == []
    # a reader that reconnects with the last id it saw gets what it missed
    await lifecycle.note(alert.id, actor="truc-ban", text="missed while away")
    resumed = {"Last-Event-ID": str(polled.json()["last_id"])}
    async with http.stream("GET", "/api/alerts/stream", headers=resumed, auth=VIEWER) as again:
        async with asyncio.timeout(20):
            async for line in again.aiter_lines():
                if line.startswith("data:"):
                    assert orjson.loads(line.removeprefix("data:"))["id"] == alert.id
                    break


async def test_the_api_is_described_in_openapi(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/alerts",
        "/api/alerts/{alert_id}",
        "/api/alerts/{alert_id}/history",
        "/api/alerts/{alert_id}/acknowledge",
        "/api/alerts/{alert_id}/resolve",
        "/api/alerts/{alert_id}/evidence",
        "/api/alerts/stream",
        "/api/kpis/scorecard",
        "/api/kpis/{kpi}/history",
        "/api/maintenance",
    ):
        assert path in paths, path
    acknowledge = paths["/api/alerts/{alert_id}/acknowledge"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(acknowledge["responses"])
    schemes = spec["components"]["securitySchemes"]
    assert {scheme["scheme"] for scheme in schemes.values()} == {"basic", "bearer"}


@pytest.fixture(scope="module")
def postgres_app(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[AlertApp]:
    server: Postgres = start_postgres()
    try:
        server.create_database("alertsapi")
        state: Path = tmp_path_factory.mktemp("alerts-api-pg")
        with running_app(state, influx, "alertsapi", store_url=server.url("alertsapi")) as app:
            yield app
    finally:
        server.stop()


async def test_on_postgresql_the_same_actions_and_refusals(
    postgres_app: AlertApp, unique_name: str
) -> None:
    lifecycle = await postgres_app.lifecycle()
    async with lifecycle.store, httpx.AsyncClient(base_url=postgres_app.url) as http:
        assert lifecycle.store.dialect == "postgresql"
        alert = await open_alert(lifecycle, unique_name, snapshot=JPEG)
        url = f"/api/alerts/{alert.id}"
        assert (await http.post(f"{url}/acknowledge", auth=VIEWER)).status_code == 403
        assert (await http.post(f"{url}/acknowledge", auth=OPERATOR)).status_code == 200
        resolved = await http.post(
            f"{url}/resolve", json={"resolution": "false_alarm"}, auth=OPERATOR
        )
        assert resolved.json()["resolution"] == "false_alarm"
        again = await http.post(f"{url}/acknowledge", auth=OPERATOR)
        assert (again.status_code, again.json()["state"]) == (409, "resolved")
        assert (await http.get(f"{url}/evidence", auth=VIEWER)).content == JPEG
        listed = await http.get(
            "/api/alerts", params={"site": unique_name, "state": "resolved"}, auth=VIEWER
        )
        assert [a["id"] for a in listed.json()["alerts"]] == [alert.id]
        history = await lifecycle.history(alert.id)
        assert [(e.action, e.actor) for e in history] == [
            (Action.OPENED, "system"),
            (Action.EVIDENCE, "system"),
            (Action.ACKNOWLEDGED, "truc-ban"),
            (Action.RESOLVED, "truc-ban"),
        ]


async def test_the_console_pages_ask_for_a_login_and_know_the_role(
    http: httpx.AsyncClient,
) -> None:
    for page in ("/alerts", "/kpis"):
        anonymous = await http.get(page)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Basic realm="citytwin"'
        wrong = await http.get(page, auth=(VIEWER[0], "guess"))
        assert "Sai tên đăng nhập hoặc mật khẩu." in wrong.text
    viewer = (await http.get("/alerts", auth=VIEWER)).text
    assert '"canAct": false' in viewer
    assert "Đăng nhập: khach (xem)" in viewer
    operator = (await http.get("/alerts", params={"lang": "en"}, auth=OPERATOR)).text
    assert '"canAct": true' in operator
    assert "Signed in: truc-ban (operator)" in operator


async def test_an_unreachable_store_or_influxdb_is_503_and_the_app_keeps_serving(
    tmp_path: Path, influx: Influx
) -> None:
    closed = free_port()
    with running_app(
        tmp_path,
        influx,
        "alertsapi",
        store_url=f"postgresql://citytwin@127.0.0.1:{closed}/alerts",
        influx_url=f"http://127.0.0.1:{free_port()}",
    ) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as http:
            for _ in range(2):  # each request tries the store again
                down = await http.get("/api/alerts", auth=VIEWER)
                assert down.status_code == 503
                assert down.json()["error"] == "unavailable"
                assert f"127.0.0.1:{closed}/alerts" in down.json()["message"]
            kpis = await http.get("/api/kpis/scorecard", auth=VIEWER)
            assert kpis.status_code == 503
            assert "did not answer" in kpis.json()["message"]
            assert (await http.get("/health")).json()["status"] == "ok"
            assert (await http.get("/alerts", auth=VIEWER)).status_code == 200
