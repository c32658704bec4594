"""The KPI engine: windows made dirty by event time, recomputed from InfluxDB, written back.

Every event the engine is shown (a normalized event, an alert transition) marks the
15-minute window of its *event time* dirty — a device's offline buffer flushed an hour
late marks the windows it belongs to, not the current one. ``recompute_dirty`` then reads
each dirty day again from InfluxDB (`analytics.kpis.inputs`), recomputes all of its
windows and writes the dirty 15-minute windows, the hours holding them and the day.
Recomputing from the stored data rather than updating running sums keeps late, duplicate
and out-of-order events from ever being counted twice or in the wrong place, and a
restart loses nothing: the data is in InfluxDB. The computing runs in a worker thread:
a province's day is seconds of CPU (4–7 s on a loaded 2-core machine), which on the event
loop of the analytics process would hold its rules, notices and ticks that long (at ×60,
minutes of event time).

Weeks and months are recomputed from the days they hold once a dirty day has ended (a
late event in a past day, or the day closing): percentiles do not add up, so they are
computed from the period's facts, not from the days' values.

A `kpi` point: tags ``kpi``, ``scope`` (``counter:thaibinh.hcc:counter-01``,
``site:thaibinh.hcc``, ``sector:public_administration``, ``province``), ``window``
(``15m``, ``hour``, ``day``, ``week``, ``month``) and, for a breakdown, ``part``
(``rule_type=intrusion``); fields ``value``, ``numerator``, ``denominator`` (ratios and
means) and ``version`` (the catalogue's); time = the window's start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from analytics.kpis import devices, meeting_rooms, operations, service_centre
from analytics.kpis.aggregate import Aggregator, KpiValue
from analytics.kpis.catalogue import CATALOGUE_VERSION
from analytics.kpis.errors import KpiStoreError
from analytics.kpis.influx import KpiInflux, escape_tag, quote_ident, quote_string
from analytics.kpis.inputs import DayInputs, load_day
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import (
    DAY_WINDOWS,
    PROVINCE_TZ,
    Window,
    day_bounds,
    local_day,
    window_end,
    window_start,
)
from twins.events import NormalizedEvent
from twins.registry import Registry

logger = logging.getLogger(__name__)

MEASUREMENT = "kpi"


@dataclass(slots=True, frozen=True)
class RecomputeReport:
    """What one recompute did (for logs and the benchmark)."""

    days: tuple[date, ...]
    rows_read: int
    values: int
    written: int
    read_s: float
    compute_s: float
    write_s: float


def compute(inputs: Iterable[DayInputs], agg: Aggregator, settings: KpiSettings) -> list[KpiValue]:
    """Every KPI of the facts in ``inputs``, over the aggregator's windows."""
    for day in inputs:
        service_centre.contribute(day.tickets, day.counters, day.sectors, agg, settings)
        meeting_rooms.contribute(day.rooms, agg)
        devices.contribute(day.devices, day.buckets, day.above, agg)
        operations.contribute(day.alerts, agg)
    return agg.results()


def line_of(value: KpiValue) -> str:
    """The line-protocol point of a KPI value."""
    tags = (
        f"{MEASUREMENT},kpi={escape_tag(value.kpi)},scope={escape_tag(value.scope)}"
        f",window={value.window.value}"
    )
    if value.part:
        tags += f",part={escape_tag(value.part)}"
    fields = f"value={float(value.value)!r},numerator={float(value.numerator)!r}"
    if value.denominator is not None:
        fields += f",denominator={float(value.denominator)!r}"
    fields += f',version="{CATALOGUE_VERSION}"'
    return f"{tags} {fields} {round(value.start * 1e9)}"


