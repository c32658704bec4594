"""The sectors' public indicators as open data: the figure in force, never who sent it or
the note, never an indicator the catalogue keeps private."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.citytwin.open.city import OpenCity, client, running_city
from tests.services import Influx

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[OpenCity]:
    state: Path = tmp_path_factory.mktemp("open-indicators")
    with running_city(state, influx, "openind") as running:
        asyncio.run(
            running.submit_figures(
                "code,period,value,scope,note\n"
                "rice_yield,2026-Q2,61.0,province,\n"
                "rice_yield,2026-Q3,62.0,province,tạm tính\n"
                "rice_yield,2026-Q3,7.0,district:vu-thu,\n"
                "hospital_bed_occupancy,2026-10,96,province,\n",
                "api:so-nong-nghiep",
            )
        )
        asyncio.run(  # the official figure corrects the provisional one
            running.submit_figures(
                "code,period,value\nrice_yield,2026-Q3,63.4\n", "api:so-nong-nghiep"
            )
        )
        yield running


def test_the_public_figures_in_force_are_open_as_json_and_csv(city: OpenCity) -> None:
    with client(city) as http:
        answer = http.get("/open/indicators.json", params={"since": "2026"})
        as_csv = http.get("/open/indicators.csv", params={"since": "2026"})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert [(r["code"], r["period"], r["value"], r["revision"]) for r in rows] == [
        ("rice_yield", "2026-Q2", 61.0, 1),
        ("rice_yield", "2026-Q3", 63.4, 2),
    ]
    assert rows[1]["period_start"] == "2026-07-01"
    assert rows[1]["name_vi"] == "Năng suất lúa bình quân"
    assert not {"submitted_by", "note", "submitted_at"} & set(rows[0])
    assert "so-nong-nghiep" not in answer.text
    assert "tạm tính" not in answer.text

    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["code"], r["period"], r["value"]) for r in table] == [
        ("rice_yield", "2026-Q2", "61.0"),
        ("rice_yield", "2026-Q3", "63.4"),
    ]


def test_a_district_has_its_own_figures_and_a_private_indicator_is_refused(
    city: OpenCity,
) -> None:
    with client(city) as http:
        district = http.get("/open/indicators.json", params={"scope": "district:vu-thu"})
        private = http.get("/open/indicators.json", params={"code": "hospital_bed_occupancy"})
        bad_year = http.get("/open/indicators.csv", params={"since": "last year"})
        catalog = http.get("/open/catalog")
    assert [(r["code"], r["value"]) for r in district.json()["rows"]] == [("rice_yield", 7.0)]
    assert private.status_code == 400
    assert private.json()["parameter"] == "code"
    assert "hospital_bed_occupancy" not in private.text.split("published:")[1]
    assert bad_year.status_code == 400
    assert bad_year.json()["parameter"] == "since"
    datasets = {d["dct:identifier"]: d for d in catalog.json()["dcat:dataset"]}
    indicators = datasets["sector-indicators"]
    assert "rice_yield" in indicators["dcat:keyword"]
    assert "hospital_bed_occupancy" not in indicators["dcat:keyword"]
    urls = [d["dcat:downloadURL"]["@id"] for d in indicators["dcat:distribution"]]
    assert [url.rsplit("/", 1)[1] for url in urls] == ["indicators.csv", "indicators.json"]
