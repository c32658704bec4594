"""Presence end to end: a simulated desk camera over RTSP, zones in the real twin service,
presence in the twin, in InfluxDB and on the broker (as the ``citytwin-video`` account)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import aiomqtt
import av
import cv2
import pytest
from pydantic import SecretStr

from analytics.presence.settings import PresenceSettings
from citytwin.accounts import BrokerAccount, ServiceRole
from simulators.clock import SimClock
from simulators.scenario import CameraScene
from simulators.scenario import VideoSettings as SimVideoSettings
from simulators.scenes import SceneRenderer, SceneState
from simulators.video import CameraStream
from tests.services import Broker, Influx, free_port, serve_in_thread
from tests.twins.conftest import SERVICE_PASSWORD, TwinServer
from tests.video.conftest import Camera, video_settings
from tests.video.streams import Publisher, RtspRelay
from twins.definitions import KIND_FEATURES, Writer, default_policy, thing_for_device
from twins.kinds import DeviceKind, Sector, Weekday
from twins.presence import PresenceEvent, presence_topic
from twins.thing_id import ThingId
from twins.zones import Zone, ZoneType
from video.presence import luma
from video.service import VideoRuntime, create_video_app

WITHIN_S = 30.0
DESK = [[0.3, 0.1], [0.7, 0.1], [0.7, 0.7], [0.3, 0.7]]
FLOOR = [[0.0, 0.8], [0.25, 0.8], [0.25, 1.0], [0.0, 1.0]]
YARD = [[0.2, 0.3], [0.95, 0.3], [0.95, 1.0], [0.2, 1.0]]


def zone(zone_id: str, polygon: list[list[float]], kind: str = "desk") -> dict[str, Any]:
    return {"id": zone_id, "type": kind, "polygon": polygon}


@pytest.fixture
def desk_camera(relay_server: RtspRelay, twins: TwinServer, tmp_path: Path) -> Iterator[Camera]:
    """A counter-desk camera with its officer seated, streamed at 320x240, 5 fps."""
    image = SceneRenderer(320, 240).render(SceneState(CameraScene.COUNTER_DESK, officer=True), 0)
    picture = tmp_path / "desk.png"
    cv2.imwrite(str(picture), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    namespace = f"test.p{uuid.uuid4().hex[:10]}"
    thing_id, path = f"{namespace}:cam-desk-01", f"{namespace}/cam-desk-01"
    thing = thing_for_device(thing_id, DeviceKind.CAMERA, namespace, Sector.HEALTH)
    thing["features"]["stream"]["properties"]["url"] = relay_server.url(path)
    thing["features"]["zones"]["properties"]["zones"] = [zone("officer", DESK)]
    with twins.client() as client:
        client.put_policy(default_policy(thing_id, "nginx:citytwin"))
        client.put_thing(thing)
    publisher = Publisher(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-loop", "1", "-framerate", "5", "-i", str(picture),
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-g", "10", "-pix_fmt", "yuv420p", "-threads", "1",
            "-f", "rtsp", "-rtsp_transport", "udp",
            f"rtsp://127.0.0.1:{relay_server.source_port}/{path}",
        ]
    )  # fmt: skip
    publisher.start()
    try:
        wait_playable(relay_server.url(path))
        yield Camera(thing_id, relay_server.url(path), publisher)
    finally:
        publisher.stop()


def wait_playable(url: str, attempts: int = 20) -> None:
    """Until the relay serves the publisher's stream (it announces a second or so after
    ffmpeg starts; a hub opening it before then backs off for seconds)."""
    for _ in range(attempts):
        try:
            with av.open(url, timeout=(5, 2)) as container:
                next(container.demux(container.streams.video[0]))
                return
        except (av.FFmpegError, OSError, StopIteration):
            time.sleep(0.5)
    raise RuntimeError(f"{url} never played")


@contextlib.contextmanager
def presence_hub(
    camera: str,
    twins: TwinServer,
    influx: Influx,
    database: str,
    broker: Broker | None,
    account: BrokerAccount | None = None,
) -> Iterator[None]:
    """The hub, publishing as a ``citytwin-video`` account of ``broker`` (None: to a port
    where no broker listens)."""
    if broker and account is None:
        account = broker.account(ServiceRole.VIDEO)
    runtime = VideoRuntime(
        settings=video_settings(),
        cameras=[camera],
        twins_url=twins.url,
        twins_password=SERVICE_PASSWORD,
        influx_url=influx.url,
        influx_database=database,
        influx_username=influx.username,
        influx_password=SecretStr(influx.password),
        mqtt_host="127.0.0.1",
        mqtt_port=broker.port if broker else free_port(),
        mqtt_username=account.username if account else "citytwin-video",
        mqtt_password=SecretStr(account.password if account else ""),
    )
    with serve_in_thread(create_video_app(runtime), free_port()):
        yield


@contextlib.asynccontextmanager
async def presence_events(
    broker: Broker, camera: str
) -> AsyncIterator[asyncio.Queue[PresenceEvent]]:
    """The camera's presence events, from a persistent session that reconnects: the broker
    reloading its files for an account made meanwhile must not lose an event."""
    tester = broker.account()
    events: asyncio.Queue[PresenceEvent] = asyncio.Queue()
    subscribed = asyncio.Event()

    async def collect() -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    broker.host, broker.port, username=tester.username,
                    password=tester.password, identifier=tester.username, clean_session=False,
                ) as client:  # fmt: skip
                    await client.subscribe(presence_topic(ThingId.parse(camera)), qos=1)
                    subscribed.set()
                    async for message in client.messages:
                        payload = bytes(message.payload)
                        events.put_nowait(PresenceEvent.model_validate_json(payload))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    task = asyncio.create_task(collect())
    try:
        await asyncio.wait_for(subscribed.wait(), WITHIN_S)
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(aiomqtt.MqttError):  # the broker keeps no session of ours
            async with aiomqtt.Client(
                broker.host, broker.port, username=tester.username,
                password=tester.password, identifier=tester.username, clean_session=True,
            ):  # fmt: skip
                pass


async def presence_until(
    twins: TwinServer, camera: str, done: Any, within: float = WITHIN_S
) -> dict[str, Any]:
    """Poll the twin's presence (bounded) until ``done(properties)``."""
    with twins.client() as client:
        async with asyncio.timeout(within):
            while True:
                properties: dict[str, Any] = await asyncio.to_thread(
                    client.get, camera, "features/presence/properties"
                )
                if done(properties):
                    return properties
                await asyncio.sleep(0.3)


