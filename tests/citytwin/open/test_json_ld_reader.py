"""A JSON-LD processor that is not ours (PyLD) reads the entities as an NGSI-LD consumer
would: through the @context URL the answers carry, fetched from this server and nowhere
else, every term expands to its Smart Data Models or NGSI-LD IRI.

(ngsildclient, the NGSI-LD client on PyPI, pins httpx < 0.24 and rich < 13 and cannot be
installed beside citytwin's locked httpx 0.28; docs/integration.md shows it reading these
routes from a virtual environment of its own.)
"""

from __future__ import annotations

from typing import Any

import httpx
from pyld import jsonld

from tests.citytwin.open.city import OpenCity, client

SDM_ENV = "https://smartdatamodels.org/dataModel.Environment/"
NGSI_LD = "https://uri.etsi.org/ngsi-ld/"


def loader_for(city: OpenCity, fetched: list[str]) -> Any:
    def load(url: str, _options: dict[str, Any]) -> dict[str, Any]:
        fetched.append(url)
        assert url.startswith(city.url), f"the processor was sent to fetch {url}"
        answer = httpx.get(url, timeout=20)
        answer.raise_for_status()
        return {"contextUrl": None, "documentUrl": url, "document": answer.json()}

    return load


def test_the_entities_expand_to_the_models_iris(city: OpenCity) -> None:
    with client(city, accept="application/ld+json") as http:
        answer = http.get(
            "/ngsi-ld/v1/entities", params={"type": "AirQualityObserved", "q": "pm25==42"}
        )
    assert answer.status_code == 200, answer.text
    [entity] = answer.json()
    fetched: list[str] = []
    [expanded] = jsonld.expand(entity, {"documentLoader": loader_for(city, fetched)})
    assert fetched == [f"{city.url}/ngsi-ld/v1/jsonld-contexts/citytwin.jsonld"]
    assert expanded["@id"] == f"urn:ngsi-ld:AirQualityObserved:{city.thing('env', 'env-01')}"
    assert expanded["@type"] == [f"{SDM_ENV}AirQualityObserved"]
    [pm25] = expanded[f"{SDM_ENV}pm25"]
    assert pm25["@type"] == [f"{NGSI_LD}Property"]
    assert pm25[f"{NGSI_LD}hasValue"] == [{"@value": 42.0}]
    assert pm25[f"{NGSI_LD}unitCode"] == [{"@value": "GQ"}]
    [observed] = pm25[f"{NGSI_LD}observedAt"]
    assert observed == {"@type": f"{NGSI_LD}DateTime", "@value": "2026-12-08T03:15:00.000Z"}
    [device] = expanded["https://smartdatamodels.org/refDevice"]
    assert device[f"{NGSI_LD}hasObject"] == [
        {"@id": f"urn:ngsi-ld:Device:{city.thing('env', 'env-01')}"}
    ]
    # nothing of the entity is dropped by the expansion: every term is in the context
    assert {key for key in expanded if not key.startswith("@")} == {
        f"{SDM_ENV}temperature",
        f"{SDM_ENV}relativeHumidity",
        f"{SDM_ENV}pm25",
        "https://smartdatamodels.org/name",
        "https://smartdatamodels.org/areaServed",
        "https://smartdatamodels.org/dataProvider",
        "https://smartdatamodels.org/dateObserved",
        "https://smartdatamodels.org/refDevice",
        f"{NGSI_LD}location",
    }


def test_every_device_expands_without_losing_a_term(city: OpenCity) -> None:
    fetched: list[str] = []
    with client(city, accept="application/ld+json") as http:
        devices = http.get("/ngsi-ld/v1/entities", params={"type": "Device"}).json()
    assert len(devices) == 5
    for device in devices:
        [expanded] = jsonld.expand(device, {"documentLoader": loader_for(city, fetched)})
        dropped = (
            set(device) - {"id", "type", "@context"} - {key.rsplit("/", 1)[-1] for key in expanded}
        )
        assert not dropped, f"terms missing from the context: {dropped}"
