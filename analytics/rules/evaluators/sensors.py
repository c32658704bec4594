"""Sensor rules: a measurement past a limit (with hysteresis and a minimum duration), and a
sensor stuck on the same value."""

from __future__ import annotations

from analytics.alerts.model import AlertSignal, RuleType
from analytics.rules.calendar import Calendar
from analytics.rules.config import StuckRule, ThresholdRule
from analytics.rules.evaluators.base import MINUTE_MS, Evaluator, Subject, local_hhmm
from analytics.rules.inputs import Fact
from twins.payloads import SensorTelemetry

FIELD_VI = {
    "temperature_c": ("nhiệt độ", "°C"),
    "humidity_pct": ("độ ẩm", "%"),
    "pm25_ugm3": ("bụi PM2.5", "µg/m³"),
    "noise_dba": ("tiếng ồn", "dBA"),
    "water_level_cm": ("mực nước", "cm"),
}
FIELD_EN = {
    "temperature_c": "temperature",
    "humidity_pct": "humidity",
    "pm25_ugm3": "PM2.5",
    "noise_dba": "noise",
    "water_level_cm": "water level",
}


class ThresholdEvaluator(Evaluator[ThresholdRule]):
    """Past ``limit`` continuously for ``min_duration_s``; cleared back at ``clear_limit``.

    The run that counts toward the duration starts at the first sample past the limit
    and ends at the first sample back at the clear limit (values between the two keep
    it going: hysteresis both ways).
    """

    rule_type = RuleType.THRESHOLD

    def __init__(self, rule: ThresholdRule, subject: Subject, calendar: Calendar | None) -> None:
        super().__init__(rule, subject, calendar)
        self.since: int | None = None
        self.peak: float | None = None
        self.value: float | None = None

    def _past(self, value: float) -> bool:
        rule = self.rule
        return value > rule.limit if rule.above is not None else value < rule.limit

    def _back(self, value: float) -> bool:
        rule = self.rule
        limit = rule.clear_limit
        return value <= limit if rule.above is not None else value >= limit

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        if not isinstance(body, SensorTelemetry):
            return []
        self.note_sector(fact)
        value: float | None = getattr(body, self.rule.field.value)
        if value is None:
            return []
        self.value = value
        if self._back(value):
            self.since = self.peak = None
            return self._clear(fact.ts, value)
        if self.since is None:
            if not self._past(value):
                return []
            self.since, self.peak = fact.ts, value
        else:
            peak = self.peak if self.peak is not None else value
            self.peak = max(peak, value) if self.rule.above is not None else min(peak, value)
        due = self.since + round(self.rule.min_duration_s * 1000)
        return self._raise(due) if fact.ts >= due else []

    def deadline(self) -> int | None:
        if self.since is None or self.is_active():
            return None
        return self.since + round(self.rule.min_duration_s * 1000)

    def on_time(self, now: int) -> list[AlertSignal]:
        due = self.deadline()
        return self._raise(due) if due is not None and now >= due else []

    def _raise(self, at: int) -> list[AlertSignal]:
        rule = self.rule
        name_vi, unit = FIELD_VI[rule.field.value]
        word_vi, word_en = ("vượt", "above") if rule.above is not None else ("dưới", "below")
        return self.raised(
            at,
            f"{self.subject.thing}: {name_vi} {self.value:g} {unit} {word_vi} ngưỡng"
            f" {rule.limit:g} {unit} từ {local_hhmm(self.since or at, self.calendar)}",
            f"{self.subject.thing}: {FIELD_EN[rule.field.value]} {self.value:g} {unit}"
            f" {word_en} the limit {rule.limit:g} {unit}",
            field=rule.field.value,
            limit=rule.limit,
            value=self.value,
            since=self.since,
        )

    def _clear(self, at: int, value: float) -> list[AlertSignal]:
        rule = self.rule
        name_vi, unit = FIELD_VI[rule.field.value]
        return self.cleared(
            at,
            f"{self.subject.thing}: {name_vi} trở lại {value:g} {unit}",
            f"{self.subject.thing}: {FIELD_EN[rule.field.value]} back to {value:g} {unit}",
            field=rule.field.value,
            value=value,
        )


class StuckEvaluator(Evaluator[StuckRule]):
    """The same values (within ``tolerance``) for ``samples`` samples and ``minutes``.

    Judged on samples only: a sensor that stops sending is the offline rule's business,
    so the alert is dated at the sample that completes both conditions.
    """

    rule_type = RuleType.STUCK

    def __init__(self, rule: StuckRule, subject: Subject, calendar: Calendar | None) -> None:
        super().__init__(rule, subject, calendar)
        self.reference: dict[str, float] | None = None
        self.since = 0
        self.count = 0

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        if not isinstance(body, SensorTelemetry):
            return []
        self.note_sector(fact)
        names = [f.value for f in self.rule.fields] or list(FIELD_VI)
        values = {name: v for name in names if (v := getattr(body, name)) is not None}
        if not values:
            return []
        signals: list[AlertSignal] = []
        if self.reference is not None and self._same(values, self.reference):
            self.count += 1
        else:
            signals += self.cleared(
                fact.ts,
                f"{self.subject.thing}: cảm biến đã đổi giá trị",
                f"{self.subject.thing}: the sensor's values change again",
            )
            self.reference, self.since, self.count = values, fact.ts, 1
        rule = self.rule
        if self.count >= rule.samples and fact.ts - self.since >= rule.minutes * MINUTE_MS:
            minutes = round((fact.ts - self.since) / MINUTE_MS, 1)
            signals += self.raised(
                fact.ts,
                f"{self.subject.thing}: cảm biến báo cùng một giá trị suốt {minutes:g} phút",
                f"{self.subject.thing}: the sensor has reported the same values"
                f" for {minutes:g} minutes",
                values=dict(values),
                since=self.since,
                samples=self.count,
            )
        return signals

    def _same(self, values: dict[str, float], reference: dict[str, float]) -> bool:
        if values.keys() != reference.keys():
            return False
        tolerance = self.rule.tolerance
        return all(abs(values[name] - reference[name]) <= tolerance for name in values)