class KpiEngine:
    """Marks windows dirty by event time and recomputes them from InfluxDB."""

    def __init__(
        self,
        client: KpiInflux,
        registry: Registry,
        settings: KpiSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self._dirty: dict[date, set[float]] = defaultdict(set)
        self._working: dict[date, set[float]] = {}
        """Windows being recomputed; a mark meanwhile goes to ``_dirty`` for the next round."""

    # --- what changed -----------------------------------------------------------------------

    def mark(self, t: float) -> None:
        """The 15-minute window holding event time ``t`` (epoch s) must be recomputed."""
        self._dirty[local_day(t, PROVINCE_TZ)].add(window_start(t, Window.QUARTER, PROVINCE_TZ))

    def observe(self, event: NormalizedEvent) -> None:
        """A normalized event from ingest: its device time decides the window."""
        self.mark(event.ts / 1000)

    @property
    def dirty(self) -> dict[date, set[float]]:
        """Windows waiting for a recompute or being recomputed, by day."""
        found = {day: set(starts) for day, starts in self._working.items()}
        for day, starts in self._dirty.items():
            found.setdefault(day, set()).update(starts)
        return found

    # --- running ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Recompute dirty windows every ``recompute_seconds`` until ``stop`` is set.

        When the calendar day turns, the day that ended is marked once more, so its week and
        month are recomputed with it. A failed recompute (InfluxDB away) is logged and its
        windows stay dirty for the next round.
        """
        today = local_day(self.clock(), PROVINCE_TZ)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.recompute_seconds)
            now_day = local_day(self.clock(), PROVINCE_TZ)
            if now_day != today:
                self.mark(day_bounds(today, PROVINCE_TZ)[1] - 1)
                today = now_day
            try:
                await self.recompute_dirty()
            except KpiStoreError as exc:
                logger.error("kpi recompute failed, windows kept dirty: %s", exc)

    # --- recomputing ------------------------------------------------------------------------

    async def recompute_dirty(self) -> list[RecomputeReport]:
        """Recompute every dirty day (oldest first) and the periods of those that ended."""
        reports: list[RecomputeReport] = []
        while self._dirty:
            day = min(self._dirty)
            starts = self._dirty.pop(day)
            self._working[day] = starts
            try:
                reports.append(await self.recompute_day(day, only=starts))
            except Exception:
                self._dirty[day] |= starts  # tried again next time
                raise
            finally:
                del self._working[day]
        return reports

    async def recompute_day(
        self, day: date, *, only: set[float] | None = None, periods: bool = True
    ) -> RecomputeReport:
        """Recompute ``day`` from InfluxDB and write its windows (only the 15-minute windows
        in ``only`` and their hours, when given; the day always); then the week and month
        holding it, if the day has ended and ``periods``."""
        now = self.clock()
        began = time.perf_counter()
        inputs = await load_day(self.client, self.registry, day, self.settings, until=now)
        read = time.perf_counter()
        begin, end = day_bounds(day, PROVINCE_TZ)
        # seconds of CPU for a province's day: off the loop, which also runs the rules
        values = await asyncio.to_thread(
            compute, [inputs], Aggregator(begin, end, DAY_WINDOWS), self.settings
        )
        chosen = [value for value in values if _wanted(value, only)]
        computed = time.perf_counter()
        await self.client.write(
            [line_of(value) for value in chosen], policy=self.settings.retention_policy
        )
        written = time.perf_counter()
        report = RecomputeReport(
            (day,), inputs.rows_read, len(values), len(chosen),
            read - began, computed - read, written - computed,
        )  # fmt: skip
        logger.info(
            "kpi %s: %d rows read, %d values, %d written (read %.2f s, compute %.2f s,"
            " write %.2f s)", day, report.rows_read, report.values, report.written,
            report.read_s, report.compute_s, report.write_s,
        )  # fmt: skip
        if periods and end <= now:
            for window in (Window.WEEK, Window.MONTH):
                await self.recompute_period(window, window_start(begin, window, PROVINCE_TZ))
        return report

    async def recompute_period(self, window: Window, start: float) -> RecomputeReport:
        """Recompute one week or month from the days it holds (up to now)."""
        end = window_end(start, window, PROVINCE_TZ)
        now = self.clock()
        began = time.perf_counter()
        days: list[DayInputs] = []
        day = local_day(start, PROVINCE_TZ)
        while day_bounds(day, PROVINCE_TZ)[0] < min(end, now):
            days.append(await load_day(self.client, self.registry, day, self.settings, until=now))
            day += timedelta(days=1)
        read = time.perf_counter()
        values = await asyncio.to_thread(
            compute, days, Aggregator(start, end, [window]), self.settings
        )
        computed = time.perf_counter()
        await self.client.write(
            [line_of(value) for value in values], policy=self.settings.retention_policy
        )
        written = time.perf_counter()
        return RecomputeReport(
            tuple(d.day for d in days), sum(d.rows_read for d in days), len(values),
            len(values), read - began, computed - read, written - computed,
        )  # fmt: skip


def _wanted(value: KpiValue, only: set[float] | None) -> bool:
    if only is None or value.window is Window.DAY:
        return True
    if value.window is Window.QUARTER:
        return value.start in only
    return any(value.start <= start < value.start + 3600 for start in only)


async def read_values(
    client: KpiInflux,
    *,
    window: Window,
    start: float,
    scope: str | None = None,
    kpi: str | None = None,
    policy: str | None = None,
) -> list[KpiValue]:
    """The `kpi` points of one window (optionally one scope, one KPI) as stored (in
    ``policy``, if they are written to one)."""
    conditions = [f"window = {quote_string(window.value)}", f"time = {round(start * 1e9)}"]
    if scope is not None:
        conditions.append(f"scope = {quote_string(scope)}")
    if kpi is not None:
        conditions.append(f"kpi = {quote_string(kpi)}")
    source = f"{quote_ident(policy)}.{MEASUREMENT}" if policy else MEASUREMENT
    found = await client.query(
        f"SELECT value, numerator, denominator FROM {source} WHERE"
        f" {' AND '.join(conditions)} GROUP BY kpi, scope, part"
    )
    values: list[KpiValue] = []
    for series in found:
        for row in series.rows():
            values.append(
                KpiValue(
                    series.tags.get("kpi", ""),
                    series.tags.get("scope", ""),
                    window,
                    row["time"] / 1000,
                    float(row["value"]),
                    float(row["numerator"] or 0.0),
                    None if row["denominator"] is None else float(row["denominator"]),
                    series.tags.get("part", ""),
                )
            )
    return values
