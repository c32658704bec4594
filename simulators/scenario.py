"""Scenarios: the sites and devices to simulate, their schedules, incidents and faults.

A scenario is a YAML file (see ``docs/simulators.md``); bundled ones live in
``simulators/scenarios/``. Sites are written compactly — ``counters: 12``,
``cameras: {counter_desk: 12, corridor: 2}``, ``repeat: 10`` with ``{n}`` in the id and
name — and expanded into the registry's ``sites`` by the loader, so that
``Scenario.registry_spec()`` is exactly what gets provisioned. Problems are reported as
``file:line: field: message`` (``ScenarioError``), also for cross-references such as an
incident naming a device the scenario does not have.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from simulators.clock import utc_offset
from simulators.errors import ScenarioError
from twins import capture_stamp, validation
from twins.kinds import DeviceKind, Sector, Weekday
from twins.registry import AttributeValue, DeviceSpec, RegistrySpec, SiteSpec
from twins.yaml_source import YamlModelError, load_yaml_model

logger = logging.getLogger(__name__)

BUNDLED = "scenarios"
STAMP_MIN_WIDTH = capture_stamp.MIN_CELL * capture_stamp.CELLS_PER_ROW


class CameraScene(StrEnum):
    """What a camera looks at; decides the rendered scene and who appears in it."""

    COUNTER_DESK = "counter_desk"
    CORRIDOR = "corridor"
    GATE = "gate"


class Measure(StrEnum):
    """What an environmental or flood sensor measures."""

    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"
    PM25 = "pm25"
    NOISE = "noise"
    WATER_LEVEL = "water_level"


MEASURE_FIELD: dict[Measure, str] = {
    Measure.TEMPERATURE: "temperature_c",
    Measure.HUMIDITY: "humidity_pct",
    Measure.PM25: "pm25_ugm3",
    Measure.NOISE: "noise_dba",
    Measure.WATER_LEVEL: "water_level_cm",
}
"""The telemetry field (``twins.payloads.SensorTelemetry``) of each measure."""


class IncidentKind(StrEnum):
    """A scripted incident."""

    OFFICER_ABSENT = "officer_absent"
    INTRUSION = "intrusion"
    WATER_LEVEL_SPIKE = "water_level_spike"
    SENSOR_STUCK = "sensor_stuck"
    DEVICE_DIES = "device_dies"
    NETWORK_OUTAGE = "network_outage"
    GARBAGE = "garbage"
    CLOCK_SKEW = "clock_skew"
    BURST = "burst"


INCIDENT_DEVICE_KINDS: dict[IncidentKind, frozenset[DeviceKind]] = {
    IncidentKind.OFFICER_ABSENT: frozenset({DeviceKind.COUNTER}),
    IncidentKind.INTRUSION: frozenset({DeviceKind.CAMERA}),
    IncidentKind.WATER_LEVEL_SPIKE: frozenset({DeviceKind.SENSOR}),
    IncidentKind.SENSOR_STUCK: frozenset({DeviceKind.SENSOR}),
}
"""Incidents that only make sense for some kinds of device (the others fit any)."""


class HostileKind(StrEnum):
    """A malformed or hostile message a fault profile makes devices send on purpose."""

    BAD_JSON = "bad_json"
    WRONG_TOPIC = "wrong_topic"
    OVERSIZE = "oversize"
    REPLAYED_SEQ = "replayed_seq"
    FAR_FUTURE_TS = "far_future_ts"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Rate = Annotated[float, Field(ge=0, le=1)]
Minutes = Annotated[float, Field(ge=0, le=24 * 60)]
Count = Annotated[int, Field(ge=0, le=1000)]


class StartSpec(_Section):
    """Where simulated time starts: in the past, so no message is stamped ahead of real time."""

    days_back: int = Field(default=1, ge=0, le=60, description="Days before today.")
    time: dt.time = Field(default=dt.time(7, 0), description="Local time of day to start at.")
    working_day: bool = Field(
        default=True, description="Go further back to the latest working day (office.days)."
    )
    at: datetime | None = Field(
        default=None, description="An exact start (with UTC offset) instead; for replays."
    )


class OfficeHours(_Section):
    """Office hours of a Vietnamese public office, with its long lunch break."""

    days: list[Weekday] = Field(
        default_factory=lambda: [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]
    )
    opens: dt.time = dt.time(7, 30)
    lunch_starts: dt.time = dt.time(11, 30)
    lunch_ends: dt.time = dt.time(13, 30)
    closes: dt.time = dt.time(17, 0)

    @model_validator(mode="after")
    def _in_order(self) -> OfficeHours:
        if not self.opens < self.lunch_starts <= self.lunch_ends < self.closes:
            raise ValueError(
                "office hours must satisfy opens < lunch_starts <= lunch_ends < closes"
            )
        return self


class ServiceType(_Section):
    """A service of the queue system, e.g. land registration."""

    code: Annotated[str, Field(pattern=r"^[a-z0-9_\-]+$", max_length=64)]
    name: str = Field(min_length=1, max_length=200)
    share: float = Field(gt=0, description="Relative share of the tickets.")
    minutes: float = Field(gt=0, le=240, description="Median service time, minutes.")
    spread: float = Field(default=0.5, gt=0, le=2, description="Log-normal sigma of the time.")


class QueueSettings(_Section):
    """Citizens at a service centre and the officers serving them."""

    tickets_per_hour: dict[Annotated[int, Field(ge=0, le=23)], Annotated[float, Field(ge=0)]] = (
        Field(
            default_factory=lambda: {
                7: 15.0,
                8: 55.0,
                9: 70.0,
                10: 55.0,
                11: 20.0,
                14: 50.0,
                15: 45.0,
            },
            description="Tickets per hour of the day at a whole site, shared by its kiosks.",
        )
    )
    no_show: Rate = Field(default=0.07, description="Share of called tickets nobody answers.")
    recalls: int = Field(default=2, ge=0, le=5, description="Calls before a no-show.")
    breaks_per_day: float = Field(default=2.0, ge=0, le=10)
    break_minutes: tuple[Minutes, Minutes] = (4.0, 12.0)
    absence: Rate = Field(default=0.2, description="Chance an officer leaves for long in a day.")
    absence_minutes: tuple[Minutes, Minutes] = (15.0, 45.0)
    late_minutes: tuple[Minutes, Minutes] = Field(
        default=(0.0, 12.0), description="How late officers log in after opening."
    )


class MeetingSettings(_Section):
    """Bookings from the work schedule, and what really happens in the rooms."""

    bookings_per_day: tuple[Count, Count] = (1, 3)
    ghost: Rate = Field(default=0.15, description="Bookings nobody turns up for.")
    unbooked_use: Rate = Field(default=0.25, description="Chance a room is used unbooked a day.")
    titles: list[str] = Field(
        default_factory=lambda: ["Giao ban tuần", "Họp chuyên đề chuyển đổi số"], min_length=1
    )


class Thresholds(_Section):
    """Values above which analytics should raise an alert; the ground truth records them."""

    temperature_c: float | None = 35.0
    humidity_pct: float | None = None
    pm25_ugm3: float | None = 55.0
    noise_dba: float | None = 80.0
    water_level_cm: float | None = 250.0


class VideoSettings(_Section):
    """Camera streams: H.264 over RTSP through one rtsp-server-perl relay."""

    width: int = Field(
        default=320, ge=64, le=1920, multiple_of=2, description="Frame width, pixels."
    )
    height: int = Field(
        default=240, ge=48, le=1080, multiple_of=2, description="Frame height, pixels."
    )
    fps: float = Field(default=5, gt=0, le=30, description="Frames per second of every stream.")
    gop_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="Seconds between keyframes (a new viewer waits up to this for a picture).",
    )
    capture_stamp: bool = Field(
        default=True,
        description="Burn each frame's capture time (wall and scenario clock) into its top rows.",
    )
    host: str = Field(default="127.0.0.1", description="Address viewers connect to.")
    client_port: int = Field(default=8554, ge=1, le=65535, description="Viewers' RTSP port.")
    source_port: int = Field(default=8545, ge=1, le=65535, description="Publishers' port.")
    rtp_start_port: int = Field(default=20000, ge=1024, le=65000)
    streams: list[str] = Field(
        default_factory=list,
        description="Thing ids of the cameras that stream video; '*' for all of them.",
    )

    @model_validator(mode="after")
    def _stamp_fits(self) -> VideoSettings:
        if not self.capture_stamp:
            return self
        if self.width < STAMP_MIN_WIDTH:
            raise ValueError(
                f"a capture stamp needs frames at least {STAMP_MIN_WIDTH} pixels wide"
                f" (width is {self.width}); widen them or set capture_stamp: false"
            )
        strip = capture_stamp.strip_height(self.width)
        if self.height < 2 * strip:
            raise ValueError(
                f"a capture stamp covers the top {strip} rows of a {self.width}-wide frame;"
                f" height {self.height} leaves too little picture (at least {2 * strip})"
            )
        return self

    def gop_frames(self) -> int:
        """Frames from one keyframe to the next."""
        return max(1, round(self.fps * self.gop_s))


class FaultProfile(_Section):
    """Chance, per normal message, that a device also sends each hostile kind."""

    bad_json: Rate = 0.0
    wrong_topic: Rate = 0.0
    oversize: Rate = 0.0
    replayed_seq: Rate = 0.0
    far_future_ts: Rate = 0.0
    kinds: list[DeviceKind] | None = Field(default=None, description="Device kinds (all).")

    def rate(self, kind: HostileKind) -> float:
        value: float = getattr(self, kind.value)
        return value


class SensorGroup(_Section):
    count: int = Field(ge=1, le=1000)
    measures: list[Measure] = Field(min_length=1)
    prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9\-]*$")] = "env"


class SiteTemplate(_Section):
    """A site, or ``repeat`` sites, with devices given by counts and/or one by one."""

    id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    sector: Sector
    district: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    repeat: int | None = Field(
        default=None, ge=1, le=500, description="Make this many sites; {n} in id and name."
    )
    kiosks: Count = 0
    counters: Count = 0
    counter_services: list[str] | None = Field(
        default=None, description="Service codes dealt round-robin to counters (all)."
    )
    cameras: dict[CameraScene, Count] = Field(default_factory=dict)
    meeting_rooms: Count = 0
    room_capacity: int = Field(default=20, ge=1, le=1000)
    sensors: list[SensorGroup] = Field(default_factory=list)
    devices: list[DeviceSpec] = Field(default_factory=list)


class Incident(_Section):
    """Something that happens to one device at a time of day (``day`` 0 is the start day)."""

    what: IncidentKind
    device: str = Field(description="Thing id, e.g. thaibinh.hcc:counter-07.")
    day: int = Field(default=0, ge=0, le=60)
    at: dt.time
    until: dt.time | None = Field(
        default=None, description="End (the next day when not after `at`); none: to the end."
    )
    peak_cm: float | None = Field(default=None, description="water_level_spike: highest level.")
    skew_s: float = Field(default=-600.0, description="clock_skew: added to the device's ts.")
    count: int = Field(default=50, ge=1, le=100_000, description="garbage / burst: messages.")
    people: int = Field(default=1, ge=1, le=20, description="intrusion: intruders in view.")

    def window(self, start_day: date, tz: timezone) -> tuple[float, float | None]:
        """Start and end (epoch seconds) of this incident; end None when open-ended."""
        day = start_day + timedelta(days=self.day)
        begin = datetime.combine(day, self.at, tz)
        if self.until is None:
            return begin.timestamp(), None
        end = datetime.combine(day, self.until, tz)
        if end <= begin:
            end += timedelta(days=1)
        return begin.timestamp(), end.timestamp()


class Scenario(_Section):
    """A whole scenario file."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=64)]
    description: str = ""
    seed: int = Field(default=2020, description="Seed of every device's random generator.")
    utc_offset: Annotated[str, Field(pattern=r"^[+-]\d{2}:\d{2}$")] = "+07:00"
    start: StartSpec = Field(default_factory=StartSpec)
    speed: float = Field(default=60.0, gt=0, le=10_000, description="Default speed (×).")
    office: OfficeHours = Field(default_factory=OfficeHours)
    services: list[ServiceType] = Field(min_length=1)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    meetings: MeetingSettings = Field(default_factory=MeetingSettings)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    video: VideoSettings = Field(default_factory=VideoSettings)
    fault_profiles: dict[str, FaultProfile] = Field(default_factory=dict)
    sites: list[SiteTemplate] = Field(min_length=1)
    incidents: list[Incident] = Field(default_factory=list)

    _registry: RegistrySpec = PrivateAttr()

    @model_validator(mode="after")
    def _expand_and_check(self) -> Scenario:
        problems: list[InitErrorDetails] = []
        sites = list(_expand_sites(self, problems))
        if not problems:
            try:
                self._registry = RegistrySpec(sites=sites)
            except ValidationError as exc:
                for problem in validation.problems(exc):
                    problems.append(_problem(("sites",), problem.message, "registry"))
        if not problems:
            self._check_references(problems)
        if problems:
            raise ValidationError.from_exception_data("Scenario", problems)
        return self

    def _check_references(self, problems: list[InitErrorDetails]) -> None:
        kinds = {
            f"{site.id}:{device.name}": device
            for site in self._registry.sites
            for device in site.devices
        }
        codes = {service.code for service in self.services}
        for index, incident in enumerate(self.incidents):
            device = kinds.get(incident.device)
            where = ("incidents", index, "device")
            if device is None:
                problems.append(_problem(where, f"no device {incident.device!r} in the scenario"))
                continue
            allowed = INCIDENT_DEVICE_KINDS.get(incident.what)
            if allowed is not None and device.kind not in allowed:
                problems.append(
                    _problem(
                        where,
                        f"{incident.what} needs a {' or '.join(sorted(allowed))},"
                        f" but {incident.device} is a {device.kind}",
                    )
                )
            if incident.what is IncidentKind.WATER_LEVEL_SPIKE and Measure.WATER_LEVEL not in (
                measures_of(device.attributes)
            ):
                problems.append(_problem(where, f"{incident.device} does not measure water_level"))
        for index, thing_id in enumerate(self.video.streams):
            if thing_id == "*":
                continue
            device = kinds.get(thing_id)
            if device is None or device.kind is not DeviceKind.CAMERA:
                problems.append(
                    _problem(("video", "streams", index), f"{thing_id!r} is not a camera here")
                )
        for index, template in enumerate(self.sites):
            for code in template.counter_services or []:
                if code not in codes:
                    problems.append(
                        _problem(
                            ("sites", index, "counter_services"),
                            f"service {code!r} is not in `services` ({', '.join(sorted(codes))})",
                        )
                    )

    def registry_spec(self) -> RegistrySpec:
        """The scenario's sites and devices as the registry provisions them."""
        return self._registry

    def tz(self) -> timezone:
        return utc_offset(self.utc_offset)

    def start_time(self, now: float) -> float:
        """Epoch seconds where simulated time starts, given real time ``now``."""
        if self.start.at is not None:
            at = self.start.at
            return (at if at.tzinfo else at.replace(tzinfo=self.tz())).timestamp()
        day = datetime.fromtimestamp(now, self.tz()).date() - timedelta(days=self.start.days_back)
        working = {weekday.number for weekday in self.office.days}
        if self.start.working_day and working:
            while day.weekday() not in working:
                day -= timedelta(days=1)
        return datetime.combine(day, self.start.time, self.tz()).timestamp()

    def streamed_cameras(self) -> set[str]:
        """Thing ids of the cameras that encode video."""
        if "*" in self.video.streams:
            return {
                f"{site.id}:{device.name}"
                for site in self._registry.sites
                for device in site.devices
                if device.kind is DeviceKind.CAMERA
            }
        return set(self.video.streams)


