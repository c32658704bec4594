"""What an accepted device message changes in its twin: a merge patch of reported properties.

Each message writes ``connectivity.online``/``lastSeen`` and what its payload class says
(the table of docs/twins.md lists every property, `twins.definitions` declares them). A
patch touches ``properties`` only, never ``desiredProperties``, which belong to operators.
The patch is ``{"features": {name: {"properties": {…}}}}``, ready for `merge_patch` and a
PATCH of the thing; ingest folds the patches of one thing while they wait.

This runs once per accepted message (~15k/s): it matches on the payload's class and builds
plain dicts, about 1 µs a message (``benchmarks/ingest_bench.py``).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from twins.payloads import (
    BookingEnded,
    BookingStarted,
    BreakEnded,
    BreakStarted,
    CameraTelemetry,
    CommandAck,
    CounterTelemetry,
    DeviceMessage,
    DeviceState,
    KioskTelemetry,
    MeetingRoomTelemetry,
    Motion,
    NoShow,
    OfficerLogin,
    OfficerLogout,
    SensorFault,
    SensorTelemetry,
    ServiceFinished,
    ServiceStarted,
    SessionEnded,
    SessionStarted,
    Status,
    Tamper,
    TicketCalled,
    TicketIssued,
)

Patch = dict[str, Any]
"""``{"features": {feature: {"properties": {name: value}}}}`` (JSON values only)."""


def iso_ms(epoch_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, as twins show times."""
    seconds, millis = divmod(epoch_ms, 1000)
    return f"{_iso_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=1024)
def _iso_second(epoch_s: int) -> str:
    # messages of one second share this part (formatting it is most of iso_ms's cost)
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def stale_patch(stale: bool) -> Patch:
    """``connectivity.stale``: ingest's own finding that a device went silent (or spoke)."""
    return {"features": {"connectivity": {"properties": {"stale": stale}}}}


def reported_patch(message: DeviceMessage, ts_ms: int) -> Patch:
    """The merge patch of the twin's reported properties for an accepted ``message``
    observed at ``ts_ms``."""
    seen = iso_ms(ts_ms)
    data = message.data
    connectivity: dict[str, Any] = {"online": True, "lastSeen": seen}
    features: dict[str, Any] = {"connectivity": {"properties": connectivity}}

    def put(feature: str, **properties: Any) -> None:
        entry = features.get(feature)
        if entry is None:
            features[feature] = {"properties": properties}
        else:
            entry["properties"].update(properties)

    match data:
        # telemetry: the most frequent messages first
        case CounterTelemetry(waiting=waiting, officer_present=present, serving=serving):
            put("queue", waiting=waiting)
            put("staff", present=present)
            if serving is not None:
                put("service", currentTicket=serving)
        case SensorTelemetry():
            put("measurements", **_measurements(data))
        case CameraTelemetry(fps=fps, bitrate_kbps=bitrate, people=people):
            put("stream", fps=fps, bitrateKbps=bitrate)
            if people is not None:
                put("presence", people=people)
        case KioskTelemetry(queue_length=length, paper_ok=paper_ok):
            put("tickets", queueLength=length, paperLow=not paper_ok)
        case MeetingRoomTelemetry(occupancy=people, co2_ppm=co2):
            put("occupancy", people=people, occupied=people > 0)
            if co2 is not None:
                put("occupancy", co2Ppm=co2)
        case Status(state=state):
            connectivity["online"] = state == "online"
        # counter events
        case (
            TicketCalled(ticket=ticket, service=service)
            | ServiceStarted(ticket=ticket, service=service)
        ):
            put("service", open=True, currentTicket=ticket, serviceCode=service)
        case ServiceFinished() | NoShow():
            put("service", currentTicket=None)
        case OfficerLogin(officer=officer):
            put("staff", present=True, officerId=officer, absentSince=None)
        case OfficerLogout() | BreakStarted():
            put("staff", present=False, absentSince=seen)
        case BreakEnded():
            put("staff", present=True, absentSince=None)
        # other events
        case TicketIssued(ticket=ticket):
            put("tickets", lastTicket=ticket)
        case Motion(zone=zone):
            put("presence", lastMotion=seen, lastMotionZone=zone)
        case Tamper():
            put("presence", lastTamper=seen)
        case BookingStarted(booking=booking, title=title, attendees=attendees):
            put("booking", current={"booking": booking, "title": title, "attendees": attendees})
        case BookingEnded():
            put("booking", current=None)
        case SessionStarted(paperless=paperless):
            put("booking", paperless=paperless, sessionOpen=True)
        case SessionEnded():
            put("booking", sessionOpen=False)
        case SensorFault(code=code):
            connectivity.update(lastFault=code, lastFaultAt=seen)
        # state and answers
        case DeviceState():
            if data.firmware is not None:
                connectivity["firmware"] = data.firmware
            configuration = _configuration(data)
            if configuration:
                put("configuration", **configuration)
        case CommandAck(id=ident, ok=ok, detail=detail):
            ack: dict[str, Any] = {"id": ident, "ok": ok}
            if detail is not None:
                ack["detail"] = detail
            put("commands", lastAck=ack)
    return {"features": features}


def _measurements(data: SensorTelemetry) -> dict[str, float]:
    values = {
        "temperatureC": data.temperature_c,
        "humidityPct": data.humidity_pct,
        "pm25Ugm3": data.pm25_ugm3,
        "noiseDba": data.noise_dba,
        "waterLevelCm": data.water_level_cm,
    }
    return {name: value for name, value in values.items() if value is not None}


def _configuration(data: DeviceState) -> dict[str, Any]:
    values = {
        "reportIntervalSeconds": data.report_interval_s,
        "streamUrl": data.stream_url,
        "width": data.width,
        "height": data.height,
        "fps": data.fps,
        "service": data.service,
        "capacity": data.capacity,
    }
    return {name: value for name, value in values.items() if value is not None}


def fold_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Fold ``patch`` into ``target`` so applying ``target`` equals applying both in order
    (a ``null`` stays a ``null``: it deletes when the folded patch is applied)."""
    # two levels per call: a twin patch (features/name/properties/…) takes 5 calls, not 9
    for key, value in patch.items():
        if type(value) is not dict:
            target[key] = value
            continue
        current = target.get(key)
        if type(current) is not dict:
            current = target[key] = {}
        for inner_key, inner in value.items():
            if type(inner) is dict:
                below = current.get(inner_key)
                if type(below) is not dict:
                    below = current[inner_key] = {}
                fold_patch(below, inner)
            else:
                current[inner_key] = inner
