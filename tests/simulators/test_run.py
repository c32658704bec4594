"""A short scenario against the real broker: the contract, the ground truth, the faults."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import jsonschema
import orjson
import pytest

from simulators.groundtruth import read_ground_truth
from simulators.link import ONLINE_BIRTH
from simulators.runner import run_scenario
from simulators.scenario import HostileKind, IncidentKind, Scenario
from tests.services import Broker
from tests.simulators.conftest import provision, recording, smoke_scenario
from twins.errors import ContractError
from twins.kinds import DeviceKind
from twins.payloads import MAX_PAYLOAD_BYTES, envelope_schema, parse_payload
from twins.registry import Registry
from twins.topics import Channel, parse_topic

SPEED = 600.0  # ten simulated minutes per second
DURATION_S = 7.0  # 07:20 → about 08:30 of the scenario's day


def without(scenario: Scenario, kinds: Iterable[IncidentKind]) -> Scenario:
    drop = set(kinds)
    return scenario.model_copy(
        update={"incidents": [i for i in scenario.incidents if i.what not in drop]}
    )


@pytest.mark.asyncio
async def test_every_message_of_every_kind_fits_the_contract(
    broker: Broker, tmp_path: Path, namespace: str
) -> None:
    scenario = without(smoke_scenario(tmp_path, namespace), [IncidentKind.GARBAGE])
    credentials = provision(broker, scenario)
    registry = Registry(scenario.registry_spec())
    truth_path = tmp_path / "ground-truth.jsonl"
    async with recording(broker, f"citytwin/{namespace}") as recorder:
        summary = await run_scenario(
            scenario,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            credentials=credentials,
            speed=SPEED,
            duration_s=DURATION_S,
            ground_truth_path=truth_path,
            video=False,
        )
    finished = time.time()
    seen: dict[DeviceKind, set[Channel]] = defaultdict(set)
    events: set[str] = set()
    last_seq: dict[str, tuple[int, bytes]] = {}
    first_ts: dict[tuple[str, Channel], int] = {}
    for message in recorder.messages:
        topic = parse_topic(message.topic.value)
        device = registry.get(topic.thing_id)
        assert device is not None, message.topic.value
        payload = message.payload
        assert isinstance(payload, bytes)
        parsed = parse_payload(topic.thing_id, device.kind, topic.channel, payload)
        jsonschema.validate(orjson.loads(payload), envelope_schema(device.kind, topic.channel))
        seen[device.kind].add(topic.channel)
        if parsed.ts_ms is not None:
            assert parsed.ts_ms <= finished * 1000, "stamped ahead of real time"
            first_ts.setdefault((str(topic.thing_id), topic.channel), parsed.ts_ms)
        if topic.channel is Channel.EVENT:
            events.add(getattr(parsed.data, "type"))  # noqa: B009
        if parsed.seq is not None and topic.channel is not Channel.STATUS:
            previous_seq, previous_payload = last_seq.get(str(topic.thing_id), (0, b""))
            # QoS 1 is at least once: after a reconnect under load a link sends its
            # unacknowledged message again, identical; anything else must move seq on
            resent = parsed.seq == previous_seq and payload == previous_payload
            assert parsed.seq > previous_seq or resent, "seq went backwards"
            last_seq[str(topic.thing_id)] = (parsed.seq, payload)
    for kind in DeviceKind:
        assert {Channel.STATUS, Channel.STATE, Channel.TELEMETRY} <= seen[kind], kind
    # a device starts with its state, not dated after the reports it then sends (the
    # seconds of setting up a run are minutes of scenario at speed)
    ahead = [
        thing
        for (thing, channel), ts in first_ts.items()
        if channel is Channel.STATE and ts > first_ts.get((thing, Channel.TELEMETRY), ts)
    ]
    assert ahead == []
    assert {
        "ticket_issued",
        "ticket_called",
        "service_started",
        "service_finished",
        "officer_login",
        "break_started",
        "booking_started",
        "session_started",
        "motion",
    } <= events
    births = {
        m.topic.value for m in recorder.messages if m.payload == b'{"data":{"state":"online"}}'
    }
    assert len(births) == len(registry)
    assert summary.devices == len(registry)
    assert summary.incidents_fired >= 7


@pytest.mark.asyncio
async def test_scripted_incidents_land_in_the_ground_truth(
    broker: Broker, tmp_path: Path, namespace: str
) -> None:
    scenario = smoke_scenario(tmp_path, namespace)
    credentials = provision(broker, scenario)
    truth_path = tmp_path / "ground-truth.jsonl"
    async with recording(broker, f"citytwin/{namespace}") as recorder:
        summary = await run_scenario(
            scenario,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            credentials=credentials,
            speed=SPEED,
            duration_s=DURATION_S,
            ground_truth_path=truth_path,
            video=False,
        )
    day = summary.sim_start.date().isoformat()
    truth = read_ground_truth(truth_path)

    def lines(what: str, device: str) -> list[tuple[str, str | None]]:
        return [
            (line["start"], line["end"])
            for line in truth
            if line["what"] == what and line["device"] == f"{namespace}:{device}"
        ]

    assert (f"{day}T07:40:00.000+07:00", f"{day}T07:55:00.000+07:00") in lines(
        "officer_absent", "counter-01"
    )
    assert lines("intrusion", "cam-gate-01") == [
        (f"{day}T07:25:00.000+07:00", f"{day}T07:35:00.000+07:00")
    ]
    assert lines("device_offline", "cam-corridor-01") == [
        (f"{day}T07:30:00.000+07:00", f"{day}T07:40:00.000+07:00"),  # network outage
        (f"{day}T08:05:00.000+07:00", None),  # died, still dead when the run ended
    ]
    assert lines("water_level_spike", "flood-01")
    assert lines("threshold", "flood-01"), "a spike to 330 cm crosses the 250 cm threshold"
    # the camera that lost its network, then died: each of its connections began with its
    # birth and ended with its last will — two of each when it was back before it died
    # (a reconnect slower than the 2.5 s of wall time between the two is one of each)
    statuses = [
        m.payload
        for m in recorder.messages
        if m.topic.value.endswith("/cam-corridor-01/status")
        and m.payload in (ONLINE_BIRTH, b'{"data":{"state":"offline"}}')
    ]
    assert statuses[:2] == [ONLINE_BIRTH, b'{"data":{"state":"offline"}}'], statuses
    assert statuses == [ONLINE_BIRTH, b'{"data":{"state":"offline"}}'] * (len(statuses) // 2)
    assert len(statuses) in (2, 4), statuses
    # the officer's absence is visible in what the counter reports during the incident
    counter_topic = f"citytwin/{namespace}/counter-01/telemetry"
    during = [
        orjson.loads(m.payload)
        for m in recorder.messages
        if m.topic.value == counter_topic
        and isinstance(m.payload, bytes)
        and f"{day}T07:42" <= _local(orjson.loads(m.payload)["ts"]) < f"{day}T07:55"
    ]
    assert during
    assert not any(body["data"]["officer_present"] for body in during)


def _local(ts_ms: int) -> str:
    from datetime import datetime, timedelta, timezone

    return datetime.fromtimestamp(ts_ms / 1000, timezone(timedelta(hours=7))).isoformat()


@pytest.mark.asyncio
async def test_fault_profile_sends_every_hostile_kind(
    broker: Broker, tmp_path: Path, namespace: str
) -> None:
    scenario = smoke_scenario(tmp_path, namespace)
    credentials = provision(broker, scenario)
    registry = Registry(scenario.registry_spec())
    truth_path = tmp_path / "ground-truth.jsonl"
    async with recording(broker, f"citytwin/{namespace}") as recorder:
        await run_scenario(
            scenario,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            credentials=credentials,
            speed=SPEED,
            duration_s=4.0,
            ground_truth_path=truth_path,
            video=False,
            faults="hostile",
        )
    reasons: set[str] = set()
    payloads: defaultdict[str, list[bytes]] = defaultdict(list)
    far_future = False
    for message in recorder.messages:
        topic = parse_topic(message.topic.value)
        device = registry.get(topic.thing_id)
        assert device is not None
        assert isinstance(message.payload, bytes)
        if topic.channel is not Channel.STATUS:
            payloads[str(topic.thing_id)].append(message.payload)
        try:
            parsed = parse_payload(topic.thing_id, device.kind, topic.channel, message.payload)
        except ContractError as exc:
            reasons.add(exc.reason)
            continue
        if parsed.ts_ms is not None and parsed.ts_ms > (time.time() + 300 * 86_400) * 1000:
            far_future = True
    assert {"not_json", "too_large", "schema"} <= reasons
    assert far_future
    assert any(len(p) != len(set(p)) for p in payloads.values()), "no message was replayed"
    assert any(len(p) > MAX_PAYLOAD_BYTES for ps in payloads.values() for p in ps)
    hostile = {
        line["details"]["kind"]
        for line in read_ground_truth(truth_path)
        if line["what"] == "hostile"
    }
    assert hostile == {kind.value for kind in HostileKind}
