"""Camera and sensor KPIs: what their reports say about streams and data.

Reports are counted per 15 minutes in InfluxDB (``GROUP BY time(15m)``), not read one by
one: a day of the province's 95 cameras is 270,000 reports, and the KPIs need only how many
came (and, for cameras, how many said the stream ran and their fps). What is *expected* is
the time the device was meant to report in (the window up to now) over its kind's report
interval. Hours above limits follow each field's excursions: from a report above the
limit to the first report at or below ``release_fraction`` × limit, the rule the
thresholds' own hysteresis uses, so noise around a limit is one excursion, not many.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from analytics.kpis.aggregate import Aggregator
from analytics.kpis.facts import device_chain
from analytics.kpis.intervals import Interval


@dataclass(slots=True, frozen=True)
class ReportBucket:
    """Reports of one device in one 15-minute bucket."""

    thing: str
    start: float
    count: float
    fps_sum: float = 0.0


@dataclass(slots=True, frozen=True)
class ReportingDevice:
    """A camera or sensor that was meant to report over ``expected`` every ``interval_s``."""

    thing: str
    kind: str
    site: str
    sector: str
    interval_s: float
    expected: Interval


def excursions(
    samples: Iterable[tuple[float, float]], limit: float, release: float, interval_s: float
) -> list[Interval]:
    """Times above ``limit`` with release at ``release``, from ``(t, value)`` samples.

    The samples may leave out values at or below ``release`` (a query that asks only for
    higher ones): a gap of more than 1.5 report intervals ends an excursion one report
    interval after its last sample.
    """
    found: list[Interval] = []
    start: float | None = None
    last = 0.0
    for t, value in sorted(samples):
        if start is not None and t - last > 1.5 * interval_s:
            found.append((start, last + interval_s))
            start = None
        if start is None:
            if value > limit:
                start = t
        elif value <= release:
            found.append((start, t))
            start = None
        last = t
    if start is not None:
        found.append((start, last + interval_s))
    return found


def contribute(
    devices: Iterable[ReportingDevice],
    buckets: Iterable[ReportBucket],
    above: dict[str, list[Interval]],
    agg: Aggregator,
) -> None:
    """Add stream uptime and mean fps (cameras), completeness and hours above limits
    (sensors)."""
    known = {device.thing: device for device in devices}
    for device in known.values():
        chain = device_chain(device.kind, device.thing, device.site, device.sector)
        a, b = device.expected
        if device.kind == "camera":
            agg.span("camera_stream_uptime", chain, a, b, den_per_s=1.0)
        else:
            agg.span("sensor_data_completeness", chain, a, b, den_per_s=1 / device.interval_s)
            agg.span("sensor_hours_above_limit", chain, a, b)
            for start, end in above.get(device.thing, []):
                agg.span("sensor_hours_above_limit", chain, start, end, num_per_s=1 / 3600)
    for bucket in buckets:
        found = known.get(bucket.thing)
        if found is None:
            continue
        chain = device_chain(found.kind, found.thing, found.site, found.sector)
        if found.kind == "camera":
            up = bucket.count * found.interval_s
            agg.count("camera_stream_uptime", chain, bucket.start, up)
            agg.count("camera_mean_fps", chain, bucket.start, bucket.fps_sum, bucket.count)
        else:
            agg.count("sensor_data_completeness", chain, bucket.start, bucket.count)
