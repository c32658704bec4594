"""Payloads of the MQTT device contract v1: one envelope, a body per device kind and channel.

Every device message is a JSON object::

    {"ts": "2026-11-26T08:15:02.120+07:00" | 1764119702120, "seq": 4182, "data": {...}}

``ts`` is when the device observed what it reports (RFC 3339 or epoch milliseconds; the
platform uses its own clock when absent), ``seq`` a per-device counter that lets the
platform drop duplicates and count gaps, ``data`` the body of the device's kind and channel.
``status`` messages (birth and last will) carry ``{"state": "online"|"offline"}`` and may
omit ``ts`` and ``seq``, since a last will is written when the device connects.

Types are strict, as the published JSON Schemas say: an integer field takes a JSON integer
only (not ``"300001"``, not ``300002.0``), a number field a JSON number (``12`` or
``12.5``, not ``"12.5"`` or ``true``), a boolean ``true``/``false`` only; a key may not
appear twice in one object. A refusal names the field (``data.water_level_cm: Input
should be a valid number``) and carries a `ContractReason`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from twins.errors import ContractError, ContractReason
from twins.json_keys import repeated_key
from twins.kinds import DeviceKind
from twins.thing_id import ThingId
from twins.topics import Channel
from twins.validation import describe, problems

MAX_PAYLOAD_BYTES = 16_384
"""Largest device message accepted; larger ones are dead-lettered as ``too_large``."""


def _to_epoch_ms(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("ts must be an RFC 3339 string or epoch milliseconds, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"ts {value!r} is not an RFC 3339 timestamp") from exc
        if parsed.tzinfo is None:
            raise ValueError(f"ts {value!r} has no UTC offset (add 'Z' or '+07:00')")
        return int(parsed.timestamp() * 1000)
    return value


EpochMs = Annotated[
    int,
    BeforeValidator(_to_epoch_ms),
    Field(ge=0, lt=2**53),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
            ],
            "description": "RFC 3339 time with a UTC offset, or epoch milliseconds.",
        }
    ),
]
"""A timestamp as epoch milliseconds, accepted as RFC 3339 text or as an integer."""


class Body(BaseModel):
    """Base of every ``data`` body: unknown fields, NaN/Infinity and values of another JSON
    type than the field's (``"12.5"`` for a number) are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)


Count = Annotated[int, Field(ge=0, le=1_000_000)]
Ticket = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]
ServiceCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")]
Label = Annotated[str, Field(min_length=1, max_length=200)]


# --- telemetry -------------------------------------------------------------------------


class SensorTelemetry(Body):
    """Environmental and flood measurements; a sensor sends the ones it has."""

    temperature_c: float | None = Field(default=None, ge=-50, le=80)
    humidity_pct: float | None = Field(default=None, ge=0, le=100)
    pm25_ugm3: float | None = Field(default=None, ge=0, le=2000)
    noise_dba: float | None = Field(default=None, ge=0, le=200)
    water_level_cm: float | None = Field(default=None, ge=-1000, le=10000)

    @model_validator(mode="after")
    def _at_least_one(self) -> SensorTelemetry:
        if all(value is None for value in self.model_dump().values()):
            raise ValueError("sensor telemetry carries no measurement")
        return self


class CameraTelemetry(Body):
    """Health of a camera's stream, and what its on-board analytics see if it has any."""

    fps: float = Field(ge=0, le=240)
    bitrate_kbps: float = Field(ge=0, le=200_000)
    people: Count | None = None


class CounterTelemetry(Body):
    """A service counter: who waits, whether the officer is at the desk, what is served."""

    waiting: Count
    officer_present: bool
    serving: Ticket | None = None


class KioskTelemetry(Body):
    """A queue-ticket kiosk."""

    queue_length: Count
    paper_ok: bool = True


class MeetingRoomTelemetry(Body):
    """A meeting room's occupancy sensor."""

    occupancy: Count
    co2_ppm: float | None = Field(default=None, ge=0, le=10_000)


