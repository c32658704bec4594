"""Service-centre KPIs as open data, read from the `kpi` points in a real InfluxDB, and the
DCAT-AP catalogue that describes them."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date

import pytest
from pyld import jsonld

from analytics.kpis.aggregate import KpiValue
from analytics.kpis.engine import line_of
from analytics.kpis.windows import Window, day_start
from tests.citytwin.open.city import OpenCity, client

pytestmark = pytest.mark.timeout(120)

DAY1, DAY2 = date(2026, 12, 3), date(2026, 12, 4)


def day(kpi: str, scope: str, on: date, value: float) -> str:
    return line_of(KpiValue(kpi, scope, Window.DAY, day_start(on), value, value, None, ""))


@pytest.fixture(scope="module")
def kpis(city: OpenCity) -> OpenCity:
    hcc = f"site:{city.namespace}.hcc"
    lines = [
        day("tickets_issued", hcc, DAY1, 300),
        day("waiting_time_mean", hcc, DAY1, 12.5),
        day("tickets_issued", hcc, DAY2, 280),
        day("officer_availability", hcc, DAY1, 91.0),  # measures officers: never published
        day("waiting_time_mean", f"counter:{city.namespace}.hcc:counter-07", DAY1, 30.0),
        day("tickets_issued", f"site:{city.namespace}.tiepdan", DAY1, 40),  # one desk
        day("tickets_issued", hcc, date(2026, 11, 1), 111),  # outside the period
    ]
    asyncio.run(city.write_points(lines))
    return city


def test_daily_kpis_of_the_sites_that_may_be_published(kpis: OpenCity) -> None:
    site = f"{kpis.namespace}.hcc"
    with client(kpis) as http:
        answer = http.get(
            "/open/kpis/daily.json", params={"since": "2026-12-03", "until": "2026-12-04"}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["licence"] == "https://creativecommons.org/licenses/by/4.0/"
    assert body["catalogue"] == f"{kpis.url}/open/catalog"
    assert [(r["date"], r["site"], r["kpi"], r["value"]) for r in body["rows"]] == [
        ("2026-12-03", site, "tickets_issued", 300.0),
        ("2026-12-03", site, "waiting_time_mean", 12.5),
        ("2026-12-04", site, "tickets_issued", 280.0),
    ]
    first = body["rows"][0]
    assert first["site_name"] == "Trung tâm Phục vụ hành chính công"
    assert (first["name_en"], first["unit"]) == ("Tickets issued", "count")


def test_the_csv_holds_the_same_rows(kpis: OpenCity) -> None:
    params = {"since": "2026-12-03", "until": "2026-12-04", "kpi": "tickets_issued"}
    with client(kpis) as http:
        as_json = http.get("/open/kpis/daily.json", params=params).json()["rows"]
        answer = http.get("/open/kpis/daily.csv", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["date"], r["kpi"], float(r["value"])) for r in rows] == [
        (r["date"], r["kpi"], r["value"]) for r in as_json
    ]
    assert len(rows) == 2
    assert rows[0]["name_vi"] == as_json[0]["name_vi"]


@pytest.mark.parametrize(
    ("params", "parameter", "says"),
    [
        ({"since": "2026-13-01"}, "since", "YYYY-MM-DD"),
        ({"since": "2026-12-05", "until": "2026-12-01"}, "since", "after"),
        ({"since": "2024-01-01", "until": "2026-12-01"}, "since", "400 days"),
        ({"kpi": "officer_availability"}, "kpi", "not published"),
        ({"kpi": "happiness"}, "kpi", "no KPI"),
        ({"site": "nowhere"}, "site", "not a published site"),
    ],
)
def test_a_bad_kpi_parameter_is_named(
    kpis: OpenCity, params: dict[str, str], parameter: str, says: str
) -> None:
    with client(kpis) as http:
        answer = http.get("/open/kpis/daily.json", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["parameter"] == parameter
    assert says in answer.json()["detail"]


def test_a_one_desk_site_is_not_published(kpis: OpenCity) -> None:
    with client(kpis) as http:
        answer = http.get("/open/kpis/daily.json", params={"site": f"{kpis.namespace}.tiepdan"})
    assert answer.status_code == 400
    assert f"{kpis.namespace}.hcc" in answer.json()["detail"]  # the published ones are named


def test_the_catalogue_describes_every_distribution_and_each_one_answers(kpis: OpenCity) -> None:
    with client(kpis) as http:
        answer = http.get("/open/catalog")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/ld+json")
        # a JSON-LD processor that is not ours reads it as DCAT (its context is inline)
        expanded = jsonld.expand(answer.json())
        flat = jsonld.flatten(expanded)
        datasets = [n for n in flat if "http://www.w3.org/ns/dcat#Dataset" in n.get("@type", [])]
        assert len(datasets) == 3
        frequencies = {d["http://purl.org/dc/terms/accrualPeriodicity"][0]["@id"] for d in datasets}
        assert frequencies == {
            "http://publications.europa.eu/resource/authority/frequency/DAILY",
            "http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT",
            "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
        }
        for dataset in datasets:
            assert dataset["http://purl.org/dc/terms/license"] == [
                {"@id": "https://creativecommons.org/licenses/by/4.0/"}
            ]
        distributions = [
            n for n in flat if "http://www.w3.org/ns/dcat#Distribution" in n.get("@type", [])
        ]
        urls = sorted(d["http://www.w3.org/ns/dcat#downloadURL"][0]["@id"] for d in distributions)
        assert urls == sorted(
            f"{kpis.url}{path}"
            for path in (
                "/open/kpis/daily.csv",
                "/open/kpis/daily.json",
                "/ngsi-ld/v1/entities",
                "/open/indicators.csv",
                "/open/indicators.json",
            )
        )
        for url in urls:
            assert http.get(url).status_code == 200, url
