"""NGSI-LD temporal queries answered from the `sensor_telemetry` points in a real InfluxDB."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.citytwin.open.city import OpenCity, client

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def line(namespace: str, device: str, at: datetime, seq: int, **fields: float) -> str:
    values = ",".join(f"{name}={value!r}" for name, value in fields.items())
    return (
        f"sensor_telemetry,namespace={namespace},device={device},site={namespace},"
        f"sector=environment,kind=sensor {values},seq={seq}i {round(at.timestamp() * 1e9)}"
    )


@pytest.fixture(scope="module")
def history(city: OpenCity) -> OpenCity:
    env = f"{city.namespace}.env"
    lines = [
        line(
            env,
            "env-01",
            T0 + timedelta(minutes=i),
            i,
            temperature_c=28.0 + i,
            humidity_pct=60.0 + i,
            pm25_ugm3=20.0 + i,
            noise_dba=55.0 + i,
        )
        for i in range(10)
    ]
    lines.append(line(env, "env-02", T0, 1, temperature_c=99.0))  # another sensor

    asyncio.run(city.write_points(lines))
    return city


def temporal(city: OpenCity, entity: str, **params: str) -> dict[str, object]:
    with client(city) as http:
        answer = http.get(f"/ngsi-ld/v1/temporal/entities/{entity}", params=params)
    assert answer.status_code == 200, answer.text
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in answer.headers["link"]
    body: dict[str, object] = answer.json()
    return body


def test_between_gives_each_attribute_instance_in_the_interval(history: OpenCity) -> None:
    entity = f"urn:ngsi-ld:AirQualityObserved:{history.thing('env', 'env-01')}"
    body = temporal(
        history,
        entity,
        timerel="between",
        timeAt="2026-12-07T15:02:00+07:00",
        endTimeAt="2026-12-07T08:05:00Z",
    )
    assert body["id"] == entity
    assert body["temperature"] == [
        {
            "type": "Property",
            "value": 30.0 + i,
            "observedAt": f"2026-12-07T08:0{2 + i}:00.000Z",
            "unitCode": "CEL",
        }
        for i in range(3)
    ]
    relative = body["relativeHumidity"]
    assert isinstance(relative, list)
    assert [item["value"] for item in relative] == pytest.approx([0.62, 0.63, 0.64])
    assert "LAeq" not in body  # noise is the NoiseLevelObserved's


def test_attrs_last_n_and_temporal_values(history: OpenCity) -> None:
    entity = f"urn:ngsi-ld:NoiseLevelObserved:{history.thing('env', 'env-01')}"
    body = temporal(
        history,
        entity,
        timerel="after",
        timeAt="2026-12-07T08:00:00Z",
        attrs="LAeq",
        lastN="2",
        options="temporalValues",
    )
    assert body["LAeq"] == {
        "type": "Property",
        "unitCode": "2N",
        "values": [[63.0, "2026-12-07T08:08:00.000Z"], [64.0, "2026-12-07T08:09:00.000Z"]],
    }
    before = temporal(history, entity, timerel="before", timeAt="2026-12-07T08:01:00Z")
    assert before["LAeq"] == [
        {
            "type": "Property",
            "value": 55.0,
            "observedAt": "2026-12-07T08:00:00.000Z",
            "unitCode": "2N",
        }
    ]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"timerel": "during", "timeAt": "2026-12-07T08:00:00Z"}, "timerel"),
        ({"timerel": "between", "timeAt": "2026-12-07T08:00:00Z"}, "endTimeAt"),
        ({"timerel": "after", "timeAt": "yesterday"}, "timeAt"),
        ({"timerel": "after", "timeAt": "2026-12-07T08:00:00"}, "timeAt"),
        ({"timeAt": "2026-12-07T08:00:00Z"}, "timerel"),
        ({"attrs": "LAeq"}, "attrs"),
        ({"lastN": "0"}, "lastN"),
        (
            {
                "timerel": "between",
                "timeAt": "2026-12-07T09:00:00Z",
                "endTimeAt": "2026-12-07T08:00:00Z",
            },
            "endTimeAt",
        ),
    ],
)
def test_a_bad_temporal_parameter_is_named(
    history: OpenCity, params: dict[str, str], parameter: str
) -> None:
    entity = f"urn:ngsi-ld:AirQualityObserved:{history.thing('env', 'env-01')}"
    with client(history) as http:
        answer = http.get(f"/ngsi-ld/v1/temporal/entities/{entity}", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["parameter"] == parameter
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


def test_the_history_of_an_unknown_entity_is_not_found(history: OpenCity) -> None:
    with client(history) as http:
        answer = http.get(
            f"/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Device:{history.thing('hcc', 'counter-07')}"
        )
    assert answer.status_code == 404
