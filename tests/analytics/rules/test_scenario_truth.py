"""The rules against a real simulator run: the smoke scenario on the real broker, every
device message normalized as ingest does, the signals scored against the ground truth."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from analytics.alerts.model import AlertSignal
from analytics.rules.engine import DeviceInfo, RuleEngine
from analytics.rules.ruleset import RuleSet
from simulators.groundtruth import read_ground_truth
from simulators.runner import run_scenario
from tests.analytics.rules.feed import write
from tests.services import Broker
from tests.simulators.conftest import forget_statuses, provision, recording, smoke_scenario
from twins.errors import ContractError
from twins.events import EventChannel, NormalizedEvent, TsSource
from twins.payloads import parse_payload
from twins.registry import Registry
from twins.topics import parse_topic

SPEED = 600.0  # ten simulated minutes per wall second
DURATION_S = 7.0  # 07:20 → about 08:30
LATENESS_S = 3 * 3600.0
"""The whole run: the recording is replayed into the engine after the run, as a catch-up
would, so it may wait for everything; how far a device's link lagged on a loaded machine
(half a second of wall time, five minutes of event time at ×600, was seen) is then no part
of the score. Arrival order still decides where the server-stamped statuses go."""

RULES = {
    "calendars.yaml": """\
calendars:
  office:
    hours: ["07:30-11:45", "13:30-17:00"]
    public_holidays: null   # the scenario's office knows no holidays
""",
    "sensors.yaml": """\
site: "smoke.*"
kind: sensor
rules:
  - {id: water, type: threshold, field: water_level_cm, above: 250, clear_at: 237.5}
  - {id: stuck, type: stuck, minutes: 10, samples: 5}
""",
    "cameras.yaml": """\
site: "smoke.*"
kind: camera
rules:
  - {id: offline, type: offline, intervals: 3}
""",
    "counters.yaml": """\
site: "smoke.*"
kind: counter
rules:
  - {id: absent, type: officer_absence, minutes: 10}
""",
    "rooms.yaml": """\
site: "smoke.*"
kind: meeting_room
rules:
  - {id: ghost, type: ghost_booking, grace_minutes: 15}
