"""The sensors as NGSI-LD entities, read from the real twin service through the real app."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.citytwin.open.city import ENV_01, ENV_SITE, OpenCity, client

pytestmark = pytest.mark.timeout(120)

LD = "application/ld+json"


def entities(city: OpenCity, **params: str) -> httpx.Response:
    with client(city) as http:
        return http.get("/ngsi-ld/v1/entities", params={"limit": "1000", **params})


def ours(city: OpenCity, answer: httpx.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return [e for e in found if f":{city.namespace}." in e["id"]]


def ids(city: OpenCity, answer: httpx.Response) -> list[str]:
    return [e["id"].removeprefix("urn:ngsi-ld:") for e in ours(city, answer)]


def test_each_sensor_is_its_smart_data_models_observations_and_device(city: OpenCity) -> None:
    ns = city.namespace
    answer = entities(city)
    assert answer.headers["content-type"].startswith("application/json")
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in answer.headers["link"]
    assert sorted(ids(city, answer)) == sorted(
        [
            f"AirQualityObserved:{ns}.env:env-01",
            f"NoiseLevelObserved:{ns}.env:env-01",
            f"Device:{ns}.env:env-01",
            f"AirQualityObserved:{ns}.env:env-02",
            f"NoiseLevelObserved:{ns}.env:env-02",
            f"Device:{ns}.env:env-02",
            f"FloodMonitoring:{ns}.flood:flood-01",
            f"Device:{ns}.flood:flood-01",
            f"FloodMonitoring:{ns}.flood:flood-02",
            f"Device:{ns}.flood:flood-02",
            f"AirQualityObserved:{ns}.hcc:pm-01",
            f"Device:{ns}.hcc:pm-01",
        ]
    )  # the counter, the camera and the meeting room are no sensors


def test_an_observation_carries_the_models_attributes_units_and_place(city: OpenCity) -> None:
    entity_id = f"urn:ngsi-ld:AirQualityObserved:{city.thing('env', 'env-01')}"
    with client(city) as http:
        answer = http.get(f"/ngsi-ld/v1/entities/{entity_id}")
    assert answer.status_code == 200, answer.text
    air = answer.json()
    assert air["type"] == "AirQualityObserved"
    assert air["temperature"] == {
        "type": "Property",
        "value": 31.5,
        "observedAt": "2026-12-08T03:15:00.000Z",
        "unitCode": "CEL",
    }
    assert air["relativeHumidity"]["value"] == pytest.approx(0.78)  # a fraction, not %
    assert (air["pm25"]["value"], air["pm25"]["unitCode"]) == (42.0, "GQ")
    assert "LAeq" not in air  # noise is its own entity
    assert air["location"] == {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [ENV_01[1], ENV_01[0]]},
    }
    assert air["refDevice"] == {
        "type": "Relationship",
        "object": f"urn:ngsi-ld:Device:{city.thing('env', 'env-01')}",
    }
    with client(city) as http:
        device = http.get(air["refDevice"]["object"].join(["/ngsi-ld/v1/entities/", ""])).json()
        noise = http.get(
            f"/ngsi-ld/v1/entities/urn:ngsi-ld:NoiseLevelObserved:{city.thing('env', 'env-01')}",
            params={"options": "keyValues"},
        ).json()
        env_02 = http.get(
            f"/ngsi-ld/v1/entities/urn:ngsi-ld:Device:{city.thing('env', 'env-02')}",
            params={"options": "keyValues"},
        ).json()
    assert device["deviceState"]["value"] == "online"
    assert device["controlledProperty"]["value"] == [
        "temperature",
        "humidity",
        "airPollution",
        "noiseLevel",
    ]
    assert device["firmwareVersion"]["value"] == "2.4.1"
    assert noise["LAeq"] == 66.5
    assert noise["refDevice"] == f"urn:ngsi-ld:Device:{city.thing('env', 'env-01')}"
    # a sensor without coordinates of its own stands at its site's
    assert env_02["location"] == {"type": "Point", "coordinates": [ENV_SITE[1], ENV_SITE[0]]}


def test_a_changed_twin_is_what_the_next_answer_says(city: OpenCity) -> None:
    entity_id = f"urn:ngsi-ld:FloodMonitoring:{city.thing('flood', 'flood-02')}"
    city.report("flood", "flood-02", "measurements", {"waterLevelCm": 95.0})
    with client(city) as http:
        first = http.get(f"/ngsi-ld/v1/entities/{entity_id}").json()
        city.report("flood", "flood-02", "measurements", {"waterLevelCm": 310.0})
        second = http.get(f"/ngsi-ld/v1/entities/{entity_id}").json()
    assert (first["currentLevel"]["value"], second["currentLevel"]["value"]) == (95.0, 310.0)
    assert "location" not in second  # neither it nor its site has a place


def test_json_ld_answers_carry_the_context_that_the_server_ships(city: OpenCity) -> None:
    with client(city, accept=LD) as http:
        answer = http.get("/ngsi-ld/v1/entities", params={"type": "Device", "limit": "3"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(LD)
        assert "link" not in answer.headers
        context_url = answer.json()[0]["@context"]
        assert context_url == f"{city.url}/ngsi-ld/v1/jsonld-contexts/citytwin.jsonld"
        context = http.get(context_url)
    assert context.status_code == 200
    assert context.headers["content-type"].startswith(LD)
    terms = context.json()["@context"]
    assert terms["AirQualityObserved"].startswith("https://smartdatamodels.org/")
    assert terms["LAeq"] == "https://smartdatamodels.org/dataModel.Environment/LAeq"


def test_type_q_and_paging_select_entities(city: OpenCity) -> None:
    ns = city.namespace
    high = entities(city, type="FloodMonitoring", q="currentLevel>=150;currentLevel<300")
    assert ids(city, high) == [f"FloodMonitoring:{ns}.flood:flood-01"]
    assert ids(city, entities(city, type="AirQualityObserved", q="pm25>10;temperature<30")) == [
        f"AirQualityObserved:{ns}.env:env-02"
    ]
    assert ids(city, entities(city, q='deviceState=="offline";category=="sensor"')) == [
        f"Device:{ns}.flood:flood-02",
        f"Device:{ns}.hcc:pm-01",
    ]
    assert ids(city, entities(city, q="pm25!=42", type="AirQualityObserved")) == [
        f"AirQualityObserved:{ns}.env:env-02",
        f"AirQualityObserved:{ns}.hcc:pm-01",
    ]
    # the full IRI of a type is the same type
    iri = "https://smartdatamodels.org/dataModel.Environment/NoiseLevelObserved"
    assert len(ours(city, entities(city, type=iri))) == 2
    everything = ids(city, entities(city, type="Device"))
    with client(city) as http:
        page = http.get(
            "/ngsi-ld/v1/entities",
            params={
                "type": "Device",
                "limit": "2",
                "offset": "1",
                "count": "true",
            },
        )
    assert page.status_code == 200, page.text
    assert page.headers["NGSILD-Results-Count"] == "5"
    assert [e["id"].removeprefix("urn:ngsi-ld:") for e in page.json()] == everything[1:3]
    unnamed = entities(city, type="Device", q='name!="x"', count="true")
    assert unnamed.headers["NGSILD-Results-Count"] == "2"  # only env-01 and env-02 have a name


def test_near_and_within_find_the_sensors_in_the_area(city: OpenCity) -> None:
    ns = city.namespace
    point = json.dumps([ENV_01[1], ENV_01[0]])
    near = entities(
        city,
        type="AirQualityObserved",
        georel="near;maxDistance==1000",
        geometry="Point",
        coordinates=point,
    )
    # env-01 at the point, env-02 at its site ~560 m away, pm-01 at the centre ~100 m away
    assert ids(city, near) == [
        f"AirQualityObserved:{ns}.env:env-01",
        f"AirQualityObserved:{ns}.env:env-02",
        f"AirQualityObserved:{ns}.hcc:pm-01",
    ]
    far = entities(
        city,
        type="AirQualityObserved",
        georel="near;maxDistance==300",
        geometry="Point",
        coordinates=point,
    )
    assert f"AirQualityObserved:{ns}.env:env-02" not in ids(city, far)
    north_east = [
        [106.38, 20.50],
        [106.45, 20.50],
        [106.45, 20.56],
        [106.38, 20.56],
        [106.38, 20.50],
    ]
    within = entities(
        city, georel="within", geometry="Polygon", coordinates=json.dumps([north_east])
    )
    assert ids(city, within) == [
        f"Device:{ns}.flood:flood-01",
        f"FloodMonitoring:{ns}.flood:flood-01",
    ]


@pytest.mark.parametrize(
    ("params", "parameter", "says"),
    [
        ({"q": "pm25>>3"}, "q", "pm25>>3"),
        ({"q": "pm25>3|pm25<1"}, "q", "'|'"),
        ({"q": "name==Quan"}, "q", "double-quoted"),
        ({"limit": "5000"}, "limit", "more than 1000"),
        ({"offset": "-1"}, "offset", "'-1'"),
        ({"count": "yes"}, "count", "'yes'"),
        ({"georel": "near;maxDistance==10"}, "geometry", "needed"),
        (
            {"georel": "near;maxDistance==10", "geometry": "Polygon", "coordinates": "[1,2]"},
            "geometry",
            "near needs a Point",
        ),
        (
            {"georel": "within", "geometry": "Polygon", "coordinates": "[[[1,2],[3,4]]]"},
            "coordinates",
            "4 or more",
        ),
        ({"georel": "near", "geometry": "Point", "coordinates": "[200,1]"}, "georel", "'near'"),
        (
            {"georel": "near;maxDistance==9", "geometry": "Point", "coordinates": "[200,1]"},
            "coordinates",
            "outside",
        ),
        ({"georel": "within", "geometry": "Polygon", "coordinates": "[[1,"}, "coordinates", "JSON"),
        ({"options": "sysAttrs"}, "options", "sysAttrs"),
    ],
)
def test_a_bad_parameter_is_a_problem_naming_it(
    city: OpenCity, params: dict[str, str], parameter: str, says: str
) -> None:
    answer = entities(city, **params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert problem["parameter"] == parameter
    assert problem["detail"].startswith(f"{parameter}: ")
    assert says in problem["detail"]


def test_an_unknown_entity_is_not_found(city: OpenCity) -> None:
    with client(city) as http:
        missing = http.get(f"/ngsi-ld/v1/entities/urn:ngsi-ld:Device:{city.namespace}.env:x-99")
        counter = http.get(
            f"/ngsi-ld/v1/entities/urn:ngsi-ld:Device:{city.thing('hcc', 'counter-07')}"
        )
        not_a_uri = http.get("/ngsi-ld/v1/entities/env-01")
    for answer in (missing, counter):
        assert answer.status_code == 404, answer.text
        assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
    assert not_a_uri.status_code == 400
    assert not_a_uri.json()["parameter"] == "entityId"
