"""Bad input is dead-lettered with its reason, counted, and nothing of it is written."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import orjson
import pytest

from ingest.models import DeadLetter
from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, Watcher, influx_rows, wait_until
from tests.services import Broker, Influx

pytestmark = pytest.mark.timeout(120)


def test_bad_messages_go_to_the_dead_letter_topic_with_a_reason(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor"), ("ghost", "sensor")], twins=False)
    thing = f"{site.namespace}:pm-01"
    watcher = Watcher(broker, f"citytwin/$platform/deadletter/{site.namespace}/#")
    # "ghost" has broker credentials but ingest's registry no longer lists it
    site.registry_path.write_text(
        site.registry_path.read_text().replace("  - kind: sensor\n    name: ghost\n", "")
    )
    ingest = make_ingest(site, twins=False)
    device = Device(broker, thing)
    ghost = Device(broker, f"{site.namespace}:ghost")
    now = int(time.time() * 1000)
    bad = {
        "not_json": b"{temperature",
        "schema": orjson.dumps({"seq": 1, "data": {"temperature_c": "hot"}}),
        "too_large": orjson.dumps({"seq": 1, "data": {"temperature_c": 1.0}, "pad": "x" * 20_000}),
        "not_finite": b'{"seq": 1, "data": {"temperature_c": NaN}}',
        "ts_future": orjson.dumps({"seq": 1, "ts": now + 86_400_000, "data": {"noise_dba": 50}}),
        "ts_past": orjson.dumps({"seq": 1, "ts": now - 30 * 86_400_000, "data": {"noise_dba": 50}}),
    }
    for payload in bad.values():
        device.publish("telemetry", payload).wait_for_publish(10)
    device.publish("telemetry", b"\xff\xfe binary").wait_for_publish(10)
    ghost.send("telemetry", {"noise_dba": 40.0}).wait_for_publish(10)
    device.send("telemetry", {"noise_dba": 41.5}, seq=100).wait_for_publish(10)

    letters = wait_until(lambda: len(watcher.messages) >= 8 and watcher.json(), "8 dead letters")
    for _, body in letters:
        DeadLetter.model_validate(body)  # the documented shape, field for field
    by_reason = {body["reason"]: (topic, body) for topic, body in letters}
    assert set(by_reason) == {*bad, "unknown_device"}
    topic, body = by_reason["schema"]
    assert topic == f"citytwin/$platform/deadletter/{site.namespace}/pm-01"
    assert "temperature_c" in body["detail"]
    assert body["topic"] == f"citytwin/{site.namespace}/pm-01/telemetry"
    assert orjson.loads(body["payload"]) == orjson.loads(bad["schema"])
    assert by_reason["unknown_device"][0].endswith(f"{site.namespace}/ghost")
    binary = [b for _, b in letters if b["payload_encoding"] == "base64"]
    assert base64.b64decode(binary[0]["payload"]) == b"\xff\xfe binary"
    assert binary[0]["reason"] == "not_json"

    rows = wait_until(
        lambda: influx_rows(influx, site.database, "SELECT * FROM sensor_telemetry"),
        "the good point",
    )
    assert [(row["device"], row["noise_dba"]) for row in rows] == [("pm-01", 41.5)]
    assert ingest.metric("citytwin_ingest_deadletters_total", device=thing, reason="not_json") == 2
    assert ingest.metric("citytwin_ingest_deadletters_total", device=thing, reason="ts_past") == 1
    assert (
        ingest.metric(
            "citytwin_ingest_deadletters_total", device="_unknown", reason="unknown_device"
        )
        == 1
    )
    device.close()
    ghost.close()
    watcher.close()


def test_values_of_the_wrong_json_type_are_dead_letters_naming_the_field(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    watcher = Watcher(broker, f"citytwin/$platform/deadletter/{site.namespace}/#")
    make_ingest(site, twins=False)
    device = Device(broker, f"{site.namespace}:pm-01")
    bad = {
        b'{"seq": "300001", "data": {"noise_dba": 40}}': "seq: Input should be a valid integer",
        b'{"seq": 300002.0, "data": {"noise_dba": 40}}': "seq: Input should be a valid integer",
        b'{"seq": 3, "data": {"water_level_cm": "12.5"}}': (
            "data.water_level_cm: Input should be a valid number"
        ),
        b'{"seq": 4, "data": {"water_level_cm": true}}': (
            "data.water_level_cm: Input should be a valid number"
        ),
        b'{"seq": 5, "data": {"noise_dba": 40, "noise_dba": 90}}': (
            "data.noise_dba: key appears twice"
        ),
    }
    for payload in bad:
        device.publish("telemetry", payload).wait_for_publish(10)
    device.send("telemetry", {"water_level_cm": 12}, seq=6).wait_for_publish(10)

    letters = wait_until(lambda: len(watcher.messages) >= len(bad) and watcher.json(), "letters")
    assert sorted((body["reason"], body["payload"].encode()) for _, body in letters) == sorted(
        ("schema", payload) for payload in bad
    )
    for _, body in letters:
        assert bad[body["payload"].encode()] in body["detail"]
    rows = wait_until(
        lambda: influx_rows(influx, site.database, "SELECT water_level_cm FROM sensor_telemetry"),
        "the good point",
    )
    assert [row["water_level_cm"] for row in rows] == [12.0]
    device.close()
    watcher.close()


def test_a_flood_of_dead_letters_is_logged_once_but_counted_and_published_in_full(
    broker: Broker,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    thing = f"{site.namespace}:pm-01"
    watcher = Watcher(broker, f"citytwin/$platform/deadletter/{site.namespace}/#")
    ingest = make_ingest(site, twins=False)
    device = Device(broker, thing)
    infos = [device.publish("telemetry", b"{not json %d" % i) for i in range(50)]
    for info in infos:
        info.wait_for_publish(10)
    wait_until(lambda: len(watcher.messages) >= 50, "50 dead letters")
    wait_until(
        lambda: (
            ingest.metric("citytwin_ingest_deadletters_total", device=thing, reason="not_json")
            == 50
        ),
        "50 counted",
    )
    logged = [line for line in ingest.tail().splitlines() if "dead letter" in line]
    assert len(logged) == 1, logged
    assert thing in logged[0]
    device.close()
    watcher.close()