def officer_present(properties: dict[str, Any]) -> bool:
    return bool(properties.get("zones", {}).get("officer", {}).get("present"))


@pytest.mark.asyncio
async def test_a_seated_officer_is_present_in_the_twin_influxdb_and_on_the_broker(
    desk_camera: Camera, twins: TwinServer, influx: Influx, database: str, broker: Broker
) -> None:
    camera = desk_camera.thing_id
    # accounts first: the broker reloads its files for each, which the subscriber would see
    account = broker.account(ServiceRole.VIDEO)
    async with presence_events(broker, camera) as events:
        with presence_hub(desk_camera.thing_id, twins, influx, database, broker, account):
            properties = await presence_until(twins, camera, officer_present)
            event = await asyncio.wait_for(events.get(), WITHIN_S)
            await asyncio.sleep(2.5)  # a flush of camera_presence
    (feature,) = [f for f in KIND_FEATURES[DeviceKind.CAMERA] if f.name == "presence"]
    declared = {prop.name: prop.writer for prop in feature.properties}
    fresh = feature.to_json()["properties"]
    written = {name for name, value in properties.items() if value != fresh.get(name)}
    assert written  # and every property the hub wrote is declared as the video hub's
    assert {declared.get(name) for name in written} == {Writer.VIDEO}
    officer = properties["zones"]["officer"]
    assert officer["type"] == "desk"
    assert officer["people"] >= 1
    assert officer["since"] is not None
    assert properties["zoneErrors"] == []
    assert (event.thing, event.zone, event.present) == (camera, "officer", True)
    since = datetime.fromisoformat(officer["since"].replace("Z", "+00:00"))
    assert event.at.timestamp() == pytest.approx(since.timestamp(), abs=0.002)
    result: Any = influx.query(
        database,
        "SELECT people, present FROM camera_presence WHERE zone = 'officer'"
        " AND zone_type = 'desk' AND device = 'cam-desk-01'",
    )
    rows = result["results"][0]["series"][0]["values"]
    assert any(present is True and people >= 1 for _, people, present in rows)


@pytest.mark.asyncio
async def test_presence_reaches_the_twin_while_no_broker_answers(
    desk_camera: Camera, twins: TwinServer, influx: Influx, database: str
) -> None:
    with presence_hub(desk_camera.thing_id, twins, influx, database, None):
        properties = await presence_until(twins, desk_camera.thing_id, officer_present)
    assert properties["zones"]["officer"]["people"] >= 1