# --- events ----------------------------------------------------------------------------


class TicketIssued(Body):
    type: Literal["ticket_issued"]
    ticket: Ticket
    service: ServiceCode


class TicketCalled(Body):
    type: Literal["ticket_called"]
    ticket: Ticket
    service: ServiceCode


class ServiceStarted(Body):
    type: Literal["service_started"]
    ticket: Ticket
    service: ServiceCode


class ServiceFinished(Body):
    type: Literal["service_finished"]
    ticket: Ticket
    service: ServiceCode
    duration_s: float = Field(ge=0, le=86_400)


class NoShow(Body):
    type: Literal["no_show"]
    ticket: Ticket
    service: ServiceCode


class OfficerLogin(Body):
    type: Literal["officer_login"]
    officer: Label


class OfficerLogout(Body):
    type: Literal["officer_logout"]
    officer: Label


class BreakStarted(Body):
    type: Literal["break_started"]


class BreakEnded(Body):
    type: Literal["break_ended"]


class Motion(Body):
    type: Literal["motion"]
    zone: Label


class Tamper(Body):
    type: Literal["tamper"]


class BookingStarted(Body):
    type: Literal["booking_started"]
    booking: Label
    title: Label
    attendees: Count


class BookingEnded(Body):
    type: Literal["booking_ended"]
    booking: Label


class SessionStarted(Body):
    """A paperless meeting session opened on the room's panel."""

    type: Literal["session_started"]
    booking: Label | None = None
    paperless: bool = True


class SessionEnded(Body):
    type: Literal["session_ended"]
    booking: Label | None = None
    documents: Count = 0


class SensorFault(Body):
    type: Literal["fault"]
    code: Annotated[str, Field(min_length=1, max_length=64)]


CounterEvent = Annotated[
    TicketCalled
    | ServiceStarted
    | ServiceFinished
    | NoShow
    | OfficerLogin
    | OfficerLogout
    | BreakStarted
    | BreakEnded,
    Field(discriminator="type"),
]
KioskEvent = Annotated[TicketIssued, Field(discriminator="type")]
CameraEvent = Annotated[Motion | Tamper, Field(discriminator="type")]
MeetingRoomEvent = Annotated[
    BookingStarted | BookingEnded | SessionStarted | SessionEnded, Field(discriminator="type")
]
SensorEvent = Annotated[SensorFault, Field(discriminator="type")]


# --- state, status, commands -------------------------------------------------------------


class DeviceState(Body):
    """Reported configuration of a device (its twin keeps it under ``properties``)."""

    firmware: Label | None = None
    report_interval_s: float | None = Field(default=None, gt=0, le=86_400)
    stream_url: Annotated[str, Field(max_length=500)] | None = None
    width: Count | None = None
    height: Count | None = None
    fps: float | None = Field(default=None, gt=0, le=240)
    service: ServiceCode | None = None
    capacity: Count | None = None


class Status(Body):
    """Birth (``online``) and last will (``offline``), retained on the status topic."""

    state: Literal["online", "offline"]
    reason: Label | None = None


class Command(Body):
    """A command from the platform to a device, on its ``cmd`` topic."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    args: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class CommandAck(Body):
    """A device's answer to a command."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    ok: bool
    detail: Label | None = None


DataT = TypeVar("DataT")


