"""Citizen reports through the real HTTP app, its embedded twin service and alert store:
a report with a photo from received to resolved with its alert, bad reports refused with
nothing kept, repeats answered with the first report, and systems kept to their own."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import ExifTags, Image
from pydantic import ValidationError

from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import load_secrets
from tests.citytwin.alert_app import OPERATOR, OPERATOR_TOKEN, VIEWER, AlertApp, running_app
from tests.services import Influx

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(120)]

DATABASE = "reportsapi"
APP_TOKEN = "citizen-app-token-0123456789"
EFORM_TOKEN = "e-form-system-token-9876543210"
CITIZEN_APP = {"Authorization": f"Bearer {APP_TOKEN}"}
EFORM = {"Authorization": f"Bearer {EFORM_TOKEN}"}
HCC = {"lat": "20.4463", "lon": "106.3366"}
"""The provincial public-service centre, in Thái Bình city."""
HOME = (20.4501, 106.3412)
"""Where the citizen's phone was: written into the photo's EXIF, never kept."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[AlertApp]:
    influx.create_database(DATABASE)
    reports = {
        "systems": {"citizen-app": {"token": APP_TOKEN}, "e-form": {"token": EFORM_TOKEN}},
        "max_photos": 3,
        "max_photo_bytes": 2 * 1024 * 1024,
    }
    with running_app(
        tmp_path_factory.mktemp("reports-api"), influx, DATABASE, reports=reports
    ) as running:
        yield running


@pytest_asyncio.fixture
async def http(app: AlertApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app.url, timeout=60) as client:
        yield client


def photo_with_gps() -> bytes:
    """A phone's JPEG: a picture with the GPS position and the camera in its EXIF."""
    image = Image.new("RGB", (320, 240), (120, 90, 60))
    for x in range(0, 320, 8):
        image.putpixel((x, 120), (250, 250, 250))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (20.0, 27.0, 0.36),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (106.0, 20.0, 28.32),
    }
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def gps_of(jpeg: bytes) -> dict[int, Any]:
    with Image.open(io.BytesIO(jpeg)) as image:
        return dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


def form(key: str, **fields: str) -> dict[str, str]:
    return {
        "category": "road",
        **HCC,
        "text": "Ổ gà lớn trước cổng Trung tâm Phục vụ hành chính công",
        "client_key": key,
        **fields,
    }