@pytest.mark.asyncio
async def test_zones_edited_in_the_twin_take_effect_and_a_bad_one_is_refused(
    desk_camera: Camera, twins: TwinServer, influx: Influx, database: str, broker: Broker
) -> None:
    camera = desk_camera.thing_id
    bow_tie = zone("tie", [[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], "restricted")
    with presence_hub(desk_camera.thing_id, twins, influx, database, broker):
        await presence_until(twins, camera, officer_present)
        with twins.client() as client:
            client.put(camera, "features/zones/properties/zones", [zone("floor", FLOOR), bow_tie])
        edited = await presence_until(
            twins, camera, lambda p: "floor" in p.get("zones", {}) and p.get("zoneErrors")
        )
    assert "officer" not in edited["zones"]  # the zone removed from the twin is gone
    assert edited["zones"]["floor"]["present"] is False  # nobody on the floor
    assert edited["zoneErrors"] == [
        f"camera {camera}: zone 'tie': polygon: not a simple polygon: Self-intersection[0.5 0.5]"
    ]


@pytest.mark.parametrize(("width", "height"), [(320, 240), (150, 100)])
def test_the_sample_is_the_frames_luma_without_its_padding(width: int, height: int) -> None:
    """The hub's grey sample is the Y plane of the decoded frame (rows are padded to the
    plane's line size, which the sample must not keep)."""
    image = SceneRenderer(width, height).render(SceneState(CameraScene.GATE, people=1), 0)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    grey = luma(frame)
    assert grey.shape == (height, width)
    assert (grey == frame.to_ndarray()[:height]).all()


# -- the simulators' own camera stream, dated by its capture stamp ---------------------------

SITE_TZ = timezone(timedelta(hours=7))
STREAM_FPS = 5.0


@dataclass
class Script:
    """What a simulated camera shows, changed by the test; each frame is stamped with the
    scenario clock's time of the scene it renders."""

    scene: CameraScene
    clock: SimClock
    officer: bool = False
    people: int = 0
    night: bool = False

    def __call__(self) -> SceneState:
        return SceneState(
            self.scene,
            officer=self.officer,
            people=self.people,
            night=self.night,
            at=self.clock.now(),
        )


@dataclass
class SimulatedCamera:
    thing_id: str
    script: Script

    def sample_interval(self) -> float:
        """Scenario seconds between two of the hub's samples, plus a frame's: how far an
        event time may lie after the change it reports."""
        return self.script.clock.speed * (1 / PresenceSettings().sample_fps + 1 / STREAM_FPS)


@contextlib.contextmanager
def simulated_camera(
    relay: RtspRelay,
    twins: TwinServer,
    script: Script,
    zones: list[dict[str, Any]],
) -> Iterator[SimulatedCamera]:
    """A camera twin whose stream is the simulators' ``CameraStream`` through the session's
    RTSP relay (as ``citytwin simulate`` streams it), playing ``script``."""
    short = {CameraScene.COUNTER_DESK: "desk", CameraScene.GATE: "gate"}[script.scene]
    namespace = f"test.s{uuid.uuid4().hex[:10]}"
    thing_id = f"{namespace}:cam-{short}-01"
    thing = thing_for_device(thing_id, DeviceKind.CAMERA, namespace, Sector.EDUCATION)
    thing["features"]["stream"]["properties"]["url"] = relay.url(thing_id.replace(":", "/"))
    thing["features"]["zones"]["properties"]["zones"] = zones
    with twins.client() as client:
        client.put_policy(default_policy(thing_id, "nginx:citytwin"))
        client.put_thing(thing)
    settings = SimVideoSettings(
        fps=STREAM_FPS, client_port=relay.client_port, source_port=relay.source_port
    )
    stream = CameraStream(
        ThingId.parse(thing_id), settings, script, SceneRenderer(settings.width, settings.height)
    )
    stream.start()
    try:
        relay.wait_published(thing_id.replace(":", "/"))
        yield SimulatedCamera(thing_id, script)
    finally:
        stream.stop()
        stream.join(10)


def sim_clock(start: datetime, speed: float) -> SimClock:
    return SimClock(start.timestamp(), speed, tz=SITE_TZ)


def yesterday_at(hour: int, days: int = 1) -> datetime:
    today = datetime.now(SITE_TZ).date()
    return datetime.combine(today - timedelta(days=days), dt_time(hour), SITE_TZ)


async def next_change(
    events: asyncio.Queue[PresenceEvent], zone_id: str, present: bool
) -> PresenceEvent:
    """The next presence event of ``zone_id`` (bounded), which must be the change wanted."""
    event = await asyncio.wait_for(events.get(), WITHIN_S)
    assert (event.zone, event.present) == (zone_id, present), event
    return event


def point_times(influx: Influx, database: str, camera: str, zone_id: str) -> list[list[Any]]:
    name = camera.partition(":")[2]
    result: Any = influx.query(
        database,
        f"SELECT people, present FROM camera_presence WHERE device = '{name}'"
        f" AND zone = '{zone_id}'",
    )
    rows: list[list[Any]] = result["results"][0]["series"][0]["values"]
    return rows


@pytest.mark.parametrize("speed", [1.0, 60.0])
@pytest.mark.asyncio
async def test_an_officer_absence_has_the_scenarios_times_at_any_speed(
    speed: float,
    relay_server: RtspRelay,
    twins: TwinServer,
    influx: Influx,
    database: str,
    broker: Broker,
) -> None:
    """The same absence at ×1 and at ×60: the hub dates what it sees by the stamp burned
    into each frame, so enter and leave come at the scenario's times, within a sample."""
    script = Script(CameraScene.COUNTER_DESK, sim_clock(yesterday_at(9), speed), officer=True)
    account = broker.account(ServiceRole.VIDEO)
    with simulated_camera(relay_server, twins, script, [zone("officer", DESK)]) as sim:
        camera, interval = sim.thing_id, sim.sample_interval()
        async with presence_events(broker, camera) as events:
            with presence_hub(camera, twins, influx, database, broker, account):
                arrived = await next_change(events, "officer", True)
                left = script.clock.now()
                script.officer = False
                leave = await next_change(events, "officer", False)
                back = script.clock.now()
                script.officer = True
                enter = await next_change(events, "officer", True)
                properties = await presence_until(twins, camera, officer_present)
                await asyncio.sleep(2.5)  # a flush of camera_presence
        ended = script.clock.now()
    assert arrived.at.timestamp() >= script.clock.start
    assert left <= leave.at.timestamp() <= left + interval
    assert back <= enter.at.timestamp() <= back + interval
    absent = enter.at.timestamp() - leave.at.timestamp()
    assert abs(absent - (back - left)) <= interval
    since = datetime.fromisoformat(properties["zones"]["officer"]["since"].replace("Z", "+00:00"))
    assert since == enter.at
    # InfluxDB's points are at the scenario's times too (yesterday), not the hub's
    times = [row[0] / 1000 for row in point_times(influx, database, camera, "officer")]
    assert script.clock.start <= min(times)
    assert max(times) <= ended


@pytest.mark.asyncio
async def test_an_intruder_at_the_gate_in_the_scenarios_night_is_watched(
    relay_server: RtspRelay, twins: TwinServer, influx: Influx, database: str, broker: Broker
) -> None:
    """A school gate three nights ago at 23:00 in the scenario, at ×10; its yard is
    restricted from 22:00 to 05:00 on nights starting that weekday — a window the wall
    clock is outside of now, whatever the hour the test runs."""
    night = yesterday_at(23, days=3)
    hours = {"start": "22:00", "end": "05:00", "days": [Weekday.of(night.weekday()).value]}
    yard = {**zone("yard", YARD, "restricted"), "hours": hours}
    assert not Zone.model_validate(yard).watched_at(time.time())
    script = Script(CameraScene.GATE, sim_clock(night, 10.0), night=True)
    account = broker.account(ServiceRole.VIDEO)
    with simulated_camera(relay_server, twins, script, [yard]) as sim:
        camera, interval = sim.thing_id, sim.sample_interval()
        async with presence_events(broker, camera) as events:
            with presence_hub(camera, twins, influx, database, broker, account):
                await presence_until(twins, camera, lambda p: "yard" in p.get("zones", {}))
                intruded = script.clock.now()
                script.people = 1
                event = await next_change(events, "yard", True)
                properties = await presence_until(twins, camera, lambda p: p.get("intrusion"))
                await asyncio.sleep(2.5)  # a flush of camera_presence
    at = event.at.timestamp()
    assert (event.zone_type, event.watched, event.people) == (ZoneType.RESTRICTED, True, 1)
    assert intruded <= at <= intruded + interval
    assert datetime.fromtimestamp(at, SITE_TZ).hour in (23, 0)  # the scenario's night
    reading = properties["zones"]["yard"]
    assert (reading["present"], reading["watched"], reading["people"]) == (True, True, 1)
    assert datetime.fromisoformat(reading["since"].replace("Z", "+00:00")) == event.at
    rows = point_times(influx, database, camera, "yard")
    present = [time_ms / 1000 for time_ms, people, inside in rows if inside and people >= 1]
    assert present, rows
    assert at <= min(present) <= at + interval  # confirmed on the next sample, then on
    assert all(time_ms / 1000 <= at for time_ms, _, inside in rows if not inside)