""",
}


def normalized(registry: Registry, topic: str, payload: bytes) -> NormalizedEvent | None:
    """What ingest would publish for one device message (None for a refused one)."""
    parsed_topic = parse_topic(topic)
    device = registry.get(parsed_topic.thing_id)
    if device is None:
        return None
    try:
        message = parse_payload(device.thing_id, device.kind, parsed_topic.channel, payload)
    except ContractError:
        return None  # dead-lettered
    channel = EventChannel(parsed_topic.channel.value)
    data: dict[str, Any] = orjson.loads(message.data.model_dump_json(exclude_none=True))
    return NormalizedEvent(
        thing_id=str(device.thing_id),
        kind=device.kind,
        site=device.site_id,
        sector=device.sector,
        channel=channel,
        ts=message.ts_ms if message.ts_ms is not None else int(time.time() * 1000),
        ts_source=TsSource.DEVICE if message.ts_ms is not None else TsSource.SERVER,
        seq=message.seq,
        data=data,
    )


def epoch(text: str | None) -> float | None:
    return None if text is None else dt.datetime.fromisoformat(text).timestamp()


@pytest.mark.asyncio
async def test_signals_of_a_smoke_run_match_its_ground_truth(
    broker: Broker, tmp_path: Path, unique_name: str
) -> None:
    namespace = f"smoke.{unique_name}"
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
            duration_s=DURATION_S,
            ground_truth_path=truth_path,
            video=False,
        )
    await forget_statuses(broker, registry)
    rules_dir = tmp_path / "rules"
    for name, text in RULES.items():
        write(rules_dir, name, text)
    devices = [
        DeviceInfo(str(d.thing_id), d.kind, d.site_id, d.sector.value, d.attributes)
        for d in registry
    ]
    engine = RuleEngine(
        RuleSet.load(rules_dir).current, allowed_lateness_s=LATENESS_S, devices=devices
    )
    signals: list[AlertSignal] = []
    seen: set[tuple[str, int]] = set()
    last_report = 0.0
    for message in recorder.messages:
        assert isinstance(message.payload, bytes)
        event = normalized(registry, message.topic.value, message.payload)
        if event is None:
            continue
        if event.seq is not None and event.channel is not EventChannel.STATUS:
            if (event.thing_id, event.seq) in seen:
                continue  # a QoS 1 resend: ingest drops duplicates
            seen.add((event.thing_id, event.seq))
        if event.channel is EventChannel.TELEMETRY:
            last_report = max(last_report, event.ts / 1000)
        signals += engine.push(event)
    signals += engine.flush()
    truth = read_ground_truth(truth_path)

    def truth_of(what: str, device: str) -> list[tuple[float, float | None, dict[str, Any]]]:
        return [
            (epoch(line["start"]) or 0.0, epoch(line["end"]), line["details"])
            for line in truth
            if line["what"] == what and line["device"] == f"{namespace}:{device}"
        ]

    def stopping(signal: AlertSignal) -> bool:
        """The end of the run: every device's goodbye, and the silence of devices whose
        last report came more than 3 intervals before it (the loop lags on a busy host)."""
        if signal.details.get("reason") == "simulation stopped":
            return True
        return signal.key.rule == "offline" and signal.at.timestamp() >= last_report - 60

    def alerts(rule: str, device: str) -> list[tuple[float, float | None]]:
        """(onset, clear) of each alert of ``rule`` on ``device``, in event time."""
        out: list[tuple[float, float | None]] = []
        for signal in signals:
            if signal.key.rule != rule or signal.key.device != f"{namespace}:{device}":
                continue
            if stopping(signal):
                continue
            if signal.active:
                out.append((signal.at.timestamp(), None))
            elif out and out[-1][1] is None:
                out[-1] = (out[-1][0], signal.at.timestamp())
        return out

    # threshold: the flood wave, onset and clear at the very samples the truth names
    crossings = truth_of("threshold", "flood-01")
    assert crossings, "the spike to 330 cm crosses 250 cm"
    assert alerts("water", "flood-01") == [(start, end) for start, end, _ in crossings]

    # stuck: 07:30–07:50, repeating the last sample before 07:30; raised once 10 minutes
    # of identical samples are in, cleared at the first sample that moves (every 60 s)
    [(stuck_start, stuck_end, _)] = truth_of("sensor_stuck", "env-01")
    [(onset, clear)] = alerts("stuck", "env-01")
    assert stuck_start - 60 + 600 <= onset <= stuck_start + 600 + 60
    assert stuck_end is not None
    assert clear is not None
    assert stuck_end <= clear <= stuck_end + 60

    # officer absence: the scripted one exactly (break events on the minute), and every
    # absence of the truth longer than the rule's 10 minutes + a report interval, and
    # nothing else
    absences = [
        (start, end)
        for device in ("counter-01", "counter-02")
        for start, end, details in truth_of("officer_absent", device)
        if details["cause"] == "incident"
    ]
    assert absences
    day = dt.datetime.fromtimestamp(absences[0][0], scenario.tz()).date()
    scripted = dt.datetime.combine(day, dt.time(7, 40), scenario.tz()).timestamp()
    raised = alerts("absent", "counter-01")
    assert (scripted + 600, scripted + 900) in raised
    for device in ("counter-01", "counter-02"):
        long = [
            (start, end)
            for start, end, details in truth_of("officer_absent", device)
            if end is not None and end - start >= 660 and details["cause"] != "late"
        ]
        found = alerts("absent", device)
        for start, _ in long:
            assert any(abs(onset - (start + 600)) <= 30 for onset, _ in found), (device, start)
        for onset, clear in found:
            if clear is None:
                # still away when the run stopped: the simulator writes an absence when it
                # ends, so one in progress at the stop is not in the truth
                continue
            assert any(
                start + 600 - 30 <= onset <= (end or onset)
                for start, end, _ in truth_of("officer_absent", device)
            ), (device, onset)

    # offline: the network outage 07:30–07:40 (the will, at once; back when it reconnects,
    # after the simulated backoff) and the death at 08:05, never back
    outages = truth_of("device_offline", "cam-corridor-01")
    assert [end is None for _, end, _ in outages] == [False, True]
    found = alerts("offline", "cam-corridor-01")
    assert len(found) == 2, found
    (cut_on, cut_off), (died_on, died_off) = found
    (cut_start, cut_end, _), (died_start, _, _) = outages
    # the will carries no time: it is placed at the newest device time when it arrives,
    # which is short of the cut by how far the other devices' links lag behind (at ×600 on
    # a busy host, up to five minutes of event time)
    assert cut_start - 300 <= cut_on <= cut_start + 90
    assert cut_end is not None
    assert cut_off is not None
    assert cut_end <= cut_off <= cut_end + 420  # reconnect backoff: up to 0.5 s × 600 + …
    # a dying device loses what its link had not sent yet: under load, a few minutes
    assert died_start - 300 <= died_on <= died_start + 90
    assert died_off is None
    others = {
        s.key.device for s in signals if s.key.rule == "offline" and s.active and not stopping(s)
    }
    assert others == {f"{namespace}:cam-corridor-01"}

    # no ghost booking: the scenario's people always come
    assert not [s for s in signals if s.key.rule == "ghost"]
    assert engine.stats.facts > 1000
