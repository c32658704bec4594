"""Device messages through real Mosquitto and ingest into InfluxDB, the twins and MQTT."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import (
    Device,
    IngestProcess,
    Watcher,
    count_points,
    influx_rows,
    wait_until,
    write_registry,
)
from tests.services import Broker, Influx
from twins.events import EventBatch, EventChannel, NormalizedEvent, TsSource
from twins.kinds import DeviceKind

pytestmark = pytest.mark.timeout(120)


def test_telemetry_lands_in_influx_with_tags_and_fields(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("counter-07", "counter"), ("pm-01", "sensor")], twins=False)
    make_ingest(site, twins=False)
    counter = Device(broker, f"{site.namespace}:counter-07")
    sensor = Device(broker, f"{site.namespace}:pm-01")
    ts = int(time.time() * 1000) - 5000
    counter.send("telemetry", {"waiting": 4, "officer_present": True, "serving": "A012"}, ts=ts)
    sensor.send("telemetry", {"pm25_ugm3": 35.5, "temperature_c": 29}, ts=ts).wait_for_publish(10)

    rows = wait_until(
        lambda: influx_rows(influx, site.database, 'SELECT * FROM "counter_telemetry"'),
        "the counter point",
    )
    assert rows == [
        {
            "time": ts,
            "device": "counter-07",
            "kind": "counter",
            "namespace": site.namespace,
            "sector": "public_administration",
            "site": site.namespace,
            "officer_present": True,
            "serving": "A012",
            "waiting": 4,
            "seq": 1,
        }
    ]
    sensor_rows = wait_until(
        lambda: influx_rows(
            influx,
            site.database,
            'SELECT pm25_ugm3, temperature_c, humidity_pct FROM "sensor_telemetry"',
        ),
        "the sensor point",
    )
    assert sensor_rows == [
        {"time": ts, "pm25_ugm3": 35.5, "temperature_c": 29.0, "humidity_pct": None}
    ]
    counter.close()
    sensor.close()


def test_events_status_twin_and_normalized_events(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("counter-07", "counter")])
    thing = f"{site.namespace}:counter-07"
    watcher = Watcher(broker, f"citytwin/$platform/events/counter/{site.namespace}/#")
    make_ingest(site)
    device = Device(broker, thing)
    device.publish("status", b'{"data": {"state": "online"}}', retain=True)
    device.send("event", {"type": "officer_login", "officer": 'Nguyễn Văn An, "tổ 2"'})
    device.send("telemetry", {"waiting": 9, "officer_present": True}).wait_for_publish(10)

    with twin_service.client() as client:
        twin = wait_until(
            lambda: (
                (t := client.get(thing))["features"]["queue"]["properties"]["waiting"] == 9 and t
            ),
            "the twin to show 9 waiting",
        )
    assert twin["features"]["staff"]["properties"]["officerId"] == 'Nguyễn Văn An, "tổ 2"'
    assert twin["features"]["staff"]["properties"]["present"] is True
    assert twin["features"]["connectivity"]["properties"]["online"] is True
    assert twin["features"]["service"]["desiredProperties"] == {"open": False}

    events = wait_until(
        lambda: influx_rows(influx, site.database, 'SELECT * FROM "counter_event"'), "the event"
    )
    assert events[0]["type"] == "officer_login"
    assert events[0]["officer"] == 'Nguyễn Văn An, "tổ 2"'
    availability = wait_until(
        lambda: influx_rows(influx, site.database, 'SELECT * FROM "device_availability"'),
        "the availability point",
    )
    assert availability[0]["online"] == 1
    assert availability[0]["state"] == "online"

    normalized = wait_until(
        lambda: (
            [e for _, body in watcher.json() for e in body["events"]]
            if len([e for _, body in watcher.json() for e in body["events"]]) >= 3
            else None
        ),
        "three normalized events",
    )
    assert [(e["channel"], e["seq"]) for e in normalized] == [
        ("status", None),
        ("event", 1),
        ("telemetry", 2),
    ]
    assert normalized[2]["data"] == {"waiting": 9, "officer_present": True}
    assert normalized[2]["site"] == site.namespace
    assert normalized[0]["ts_source"] == "server"
    # every message is an EventBatch, the schema analytics validates with
    typed = [
        event for _, raw in watcher.messages for event in EventBatch.model_validate_json(raw).events
    ]
    assert [(e.channel, e.kind, e.ts_source) for e in typed[:3]] == [
        (EventChannel.STATUS, DeviceKind.COUNTER, TsSource.SERVER),
        (EventChannel.EVENT, DeviceKind.COUNTER, TsSource.DEVICE),
        (EventChannel.TELEMETRY, DeviceKind.COUNTER, TsSource.DEVICE),
    ]
    device.close()
    watcher.close()


def test_duplicates_are_dropped_and_gaps_counted(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("kiosk-1", "kiosk")], twins=False)
    events = Watcher(broker, f"citytwin/$platform/events/kiosk/{site.namespace}/#")
    ingest = make_ingest(site, twins=False)
    device = Device(broker, f"{site.namespace}:kiosk-1")
    ts = int(time.time() * 1000)
    for seq in (1, 2, 2, 3, 7, 3):
        device.send("telemetry", {"queue_length": seq}, seq=seq, ts=ts + seq).wait_for_publish(10)

    thing = f"{site.namespace}:kiosk-1"
    wait_until(
        lambda: ingest.metric("citytwin_ingest_duplicates_total", device=thing) == 2, "2 dups"
    )
    assert ingest.metric("citytwin_ingest_seq_missing_total", device=thing) == 3

    def kiosk_points() -> list[dict[str, object]] | None:
        found = influx_rows(influx, site.database, 'SELECT seq FROM "kiosk_telemetry"')
        return found if len(found) >= 4 else None

    rows = wait_until(kiosk_points, "the four kiosk points")
    assert [row["seq"] for row in rows] == [1, 2, 3, 7]
    quality = wait_until(
        lambda: influx_rows(
            influx,
            site.database,
            'SELECT sum(duplicates) AS d, sum(missing) AS m FROM "device_sequence"',
        ),
        "sequence quality points",
    )
    assert (quality[0]["d"], quality[0]["m"]) == (2, 3)

    def quality_events() -> list[NormalizedEvent] | None:
        found = [
            event
            for _, raw in events.messages
            for event in EventBatch.model_validate_json(raw).events
            if event.channel is EventChannel.QUALITY
        ]
        total = sum(int(str(event.data["duplicates"])) for event in found)
        return found if total >= 2 else None

    reported = wait_until(quality_events, "quality events")
    assert sum(int(str(e.data["missing"])) for e in reported) == 3
    assert {(e.thing_id, e.ts_source, e.seq) for e in reported} == {(thing, TsSource.SERVER, None)}
    device.close()
    events.close()


def test_silent_device_is_marked_stale_in_twin_and_series(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("cam-1", "camera")])
    thing = f"{site.namespace}:cam-1"
    make_ingest(site, stale_after_seconds=1.0)
    device = Device(broker, thing)
    device.send("telemetry", {"fps": 15.0, "bitrate_kbps": 2048.0}).wait_for_publish(10)
    with twin_service.client() as client:
        wait_until(
            lambda: client.get(thing, "features/connectivity/properties").get("stale") is True,
            "the twin to be marked stale",
        )
        rows = wait_until(
            lambda: influx_rows(
                influx, site.database, "SELECT state, online FROM device_availability"
            ),
            "the stale availability point",
        )
        assert rows[-1]["state"] == "stale"
        assert rows[-1]["online"] == 0
        device.send("telemetry", {"fps": 14.0, "bitrate_kbps": 2000.0}).wait_for_publish(10)
        wait_until(
            lambda: client.get(thing, "features/connectivity/properties").get("stale") is False,
            "the twin to be fresh again",
        )
    device.close()


def test_a_rebooted_device_restarting_its_seq_loses_nothing(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    make_ingest(site, twins=False)
    device = Device(broker, f"{site.namespace}:pm-01")
    start = int(time.time() * 1000) - 60_000
    infos = [
        device.send("telemetry", {"noise_dba": 40.0}, seq=seq, ts=start + seq)
        for seq in range(1, 301)
    ]
    for info in infos:
        info.wait_for_publish(10)
    # reboot: a new birth, then the counter starts again at 1 (later ts)
    device.publish("status", b'{"data": {"state": "online"}}').wait_for_publish(10)
    rebooted = start + 10_000
    for seq in (1, 2, 3):
        device.send("telemetry", {"noise_dba": 50.0}, seq=seq, ts=rebooted + seq).wait_for_publish(
            10
        )
    wait_until(lambda: count_points(influx, site.database, "sensor_telemetry") >= 303, "303 points")
    rows = influx_rows(
        influx, site.database, 'SELECT seq FROM "sensor_telemetry" WHERE noise_dba = 50.0'
    )
    assert [row["seq"] for row in rows] == [1, 2, 3]
    device.close()


def test_a_restart_without_a_birth_is_recognised_by_its_newer_ts(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    make_ingest(site, twins=False)
    device = Device(broker, f"{site.namespace}:pm-01")
    start = int(time.time() * 1000) - 60_000
    for seq in range(1, 51):
        device.send("telemetry", {"noise_dba": 40.0}, seq=seq, ts=start + seq)
    # the same seq again with the same ts is a redelivery; with a newer ts, a restart
    device.send("telemetry", {"noise_dba": 40.0}, seq=50, ts=start + 50)
    for seq in (1, 2):
        device.send("telemetry", {"noise_dba": 50.0}, seq=seq, ts=start + 10_000 + seq)
    device.send("telemetry", {"noise_dba": 50.0}, seq=3, ts=start + 10_003).wait_for_publish(10)
    wait_until(lambda: count_points(influx, site.database, "sensor_telemetry") >= 53, "53 points")
    rows = influx_rows(
        influx, site.database, 'SELECT seq FROM "sensor_telemetry" WHERE noise_dba = 50.0'
    )
    assert [row["seq"] for row in rows] == [1, 2, 3]
    assert count_points(influx, site.database, "sensor_telemetry") == 53
    device.close()


def test_a_device_provisioned_while_ingest_runs_is_taken_at_once(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    # the periodic registry check runs only every 10 minutes here: the first message of
    # the new device must make ingest look at the file before refusing it
    ingest = make_ingest(site, twins=False, stale_check_seconds=600)
    registry = write_registry(
        site.registry_path, site.namespace, [("pm-01", "sensor"), ("pm-02", "sensor")]
    )
    broker.provision(registry)
    device = Device(broker, f"{site.namespace}:pm-02")
    device.send("telemetry", {"noise_dba": 42.0}).wait_for_publish(10)
    rows = wait_until(
        lambda: influx_rows(influx, site.database, 'SELECT noise_dba FROM "sensor_telemetry"'),
        "the new device's point",
    )
    assert [row["noise_dba"] for row in rows] == [42.0]
    assert f"dead letter (unknown_device) from {site.namespace}:pm-02" not in ingest.tail()
    device.close()


def test_a_broken_or_missing_registry_file_keeps_the_last_good_one(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("pm-01", "sensor")], twins=False)
    ingest = make_ingest(site, twins=False, stale_check_seconds=0.1)
    device = Device(broker, f"{site.namespace}:pm-01")
    good = site.registry_path.read_text()
    site.registry_path.write_text(good + "  - {name: [broken\n")
    wait_until(lambda: "not reloaded" in ingest.tail(), "the bad registry to be logged")
    device.send("telemetry", {"noise_dba": 43.0}).wait_for_publish(10)
    site.registry_path.unlink()
    wait_until(lambda: "is missing" in ingest.tail(), "the missing registry to be logged")
    device.send("telemetry", {"noise_dba": 44.0}).wait_for_publish(10)
    rows = wait_until(
        lambda: (
            found
            if len(
                found := influx_rows(
                    influx, site.database, 'SELECT noise_dba FROM "sensor_telemetry"'
                )
            )
            >= 2
            else None
        ),
        "both points",
    )
    assert [row["noise_dba"] for row in rows] == [43.0, 44.0]
    assert "registry.yaml" in ingest.tail()
    assert ingest.process is not None
    assert ingest.process.poll() is None
    device.close()


def test_a_backlog_of_one_device_reaches_analytics_in_messages_the_broker_takes(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    """3,000 queued messages of one sensor: one batch, more events than one MQTT packet."""
    site = make_site([("pm-01", "sensor")], twins=False)
    watcher = Watcher(broker, f"citytwin/$platform/events/sensor/{site.namespace}/#")
    ingest = make_ingest(site, twins=False, batch_size=5000, batch_seconds=2.0)
    ingest.stop()  # its persistent session keeps what comes meanwhile
    device = Device(broker, f"{site.namespace}:pm-01")
    start = int(time.time() * 1000) - 60_000
    infos = [
        device.send("telemetry", {"noise_dba": 40.0}, seq=seq, ts=start + seq)
        for seq in range(1, 3001)
    ]
    for info in infos:
        info.wait_for_publish(10)
    ingest.start()

    def all_events() -> list[int] | None:
        seqs = [e["seq"] for _, body in watcher.json() for e in body["events"]]
        return seqs if len(seqs) >= 3000 else None

    seqs = wait_until(all_events, "3,000 normalized events")
    assert seqs == list(range(1, 3001)), "every event once, in order"
    assert len(watcher.messages) > 1, "split into messages under the packet limit"
    assert max(len(payload) for _, payload in watcher.messages) <= 128 * 1024
    assert count_points(influx, site.database, "sensor_telemetry") == 3000
    assert "oversize" not in ingest.tail()
    device.close()
    watcher.close()


def test_a_retained_birth_is_not_news_when_ingest_starts_again(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    """The broker keeps a device's birth; ingest's own session must not take it twice."""
    site = make_site([("cam-1", "camera"), ("pm-01", "sensor")], twins=False)
    ingest = make_ingest(site, twins=False, stale_after_seconds=1.0)
    camera = Device(broker, f"{site.namespace}:cam-1")
    camera.publish("status", b'{"data": {"state": "online"}}', retain=True).wait_for_publish(10)
    camera.close()  # a clean goodbye: no will, the retained birth stays

    def availability() -> list[str]:
        rows = influx_rows(
            influx, site.database, "SELECT state FROM device_availability WHERE device = 'cam-1'"
        )
        return [str(row["state"]) for row in rows]

    wait_until(lambda: availability() == ["online", "stale"], "online, then stale")
    for round_ in range(2):
        ingest.stop()
        ingest.start()
        # a message published after the restart is handled after anything the broker
        # sent at subscription time: once its point is in, a retained birth would be too
        marker = Device(broker, f"{site.namespace}:pm-01")
        marker.send("telemetry", {"noise_dba": 40.0 + round_}).wait_for_publish(10)
        wait_until(
            lambda n=round_ + 1: count_points(influx, site.database, "sensor_telemetry") == n,
            "the marker's point",
        )
        marker.close()
        assert availability() == ["online", "stale"], "the old birth was taken as news"