def measures_of(attributes: Mapping[str, AttributeValue]) -> list[Measure]:
    """The measures of a sensor (attribute ``measures``, comma-separated)."""
    text = str(attributes.get("measures", "temperature,humidity,pm25,noise"))
    return [Measure(part.strip()) for part in text.split(",") if part.strip()]


def _problem(loc: tuple[str | int, ...], message: str, code: str = "scenario") -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError(code, "{message}", {"message": message}), loc=loc, input=None
    )


def _expand_sites(scenario: Scenario, problems: list[InitErrorDetails]) -> list[SiteSpec]:
    codes = [service.code for service in scenario.services]
    sites: list[SiteSpec] = []
    for index, template in enumerate(scenario.sites):
        for n in range(1, (template.repeat or 1) + 1):
            try:
                sites.append(_expand_site(template, n, codes))
            except ValidationError as exc:
                for problem in validation.problems(exc):
                    first = problem.loc[0] if problem.loc else None
                    field = first if isinstance(first, str) and first != "devices" else None
                    where = ("sites", index, field) if field else ("sites", index)
                    problems.append(_problem(where, f"{problem.message} (site {n} of this entry)"))
                break
            except (KeyError, ValueError, IndexError) as exc:
                problems.append(_problem(("sites", index, "id"), f"cannot expand {{n}}: {exc}"))
                break
    return sites