class Envelope(BaseModel, Generic[DataT]):
    """The JSON object every device message is."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    ts: EpochMs | None = None
    seq: Annotated[int, Field(ge=0, lt=2**53)] | None = None
    data: DataT

    @model_validator(mode="after")
    def _seq_outside_status(self) -> Envelope[DataT]:
        if self.seq is None and not isinstance(self.data, Status | Command):
            raise ValueError("seq is required on telemetry, event, state and cmd/ack messages")
        return self


_TELEMETRY: dict[DeviceKind, Any] = {
    DeviceKind.SENSOR: SensorTelemetry,
    DeviceKind.CAMERA: CameraTelemetry,
    DeviceKind.COUNTER: CounterTelemetry,
    DeviceKind.KIOSK: KioskTelemetry,
    DeviceKind.MEETING_ROOM: MeetingRoomTelemetry,
}
_EVENT: dict[DeviceKind, Any] = {
    DeviceKind.SENSOR: SensorEvent,
    DeviceKind.CAMERA: CameraEvent,
    DeviceKind.COUNTER: CounterEvent,
    DeviceKind.KIOSK: KioskEvent,
    DeviceKind.MEETING_ROOM: MeetingRoomEvent,
}


def body_type(kind: DeviceKind, channel: Channel) -> Any:
    """The ``data`` type of ``kind`` on ``channel``."""
    if channel is Channel.TELEMETRY:
        return _TELEMETRY[kind]
    if channel is Channel.EVENT:
        return _EVENT[kind]
    return {
        Channel.STATE: DeviceState,
        Channel.STATUS: Status,
        Channel.CMD: Command,
        Channel.CMD_ACK: CommandAck,
    }[channel]


_ADAPTERS: dict[tuple[DeviceKind, Channel], TypeAdapter[Envelope[Any]]] = {
    (kind, channel): TypeAdapter(Envelope[body_type(kind, channel)])  # type: ignore[arg-type,misc]
    for kind in DeviceKind
    for channel in Channel
}


@dataclass(slots=True, frozen=True)
class DeviceMessage:
    """A validated device message, ready for storage."""

    thing_id: ThingId
    kind: DeviceKind
    channel: Channel
    ts_ms: int | None
    seq: int | None
    data: BaseModel


def envelope_schema(kind: DeviceKind, channel: Channel) -> dict[str, Any]:
    """JSON Schema of the whole message of ``kind`` on ``channel``."""
    return _ADAPTERS[(kind, channel)].json_schema()


def parse_payload(
    thing_id: ThingId, kind: DeviceKind, channel: Channel, payload: bytes
) -> DeviceMessage:
    """Validate a raw payload; ``ContractError`` says why it was refused and where."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        where = _where(thing_id, kind, channel)
        raise ContractError(
            f"payload of {where} is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES} allowed",
            reason=ContractReason.TOO_LARGE,
        )
    try:
        envelope = _ADAPTERS[(kind, channel)].validate_json(payload)
    except ValidationError as exc:
        raise _refusal(_where(thing_id, kind, channel), exc) from None
    data = envelope.data
    keys = len(envelope.model_fields_set) + len(data.model_fields_set)
    if isinstance(data, Command):
        keys += len(data.args)
    repeated = repeated_key(payload, keys)
    if repeated is not None:
        raise ContractError(
            f"payload of {_where(thing_id, kind, channel)} breaks the contract:"
            f" {repeated}: key appears twice",
            reason=ContractReason.SCHEMA,
        )
    return DeviceMessage(thing_id, kind, channel, envelope.ts, envelope.seq, data)


def _where(thing_id: ThingId, kind: DeviceKind, channel: Channel) -> str:
    # only on refusals: formatting it costs about a microsecond, a third of a validation
    return f"{thing_id} ({kind}) on {channel}"


def _refusal(where: str, exc: ValidationError) -> ContractError:
    found = problems(exc)
    if any(problem.type.startswith("json_") for problem in found):
        return ContractError(
            f"payload of {where} is not valid JSON: {found[0].message}",
            reason=ContractReason.NOT_JSON,
        )
    # NaN/Infinity is its own reason whatever the field's type (an integer field says
    # "valid integer" about it, a number field "finite number")
    not_finite = any(
        isinstance(problem.input, float) and not math.isfinite(problem.input) for problem in found
    )
    reason = ContractReason.NOT_FINITE if not_finite else ContractReason.SCHEMA
    return ContractError(f"payload of {where} breaks the contract: {describe(exc)}", reason=reason)


def encode(envelope: Envelope[Any]) -> bytes:
    """The JSON bytes of a message, without absent optional fields."""
    return envelope.model_dump_json(exclude_none=True).encode()
