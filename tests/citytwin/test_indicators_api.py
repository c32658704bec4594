"""Sectors upload their figures to the real HTTP app over a real InfluxDB: bad rows named
by line and field, corrections kept as revisions, the newest period on the scorecard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from tests.citytwin.alert_app import (
    OPERATOR,
    OPERATOR_TOKEN,
    VIEWER,
    VIEWER_TOKEN,
    AlertApp,
    running_app,
)
from tests.services import Influx

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(120)]

DATABASE = "indicatorsapi"
SECTOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
CSV = {**SECTOR, "Content-Type": "text/csv"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[AlertApp]:
    influx.create_database(DATABASE)
    with running_app(tmp_path_factory.mktemp("indicators-api"), influx, DATABASE) as running:
        yield running


@pytest_asyncio.fixture
async def http(app: AlertApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app.url, timeout=20) as client:
        yield client


def district(name: str) -> str:
    return f"district:{name.replace('_', '-').replace('.', '-').lower()[:60]}"


async def figures(http: httpx.AsyncClient, code: str, scope: str) -> list[dict[str, object]]:
    answer = await http.get(
        f"/api/indicators/{code}/figures",
        params={"scope": scope, "since": "2025-01-01T00:00:00+07:00"},
        auth=VIEWER,
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, object]] = answer.json()["figures"]
    return found


async def test_one_bad_row_refuses_the_file_and_names_its_line_and_field(
    http: httpx.AsyncClient, unique_name: str
) -> None:
    scope = district(unique_name)
    body = (
        "code,period,value,scope\n"
        f"budget_revenue,2026-09,1180,{scope}\n"
        f"budget_revenue,2026-10,-5,{scope}\n"
        f"online_dossiers_share,2026-10,47.5,{scope}\n"
    )
    answer = await http.post("/api/indicators/figures", content=body, headers=CSV)
    assert answer.status_code == 422, answer.text
    refusal = answer.json()
    assert refusal["problems"] == [
        {"line": 3, "field": "value", "message": "-5 is below budget_revenue's minimum 0"}
    ]
    assert "the file is refused and nothing is stored" in refusal["message"]
    assert "line 3: value" in refusal["message"]
    assert await figures(http, "budget_revenue", scope) == []
    assert await figures(http, "online_dossiers_share", scope) == []

    kept = await http.post(
        "/api/indicators/figures", params={"on_error": "keep"}, content=body, headers=CSV
    )
    assert kept.status_code == 200, kept.text
    outcome = kept.json()
    assert (outcome["received"], outcome["created"], outcome["revised"]) == (3, 2, 0)
    assert [p["line"] for p in outcome["problems"]] == [3]
    stored = await figures(http, "budget_revenue", scope)
    assert [(f["period"], f["value"], f["revision"]) for f in stored] == [("2026-09", 1180.0, 1)]
    assert stored[0]["start"] == "2026-09-01T00:00:00+07:00"
    assert stored[0]["submitted_by"] == "api:queue-system"


async def test_a_correction_replaces_the_figure_and_keeps_the_revision(
    http: httpx.AsyncClient, unique_name: str
) -> None:
    scope = district(unique_name)

    async def send(value: float, note: str = "") -> dict[str, int]:
        answer = await http.post(
            "/api/indicators/figures",
            json={"figures": [{"code": "rice_yield", "period": "2026-Q3", "value": value,
                               "scope": scope, "note": note}]},
            headers=SECTOR,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        outcome: dict[str, int] = answer.json()
        return outcome

    assert (await send(62.0))["created"] == 1
    assert (await send(62.0))["unchanged"] == 1  # the same file sent again
    assert (await send(63.4, "số liệu chính thức"))["revised"] == 1

    stored = await figures(http, "rice_yield", scope)
    assert [(f["period"], f["value"], f["revision"], f["note"]) for f in stored] == [
        ("2026-Q3", 63.4, 2, "số liệu chính thức")
    ]
    history = await http.get(
        "/api/indicators/rice_yield/revisions",
        params={"period": "2026-Q3", "scope": scope},
        auth=OPERATOR,
    )
    assert history.status_code == 200, history.text
    assert [(r["revision"], r["value"], r["previous"]) for r in history.json()["revisions"]] == [
        (1, 62.0, None),
        (2, 63.4, 62.0),
    ]


async def test_the_scorecard_shows_the_newest_period_against_target_and_the_one_before(
    http: httpx.AsyncClient, unique_name: str
) -> None:
    scope = district(unique_name)
    body = (
        "code,period,value,scope\n"
        f"dossiers_overdue_share,2026-10,2.4,{scope}\n"
        f"dossiers_overdue_share,2026-11,2.6,{scope}\n"
        f"online_dossiers_share,2026-11,55,{scope}\n"
        f"health_insurance_coverage,2024,91.0,{scope}\n"
        f"health_insurance_coverage,2026,93.5,{scope}\n"
    )
    answer = await http.post("/api/indicators/figures", content=body.encode(), headers=CSV)
    assert answer.status_code == 200, answer.text
    card = await http.get(
        "/api/indicators/scorecard",
        params={"scope": scope},
        headers={"Authorization": f"Bearer {VIEWER_TOKEN}"},
    )
    assert card.status_code == 200, card.text
    rows = {row["code"]: row for row in card.json()["rows"]}
    assert list(rows) == [
        "online_dossiers_share",
        "dossiers_overdue_share",
        "health_insurance_coverage",
    ]  # catalogue order
    overdue = rows["dossiers_overdue_share"]
    # lower is better, target 2 %, tolerance 50 %: 2.6 % is amber, and worse than October
    assert (overdue["period"], overdue["actual"], overdue["light"]) == ("2026-11", 2.6, "amber")
    assert (overdue["previous"], overdue["trend"]) == (2.4, "worsening")
    assert (rows["online_dossiers_share"]["light"], rows["online_dossiers_share"]["trend"]) == (
        "green",
        "new",
    )
    coverage = rows["health_insurance_coverage"]
    # 2024 is not the year before 2026: no trend from it
    assert (coverage["period"], coverage["previous"], coverage["trend"]) == ("2026", None, "new")
    assert coverage["light"] == "amber"  # 93.5 against 95 within 5 %


async def test_refusals_name_the_caller_the_type_the_size_and_the_indicator(
    http: httpx.AsyncClient, unique_name: str
) -> None:
    line = f"budget_revenue,2026-10,1,{district(unique_name)}\n"
    viewer = await http.post(
        "/api/indicators/figures",
        content="code,period,value,scope\n" + line,
        headers={"Authorization": f"Bearer {VIEWER_TOKEN}", "Content-Type": "text/csv"},
    )
    assert viewer.status_code == 403, viewer.text
    assert viewer.json()["needed"] == "operator"

    plain = await http.post(
        "/api/indicators/figures", content=line, headers={**SECTOR, "Content-Type": "text/plain"}
    )
    assert plain.status_code == 415
    assert "text/csv" in plain.json()["message"]

    huge = "code,period,value,scope\n" + line * 200_000  # ~9 MB, over the 2 MiB cap
    too_large = await http.post("/api/indicators/figures", content=huge, headers=CSV)
    assert too_large.status_code == 413
    assert too_large.json()["error"] == "too_large"

    headerless = await http.post("/api/indicators/figures", content=line, headers=CSV)
    assert headerless.status_code == 422
    assert "line 1" in headerless.json()["message"]

    unknown = await http.get("/api/indicators/gdp_per_unicorn/figures", auth=VIEWER)
    assert unknown.status_code == 404
    assert "GET /api/indicators" in unknown.json()["message"]

    bad_period = await http.get(
        "/api/indicators/rice_yield/revisions", params={"period": "2026-07"}, auth=VIEWER
    )
    assert bad_period.status_code == 422
    assert bad_period.json()["field"] == "period"

    catalogue = await http.get("/api/indicators", auth=VIEWER)
    assert catalogue.status_code == 200
    codes = {entry["code"]: entry for entry in catalogue.json()["indicators"]}
    assert codes["grdp_growth"]["name_vi"] == "Tốc độ tăng trưởng GRDP"
    assert codes["grdp_growth"]["period"] == "quarter"
