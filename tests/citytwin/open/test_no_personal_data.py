"""No open endpoint gives out personal data or secrets: every route under /ngsi-ld and
/open (as the app's own OpenAPI lists them) is called with every entity and variant, and
each answer — body and headers — is held against a deny-list of field names and patterns.

The province of `city.py` holds exactly such data in its twins and InfluxDB (an officer's
name, a ticket, a camera URL with credentials, a booking about a citizen), so a route that
passed a twin or a point through would fail here; the first test shows the deny-list
finds them where they are.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.citytwin.open.city import (
    BOOKING_TITLE,
    OFFICER,
    PARTNER_KEY,
    STREAM_URL,
    TICKET,
    OpenCity,
    client,
)

pytestmark = pytest.mark.timeout(120)

DENIED_FIELDS = frozenset(
    {
        "officer",
        "officerid",
        "officername",
        "ticket",
        "currentticket",
        "lastticket",
        "servicecode",
        "stream",
        "streamurl",
        "snapshot",
        "image",
        "evidence",
        "booking",
        "attendees",
        "organiser",
        "citizen",
        "phone",
        "email",
        "password",
        "token",
        "secret",
        "apikey",
        "credentials",
        "zones",
        "present",
        "absentsince",
    }
)
DENIED_PATTERNS = {
    "a stream URL": re.compile(r"\b(rtsp|rtmp|srt|whep)s?://", re.IGNORECASE),
    "credentials in a URL": re.compile(r"://[^/\s:@\"]+:[^/\s@\"]+@"),
    "a ticket number": re.compile(r"\b[A-Z]{1,2}-\d{3,5}\b"),
    "an e-mail address": re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b"),
    "a Vietnamese phone number": re.compile(r"(?<!\d)(\+84|0)(3|5|7|8|9)\d{8}(?!\d)"),
    "an image": re.compile(r"data:image/|/9j/4|iVBORw0KGgo"),
}


def secrets_of(city: OpenCity) -> dict[str, str]:
    return {
        "the officer's name": OFFICER,
        "the ticket": TICKET,
        "the camera's URL": STREAM_URL,
        "the booking's title": BOOKING_TITLE,
        "the twin service's password": city.secrets.twins,
        "InfluxDB's password": city.influx.password,
        "the partner's API key": PARTNER_KEY,
    }


def keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


def leaks(city: OpenCity, answer: httpx.Response) -> list[str]:
    """What of the deny-list the answer holds, each as 'what: where'."""
    found = []
    text = answer.text
    headers = "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
    for what, secret in secrets_of(city).items():
        if secret in text or secret in headers:
            found.append(f"{what} in {answer.request.url}")
    for what, pattern in DENIED_PATTERNS.items():
        for where, haystack in (("body", text), ("headers", headers)):
            match = pattern.search(haystack)
            if match:
                found.append(f"{what} ({match.group(0)!r}) in the {where} of {answer.request.url}")
    media = answer.headers.get("content-type", "")
    if "csv" in media:
        names = next(csv.reader(io.StringIO(text)), [])
    elif "json" in media:
        names = list(keys(answer.json()))
    else:
        names = []
    for name in names:
        bare = name.rsplit(":", 1)[-1].rsplit("/", 1)[-1].lower()
        if bare in DENIED_FIELDS:
            found.append(f"field {name!r} in {answer.request.url}")
    return found


@pytest.fixture(scope="module")
def private_history(city: OpenCity) -> OpenCity:
    """Points that name people, in the database the open API reads."""
    hcc = f"{city.namespace}.hcc"
    ns = round(datetime(2026, 12, 7, 8, tzinfo=UTC).timestamp() * 1e9)
    tags = f"namespace={hcc},site={hcc},sector=public_administration"
    counter = f"counter_event,{tags},device=counter-07,kind=counter"
    lines = [
        f'{counter},type=officer_login officer="{OFFICER}",seq=1i {ns}',
        f'{counter},type=ticket_called ticket="{TICKET}",service="land",seq=2i {ns + 1}',
        f'camera_state,{tags},device=cam-desk-01,kind=camera stream_url="{STREAM_URL}",seq=3i {ns}',
        f"sensor_telemetry,{tags},device=pm-01,kind=sensor pm25_ugm3=8.0,seq=4i {ns}",
    ]
    asyncio.run(city.write_points(lines))
    figures = (
        "code,period,value,scope,note\n"
        f"online_dossiers_share,2026-10,47.5,province,báo cáo của {OFFICER}\n"
        f"hospital_bed_occupancy,2026-10,96,province,gọi {OFFICER} 0912345678\n"
    )
    asyncio.run(city.submit_figures(figures, f"api:{OFFICER}"))
    return city


def test_the_deny_list_finds_what_the_twins_hold(private_history: OpenCity) -> None:
    city = private_history
    with client(city) as http:
        for device in ("counter-07", "cam-desk-01", "room-01"):
            answer = http.get(
                f"/api/2/things/{city.thing('hcc', device)}",
                auth=(city.settings.twins.username, city.secrets.twins),
            )
            assert answer.status_code == 200, answer.text
            assert leaks(city, answer), f"the deny-list misses what {device}'s twin holds"


def open_requests(city: OpenCity, http: httpx.Client) -> Iterator[tuple[str, httpx.Request]]:
    """(path template, request) for every open route, with every entity and variant."""
    listing = http.get("/ngsi-ld/v1/entities", params={"limit": "1000"})
    assert listing.status_code == 200, listing.text
    entity_ids = [entity["id"] for entity in listing.json()]
    assert len(entity_ids) >= 10
    ld = {"accept": "application/ld+json"}
    keyed = {"X-API-Key": PARTNER_KEY}
    template = "/ngsi-ld/v1/entities"
    for params, headers in (({}, {}), ({"options": "keyValues"}, {}), ({}, ld), ({}, keyed)):
        yield (
            template,
            http.build_request(
                "GET", template, params={"limit": "1000", **params}, headers=headers
            ),
        )
    for entity_id in entity_ids:
        for params, headers in (({}, {}), ({"options": "keyValues"}, ld)):
            yield (
                "/ngsi-ld/v1/entities/{entityId}",
                http.build_request(
                    "GET", f"/ngsi-ld/v1/entities/{entity_id}", params=params, headers=headers
                ),
            )
        for params in (
            {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"},
            {"options": "temporalValues"},
        ):
            yield (
                "/ngsi-ld/v1/temporal/entities/{entityId}",
                http.build_request(
                    "GET", f"/ngsi-ld/v1/temporal/entities/{entity_id}", params=params
                ),
            )
    yield (
        "/ngsi-ld/v1/jsonld-contexts/citytwin.jsonld",
        http.build_request("GET", "/ngsi-ld/v1/jsonld-contexts/citytwin.jsonld"),
    )
    period = {"since": "2026-01-01", "until": "2026-12-31"}
    for path in ("/open/kpis/daily.json", "/open/kpis/daily.csv"):
        yield path, http.build_request("GET", path, params=period)
    for path in ("/open/indicators.json", "/open/indicators.csv"):
        yield path, http.build_request("GET", path)
        yield path, http.build_request("GET", path, params={"code": "online_dossiers_share"})
    yield "/open/catalog", http.build_request("GET", "/open/catalog")
    for headers in ({}, keyed):
        yield "/open/whoami", http.build_request("GET", "/open/whoami", headers=headers)


def test_no_open_endpoint_gives_out_personal_data_or_secrets(private_history: OpenCity) -> None:
    city = private_history
    with client(city) as http:
        described = {
            path
            for path in http.get("/openapi.json").json()["paths"]
            if path.startswith(("/ngsi-ld/", "/open/"))
        }
        walked: set[str] = set()
        found: list[str] = []
        answered = 0
        for template, request in open_requests(city, http):
            answer = http.send(request)
            assert answer.status_code == 200, f"{request.url}: {answer.text}"
            walked.add(template)
            found.extend(leaks(city, answer))
            answered += 1
    assert walked == described, f"open routes not walked: {sorted(described - walked)}"
    assert not found, "\n".join(found)
    assert answered > 40


def test_error_answers_give_out_nothing_either(private_history: OpenCity) -> None:
    city = private_history
    counter = f"urn:ngsi-ld:Device:{city.thing('hcc', 'counter-07')}"
    with client(city) as http:
        answers = [
            http.get(f"/ngsi-ld/v1/entities/{counter}"),
            http.get(f"/ngsi-ld/v1/temporal/entities/{counter}"),
            http.get("/ngsi-ld/v1/entities", params={"q": 'officerId=="x"'}),
            http.get("/open/kpis/daily.json", params={"site": "x"}),
            http.get("/open/whoami", headers={"X-API-Key": "not-a-key-of-ours"}),
            http.get("/open/indicators.json", params={"code": "hospital_bed_occupancy"}),
        ]
    assert [a.status_code for a in answers] == [404, 404, 200, 400, 401, 400]
    assert answers[2].json() == []  # no entity has an officer to compare
    for answer in answers:
        assert not leaks(city, answer), json.dumps(answer.json(), ensure_ascii=False)
