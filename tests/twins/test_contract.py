"""The MQTT device contract v1: topics, envelopes, bodies and their published JSON Schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from citytwin.cli.contract import schema_files
from twins.errors import ContractError, InvalidThingIdError
from twins.kinds import DeviceKind
from twins.payloads import MAX_PAYLOAD_BYTES, parse_payload
from twins.thing_id import ThingId, is_ditto_thing_id
from twins.topics import Channel, device_topic, parse_topic

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
COUNTER = ThingId.parse("thaibinh.hcc:counter-07")

GOOD: dict[tuple[DeviceKind, Channel], dict[str, Any]] = {
    (DeviceKind.COUNTER, Channel.TELEMETRY): {
        "ts": "2026-11-26T08:15:02.120+07:00",
        "seq": 4182,
        "data": {"waiting": 5, "officer_present": True, "serving": "A012"},
    },
    (DeviceKind.COUNTER, Channel.EVENT): {
        "ts": 1764119702120,
        "seq": 4183,
        "data": {
            "type": "service_finished",
            "ticket": "A012",
            "service": "land",
            "duration_s": 312.5,
        },
    },
    (DeviceKind.SENSOR, Channel.TELEMETRY): {
        "ts": "2026-11-26T01:00:00Z",
        "seq": 1,
        "data": {"water_level_cm": 182.4, "temperature_c": 24.1},
    },
    (DeviceKind.MEETING_ROOM, Channel.EVENT): {
        "seq": 9,
        "data": {
            "type": "booking_started",
            "booking": "b-17",
            "title": "Giao ban",
            "attendees": 12,
        },
    },
    (DeviceKind.CAMERA, Channel.STATE): {
        "seq": 2,
        "data": {
            "stream_url": "rtsp://127.0.0.1:8554/cam-01",
            "width": 320,
            "height": 240,
            "fps": 5,
        },
    },
    (DeviceKind.KIOSK, Channel.STATUS): {"data": {"state": "offline"}},
}


@pytest.mark.parametrize(("kind", "channel"), list(GOOD))
def test_good_messages_pass_both_the_models_and_the_published_schemas(
    kind: DeviceKind, channel: Channel
) -> None:
    payload = GOOD[(kind, channel)]
    message = parse_payload(COUNTER, kind, channel, json.dumps(payload).encode())
    assert message.seq == payload.get("seq")
    name = f"{kind.value}.{channel.value.replace('/', '-')}.schema.json"
    jsonschema.validate(payload, json.loads((SCHEMAS / name).read_text()))


def test_rfc3339_and_epoch_ms_mean_the_same_instant() -> None:
    as_text = parse_payload(
        COUNTER,
        DeviceKind.KIOSK,
        Channel.TELEMETRY,
        b'{"ts":"2026-11-26T08:00:00+07:00","seq":1,"data":{"queue_length":3}}',
    )
    as_ms = parse_payload(
        COUNTER,
        DeviceKind.KIOSK,
        Channel.TELEMETRY,
        b'{"ts":1795654800000,"seq":1,"data":{"queue_length":3}}',
    )
    assert as_text.ts_ms == as_ms.ts_ms == 1795654800000


@pytest.mark.parametrize(
    ("payload", "reason", "says"),
    [
        (b"not json", "not_json", "is not valid JSON"),
        (b'{"seq":1,"data":{"waiting":NaN,"officer_present":true}}', "not_finite", "data.waiting"),
        (b'{"seq":1,"data":{"waiting":-1,"officer_present":true}}', "schema", "data.waiting"),
        (b'{"seq":1,"data":{"waiting":1,"officer_present":true,"x":1}}', "schema", "data.x"),
        (b'{"data":{"waiting":1,"officer_present":true}}', "schema", "seq is required"),
        (
            b'{"seq":1,"ts":"26/11/2026","data":{"waiting":1,"officer_present":true}}',
            "schema",
            "ts",
        ),
        (
            b'{"seq":1,"ts":"2026-11-26T08:00:00","data":{"waiting":1,"officer_present":true}}',
            "schema",
            "no UTC offset",
        ),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "too_large", "bytes"),
    ],
)
def test_bad_payloads_say_what_and_where(payload: bytes, reason: str, says: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_payload(COUNTER, DeviceKind.COUNTER, Channel.TELEMETRY, payload)
    assert caught.value.reason == reason
    assert says in str(caught.value)
    assert "thaibinh.hcc:counter-07 (counter) on telemetry" in str(caught.value)


@pytest.mark.parametrize(
    ("payload", "reason", "says"),
    [
        (b'{"seq":"300001","data":{"waiting":1,"officer_present":true}}', "schema", "seq: "),
        (b'{"seq":300002.0,"data":{"waiting":1,"officer_present":true}}', "schema", "seq: "),
        (b'{"seq":1,"data":{"waiting":"4","officer_present":true}}', "schema", "data.waiting: "),
        (b'{"seq":1,"data":{"waiting":4.0,"officer_present":true}}', "schema", "data.waiting: "),
        (b'{"seq":1,"data":{"waiting":1,"officer_present":1}}', "schema", "data.officer_present"),
        (b'{"seq":1,"data":{"waiting":1,"officer_present":"true"}}', "schema", "officer_present"),
        (b'{"seq":1,"ts":1.7e12,"data":{"waiting":1,"officer_present":true}}', "schema", "ts: "),
        (
            b'{"seq":1,"seq":2,"data":{"waiting":1,"officer_present":true}}',
            "schema",
            "seq: key appears twice",
        ),
        (
            b'{"seq":1,"ts":"2026-11-26T08:00:00+07:00",'
            b'"data":{"waiting":1,"waiting":9,"officer_present":true}}',
            "schema",
            "data.waiting: key appears twice",
        ),
    ],
)
def test_types_are_strict_and_a_refusal_names_the_field(
    payload: bytes, reason: str, says: str
) -> None:
    with pytest.raises(ContractError) as caught:
        parse_payload(COUNTER, DeviceKind.COUNTER, Channel.TELEMETRY, payload)
    assert caught.value.reason == reason
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"water_level_cm": "12.5"}, "data.water_level_cm: Input should be a valid number"),
        ({"water_level_cm": True}, "data.water_level_cm: Input should be a valid number"),
        ({"noise_dba": None, "pm25_ugm3": "7"}, "data.pm25_ugm3: Input should be a valid number"),
    ],
)
def test_a_number_field_takes_json_numbers_only(data: dict[str, Any], says: str) -> None:
    payload = json.dumps({"seq": 1, "data": data}).encode()
    with pytest.raises(ContractError, match=re.escape(says)) as caught:
        parse_payload(COUNTER, DeviceKind.SENSOR, Channel.TELEMETRY, payload)
    assert caught.value.reason == "schema"


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_finite_not_schema(value: bytes) -> None:
    payload = b'{"seq":1,"data":{"temperature_c":' + value + b"}}"
    with pytest.raises(ContractError, match=r"data\.temperature_c") as caught:
        parse_payload(COUNTER, DeviceKind.SENSOR, Channel.TELEMETRY, payload)
    assert caught.value.reason == "not_finite"


def test_integer_json_is_a_number_and_colons_in_strings_are_no_repeated_keys() -> None:
    message = parse_payload(
        COUNTER,
        DeviceKind.CAMERA,
        Channel.STATE,
        b'{"ts":"2026-11-26T08:00:00+07:00","seq":7,'
        b'"data":{"stream_url":"rtsp://a:b@127.0.0.1:8554/x:y","fps":12}}',
    )
    assert message.data.model_dump(exclude_none=True) == {
        "stream_url": "rtsp://a:b@127.0.0.1:8554/x:y",
        "fps": 12.0,
    }


def test_topics_round_trip_and_reject_strangers() -> None:
    for channel in Channel:
        topic = device_topic(COUNTER, channel)
        assert parse_topic(topic).thing_id == COUNTER
        assert parse_topic(topic).channel is channel
    for bad in (
        "citytwin/thaibinh.hcc/counter-07/telemetry/extra",
        "citytwin/$platform/events/counter/x/y",
        "other/thaibinh.hcc/counter-07/telemetry",
        "citytwin/thaibinh.hcc/counter-07/shout",
    ):
        with pytest.raises(ContractError, match="is not 'citytwin/"):
            parse_topic(bad)


@pytest.mark.parametrize(
    "bad", ["nocolon", "1ns:dev", "ns:dev/1", "ns:dev+1", "ns:", ":dev", "ns:a:b"]
)
def test_thing_ids_follow_ditto_and_stay_mqtt_safe(bad: str) -> None:
    with pytest.raises(InvalidThingIdError, match=re.escape(repr(bad))):
        ThingId.parse(bad)


def test_every_citytwin_thing_id_is_a_ditto_thing_id() -> None:
    assert is_ditto_thing_id(str(COUNTER))
    assert COUNTER.mqtt_username == "thaibinh.hcc/counter-07"


def test_published_schemas_match_the_models() -> None:
    """docs/schemas is regenerated with `citytwin contract schemas docs/schemas`."""
    published = {path.name: path.read_text() for path in SCHEMAS.glob("*.schema.json")}
    assert published == schema_files()


@pytest.mark.parametrize(
    "sneaky", ["thaibinh.hcc:counter-07\n", "thaibinh.hcc\n:counter-07", "thaibinh.hcc:counter 07"]
)
def test_a_trailing_newline_does_not_make_a_second_identical_id(sneaky: str) -> None:
    assert not is_ditto_thing_id(sneaky.replace(" ", "\n"))
    with pytest.raises(InvalidThingIdError):
        ThingId.parse(sneaky)
    with pytest.raises(ContractError):
        parse_topic("citytwin/thaibinh.hcc/counter-07/telemetry\n")