def _expand_site(template: SiteTemplate, n: int, codes: list[str]) -> SiteSpec:
    repeat = template.repeat is not None
    devices: list[dict[str, Any]] = []
    for i in range(1, template.kiosks + 1):
        devices.append({"name": f"kiosk-{i:02d}", "kind": "kiosk", "label": f"Máy lấy số {i:02d}"})
    services = template.counter_services or codes
    for i in range(1, template.counters + 1):
        devices.append(
            {
                "name": f"counter-{i:02d}",
                "kind": "counter",
                "label": f"Quầy {i:02d}",
                "attributes": {"services": services[(i - 1) % len(services)], "desk": f"{i:02d}"},
            }
        )
    short = {
        CameraScene.COUNTER_DESK: "desk",
        CameraScene.CORRIDOR: "corridor",
        CameraScene.GATE: "gate",
    }
    # labels are what operators read on the console and the boards: Vietnamese
    spoken = {
        CameraScene.COUNTER_DESK: "quầy",
        CameraScene.CORRIDOR: "hành lang",
        CameraScene.GATE: "cổng",
    }
    for scene, count in template.cameras.items():
        for i in range(1, count + 1):
            attributes: dict[str, str | int | float | bool] = {"scene": scene.value}
            if scene is CameraScene.COUNTER_DESK and i <= template.counters:
                attributes["watches"] = f"counter-{i:02d}"
            devices.append(
                {
                    "name": f"cam-{short[scene]}-{i:02d}",
                    "kind": "camera",
                    "label": f"Camera {spoken[scene]} {i:02d}",
                    "attributes": attributes,
                }
            )
    for i in range(1, template.meeting_rooms + 1):
        devices.append(
            {
                "name": f"room-{i:02d}",
                "kind": "meeting_room",
                "label": f"Phòng họp {i}",
                "attributes": {"capacity": template.room_capacity},
            }
        )
    for group in template.sensors:
        for i in range(1, group.count + 1):
            devices.append(
                {
                    "name": f"{group.prefix}-{i:02d}",
                    "kind": "sensor",
                    "label": f"Cảm biến {group.prefix} {i:02d}",
                    "attributes": {"measures": ",".join(m.value for m in group.measures)},
                }
            )
    devices.extend(device.model_dump() for device in template.devices)
    return SiteSpec.model_validate(
        {
            "id": template.id.format(n=n) if repeat else template.id,
            "name": template.name.format(n=n) if repeat else template.name,
            "sector": template.sector,
            "district": template.district,
            "lat": template.lat,
            "lon": template.lon,
            "devices": devices,
        }
    )


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped with citytwin."""
    folder = resources.files("simulators") / BUNDLED
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def scenario_path(name_or_path: str | Path) -> Path:
    """The file of a bundled scenario name (``thaibinh``) or of a path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return Path(name_or_path)
    candidate = Path(str(resources.files("simulators") / BUNDLED / f"{text}.yaml"))
    if not candidate.exists():
        raise ScenarioError(
            [
                f"no scenario named {text!r}; bundled: {', '.join(bundled_scenarios())}"
                " (or give a path to a .yaml file)"
            ]
        )
    return candidate


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read a bundled scenario by name or a scenario file by path.

    Raises ``ScenarioError`` whose lines name the file, line and field of each problem.
    """
    path = scenario_path(name_or_path)
    try:
        scenario = load_yaml_model(path, Scenario)
    except YamlModelError as exc:
        raise ScenarioError(exc.problems) from exc
    logger.info(
        "scenario %s: %d sites, %d devices, %d incidents",
        scenario.name,
        len(scenario.registry_spec().sites),
        sum(len(site.devices) for site in scenario.registry_spec().sites),
        len(scenario.incidents),
    )
    return scenario
