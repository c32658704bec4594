"""Simulated devices, one module per kind; ``make_device`` picks the class of a kind."""

from __future__ import annotations

from simulators.devices.base import DeviceContext, SimDevice
from simulators.devices.camera import Camera
from simulators.devices.meeting_room import MeetingRoom
from simulators.devices.queueing import Counter, Kiosk
from simulators.devices.sensor import Sensor
from twins.kinds import DeviceKind

DEVICE_CLASSES: dict[DeviceKind, type[SimDevice]] = {
    DeviceKind.SENSOR: Sensor,
    DeviceKind.KIOSK: Kiosk,
    DeviceKind.COUNTER: Counter,
    DeviceKind.MEETING_ROOM: MeetingRoom,
    DeviceKind.CAMERA: Camera,
}


def make_device(context: DeviceContext) -> SimDevice:
    """The simulated device of ``context.device.kind``."""
    return DEVICE_CLASSES[context.device.kind](context)


__all__ = ["DEVICE_CLASSES", "DeviceContext", "SimDevice", "make_device"]