def stored_photos(app: AlertApp) -> list[str]:
    root = StatePaths(app.settings.state_dir).report_photos
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def citizen_alerts(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await http.get("/api/alerts", params={"rule_type": "citizen_report"}, auth=VIEWER)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["alerts"]
    return found


async def all_reports(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await http.get("/api/reports", auth=VIEWER)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["reports"]
    return found


async def test_a_report_with_a_photo_goes_from_received_to_resolved_with_its_alert(
    app: AlertApp, http: httpx.AsyncClient, unique_name: str
) -> None:
    sent = photo_with_gps()
    assert gps_of(sent), "the test photo carries no GPS position"
    answer = await http.post(
        "/api/reports",
        data=form(unique_name),
        files={"photo": ("pothole.jpg", sent, "image/jpeg")},
        headers=CITIZEN_APP,
    )
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["state"] == "received"
    assert report["category_vi"] == "Hư hỏng đường, cầu"
    assert report["system"] == "citizen-app"
    report_id = report["id"]

    # the twin of kind report, in the twin service, as citytwin's account reads it
    secrets = load_secrets(app.settings, StatePaths(app.settings.state_dir), create=False)
    twin = await http.get(
        f"/api/2/things/{report_id}", auth=(app.settings.twins.username, secrets.twins)
    )
    assert twin.status_code == 200, twin.text
    assert twin.json()["attributes"]["kind"] == "report"
    assert twin.json()["features"]["lifecycle"]["properties"]["state"] == "received"

    # the photo, served and on disk: re-encoded, no GPS, readable by citytwin alone
    served = await http.get(report["photos"][0], headers=CITIZEN_APP)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert gps_of(served.content) == {}
    assert b"PhoneMaker" not in served.content
    files = list(StatePaths(app.settings.state_dir).report_photos.rglob("*.jpg"))
    assert len(files) == 1
    assert files[0].read_bytes() == served.content
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (320, 240)

    # the operator's alert
    alert_id = report["alert_id"]
    alert = (await http.get(f"/api/alerts/{alert_id}", auth=VIEWER)).json()
    assert alert["rule_type"] == "citizen_report"
    assert alert["state"] == "open"
    assert "Ổ gà lớn" in alert["message_vi"]

    assigned = await http.post(
        f"/api/reports/{report_id}/assign", json={"assignee": "doi-giao-thong"}, auth=OPERATOR
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["state"] == "assigned"
    alert = (await http.get(f"/api/alerts/{alert_id}", auth=VIEWER)).json()
    assert alert["state"] == "acknowledged"
    assert alert["assignee"] == "doi-giao-thong"

    unanswered = await http.post(f"/api/reports/{report_id}/resolve", json={}, auth=OPERATOR)
    assert unanswered.status_code == 422
    assert unanswered.json()["field"] == "reply"

    reply = "Đã vá ổ gà ngày 8/12. Cảm ơn ông/bà đã phản ánh."
    resolved = await http.post(
        f"/api/reports/{report_id}/resolve", json={"reply": reply}, auth=OPERATOR
    )
    assert resolved.status_code == 200, resolved.text
    alert = (await http.get(f"/api/alerts/{alert_id}", auth=VIEWER)).json()
    assert alert["state"] == "resolved"

    # the citizen app reads the outcome of its report
    followed = await http.get(f"/api/reports/{report_id}", headers=CITIZEN_APP)
    assert followed.status_code == 200
    assert followed.json()["state"] == "resolved"
    assert followed.json()["reply"] == reply
    again = await http.post(f"/api/reports/{report_id}/reply", json={"reply": "x"}, auth=OPERATOR)
    assert again.status_code == 409
    assert again.json()["state"] == "resolved"

    summary = (await http.get("/api/reports/summary", auth=VIEWER)).json()
    assert summary["by_state"]["resolved"] >= 1
    assert summary["by_category"]["road"] >= 1
    assert summary["resolve_median_minutes"] is not None


TWENTY_FIVE_MB = b"\xff\xd8\xff\xe0" + bytes(25 * 1024 * 1024)
NOT_AN_IMAGE = b"%PDF-1.7 not a photo"


@pytest.mark.parametrize(
    ("case", "fields", "photo", "status", "field"),
    [
        ("no location", {"lat": "", "lon": ""}, None, 422, "lat"),
        ("outside the province (Hà Nội)", {"lat": "21.0285", "lon": "105.8542"}, None, 422, "lat"),
        ("a category not on the list", {"category": "ufo"}, None, 422, "category"),
        ("a text too short", {"text": "ổ gà"}, None, 422, "text"),
        ("a 25 MB photo", {}, ("big.jpg", TWENTY_FIVE_MB, "image/jpeg"), 413, None),
        ("a file that is no image", {}, ("p.jpg", NOT_AN_IMAGE, "image/jpeg"), 415, "photo"),
    ],
)
async def test_a_bad_report_is_refused_with_its_field_named_and_nothing_kept(
    app: AlertApp,
    http: httpx.AsyncClient,
    unique_name: str,
    case: str,
    fields: dict[str, str],
    photo: tuple[str, bytes, str] | None,
    status: int,
    field: str | None,
) -> None:
    before = (await all_reports(http), stored_photos(app), await citizen_alerts(http))
    good = ("ok.jpg", photo_with_gps(), "image/jpeg")
    files = [("photo", good)] + ([("photo", photo)] if photo else [])
    answer = await http.post(
        "/api/reports", data=form(unique_name, **fields), files=files, headers=CITIZEN_APP
    )
    assert answer.status_code == status, (case, answer.text)
    refusal = answer.json()
    if field is not None:
        assert refusal["field"] == field, refusal
        assert refusal["message"].startswith(field) or field == "photo", refusal
    assert refusal["where"] == "POST /api/reports"
    assert (await all_reports(http), stored_photos(app), await citizen_alerts(http)) == before


async def test_more_photos_than_allowed_are_refused_naming_the_field(
    app: AlertApp, http: httpx.AsyncClient, unique_name: str
) -> None:
    one = ("p.jpg", photo_with_gps(), "image/jpeg")
    before = stored_photos(app)
    for count in (4, 9):  # max_photos is 3
        answer = await http.post(
            "/api/reports",
            data=form(unique_name),
            files=[("photo", one)] * count,
            headers=CITIZEN_APP,
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "photo"
        assert "3" in answer.json()["message"]
    assert stored_photos(app) == before
    assert [r for r in await all_reports(http) if r["client_key"] == unique_name] == []


async def test_the_same_client_key_gives_the_same_report_and_other_content_a_409(
    http: httpx.AsyncClient, unique_name: str
) -> None:
    first = await http.post("/api/reports", data=form(unique_name), headers=CITIZEN_APP)
    assert first.status_code == 201, first.text
    repeat = await http.post("/api/reports", data=form(unique_name), headers=CITIZEN_APP)
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["id"] == first.json()["id"]
    assert repeat.json()["alert_id"] == first.json()["alert_id"]
    mine = [r for r in await all_reports(http) if r["client_key"] == unique_name]
    assert len(mine) == 1

    changed = await http.post(
        "/api/reports", data=form(unique_name, category="lighting"), headers=CITIZEN_APP
    )
    assert changed.status_code == 409, changed.text
    assert changed.json()["field"] == "client_key"
    assert unique_name in changed.json()["message"]

    other_system = await http.post("/api/reports", data=form(unique_name), headers=EFORM)
    assert other_system.status_code == 201
    assert other_system.json()["id"] != first.json()["id"]


async def test_a_reporting_system_cannot_act_as_operator_nor_read_another_systems_report(
    http: httpx.AsyncClient, unique_name: str
) -> None:
    sent = await http.post("/api/reports", data=form(unique_name), headers=CITIZEN_APP)
    assert sent.status_code == 201, sent.text
    report_id = sent.json()["id"]

    assign = await http.post(
        f"/api/reports/{report_id}/assign", json={"assignee": "me"}, headers=CITIZEN_APP
    )
    assert assign.status_code == 403
    assert "citizen-app" in assign.json()["message"]
    resolve = await http.post(
        f"/api/reports/{report_id}/resolve", json={"reply": "done"}, headers=CITIZEN_APP
    )
    assert resolve.status_code == 403
    summary = await http.get("/api/reports/summary", headers=CITIZEN_APP)
    assert summary.status_code == 403
    alerts = await http.get("/api/alerts", headers=CITIZEN_APP)
    assert alerts.status_code == 401

    assert (await http.get(f"/api/reports/{report_id}", headers=EFORM)).status_code == 404
    theirs = (await http.get("/api/reports", headers=EFORM)).json()["reports"]
    assert report_id not in {r["id"] for r in theirs}
    assert (await http.get(f"/api/reports/{report_id}", auth=VIEWER)).status_code == 200

    as_operator = await http.post(
        "/api/reports",
        data=form(unique_name + "x"),
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    )
    assert as_operator.status_code == 403
    state = (await http.get(f"/api/reports/{report_id}", headers=CITIZEN_APP)).json()["state"]
    assert state == "received"


async def test_a_reporting_systems_token_may_not_also_be_an_api_token() -> None:
    shared = "one-token-for-two-systems-0123"
    with pytest.raises(ValidationError, match=r"reports\.systems\.citizen-app\.token is also"):
        CitytwinSettings.model_validate(
            {
                "api": {"tokens": {"queue": {"token": shared, "role": "operator"}}},
                "reports": {"systems": {"citizen-app": {"token": shared}}},
            }
        )
