"""Environmental and flood sensors: daily cycles, measurement noise, slow drift.

Values follow a Thái Bình late-autumn day: temperature 19–27 °C peaking mid-afternoon,
humidity falling as it warms, PM2.5 peaking with the morning and evening traffic, noise
following the working day, and river water levels following the semi-diurnal tide
(12 h 25 min). Each sensor has its own offset and drift. A ``water_level_spike`` raises
the level to ``peak_cm`` and back; ``sensor_stuck`` repeats the last value. Crossings of
the scenario's thresholds are written to the ground truth as ``threshold`` intervals
(ending when the value falls 5 % below the limit).
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from simulators.devices.base import DeviceContext, SimDevice
from simulators.scenario import MEASURE_FIELD, IncidentKind, Measure, measures_of
from simulators.schedule import hour_of_day
from twins.kinds import DeviceKind
from twins.payloads import SensorTelemetry

TIDE_PERIOD_S = 12.42 * 3600
HYSTERESIS = 0.05
"""A threshold interval ends when the value falls 5 % below the limit, not at every dip."""
LIMITS: dict[Measure, tuple[float, float]] = {
    Measure.TEMPERATURE: (-50, 80),
    Measure.HUMIDITY: (0, 100),
    Measure.PM25: (0, 2000),
    Measure.NOISE: (0, 200),
    Measure.WATER_LEVEL: (-1000, 10000),
}


class Sensor(SimDevice):
    kind = DeviceKind.SENSOR

    def __init__(self, context: DeviceContext) -> None:
        super().__init__(context)
        self.measures = measures_of(context.device.attributes)
        rng = self.rng
        self.offset = {measure: rng.gauss(0, 1) for measure in Measure}
        # drift per day, in the measure's unit
        self.drift = {measure: rng.gauss(0, 0.15) for measure in Measure}
        self.tide_phase = rng.uniform(0, 2 * math.pi)
        self.river_base = rng.uniform(90, 150)
        self.stuck: dict[str, float] | None = None
        self.above: dict[Measure, tuple[int, float]] = {}
        self.thresholds = context.scenario.thresholds

    def value(self, measure: Measure, t: float) -> float:
        h = hour_of_day(t, self.clock.tz)
        days = (t - self.clock.start) / 86_400
        noise = self.rng.gauss
        drift = self.drift[measure] * days
        if measure is Measure.TEMPERATURE:
            v = (
                23
                + 4 * math.sin(2 * math.pi * (h - 9) / 24)
                + self.offset[measure]
                + noise(0, 0.15)
            )
        elif measure is Measure.HUMIDITY:
            v = 76 - 12 * math.sin(2 * math.pi * (h - 9) / 24) + 3 * self.offset[measure]
            v += noise(0, 0.8)
        elif measure is Measure.PM25:
            traffic = math.exp(-((h - 7.5) ** 2) / 1.2) + 0.8 * math.exp(-((h - 17.5) ** 2) / 1.5)
            v = 28 + 22 * traffic + 4 * self.offset[measure] + noise(0, 2.5)
        elif measure is Measure.NOISE:
            day = 1 / (1 + math.exp(-(h - 6.5) * 2)) - 1 / (1 + math.exp(-(h - 21) * 2))
            v = 42 + 22 * day + 2 * self.offset[measure] + noise(0, 1.5)
        else:
            tide = 35 * math.sin(2 * math.pi * t / TIDE_PERIOD_S + self.tide_phase)
            v = self.river_base + tide + noise(0, 0.8)
            spike = self.active(IncidentKind.WATER_LEVEL_SPIKE, t)
            if spike is not None:
                v += self._spike(spike.start, spike.end, t, spike.incident.peak_cm, v)
        low, high = LIMITS[measure]
        return round(min(max(v + drift, low), high), 2)

    @staticmethod
    def _spike(start: float, end: float | None, t: float, peak: float | None, base: float) -> float:
        """Rise over the first third, hold, fall over the last third (a flood wave)."""
        height = (peak if peak is not None else base + 150) - base
        if end is None:
            return height * min(1.0, (t - start) / 1800)
        third = (end - start) / 3
        if t < start + third:
            return height * (t - start) / third
        if t < end - third:
            return height
        return height * max(0.0, (end - t) / third)

    def sample(self, t: float) -> BaseModel:
        if self.active(IncidentKind.SENSOR_STUCK, t) is not None and self.stuck is not None:
            return SensorTelemetry.model_validate(self.stuck)
        values = {MEASURE_FIELD[m]: self.value(m, t) for m in self.measures}
        self.stuck = values
        self._track_thresholds(values, t)
        return SensorTelemetry.model_validate(values)

    def _track_thresholds(self, values: dict[str, float], t: float) -> None:
        for measure in self.measures:
            field = MEASURE_FIELD[measure]
            limit: float | None = getattr(self.thresholds, field)
            if limit is None:
                continue
            value = values[field]
            crossing = self.above.get(measure)
            if value > limit and crossing is None:
                details = {"measure": field, "limit": limit, "value": value}
                self.above[measure] = (
                    self.truth.begin("threshold", self.thing_id, t, details),
                    value,
                )
            elif crossing is not None and value > limit * (1 - HYSTERESIS):
                self.above[measure] = (crossing[0], max(crossing[1], value))
            elif crossing is not None:
                self.truth.end(crossing[0], t, peak=crossing[1])
                del self.above[measure]
