"""Contributions → a numerator and denominator per KPI, scope and window.

Every fact (a ticket served, a stretch of presence, a camera report) *contributes* to a KPI:
at a moment (a count, or a value of a mean or a percentile) or over a span of time (seconds
of presence, of office hours), to its device's scope and every scope above it (site,
sector, province). The aggregator adds each contribution to every window it falls in, so
one pass over a day's facts yields the 15-minute, hourly and daily values at every scope,
each with the numerator and denominator it came from — which is what lets a chart or a
report add windows up without averaging averages. Percentiles keep their values and are
computed at the end: they do not add up.

The province's time zone has had no daylight saving since 1975, so window starts are
computed from one UTC offset instead of a calendar call per contribution.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from analytics.kpis.catalogue import BY_ID, Aggregation
from analytics.kpis.windows import PROVINCE_TZ, Window, window_end, window_start

Chain = tuple[str, ...]
"""The scopes a contribution counts for, finest first: ``("counter:…", "site:…", …)``."""
Key = tuple[str, str, str, Window, float]
"""(kpi, part, scope, window, start)."""

_DAY = 86_400.0


@dataclass(slots=True, frozen=True)
class KpiValue:
    """One KPI in one scope and window: what a `kpi` point carries."""

    kpi: str
    scope: str
    window: Window
    start: float
    value: float
    numerator: float
    denominator: float | None
    part: str = ""


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation between order statistics (Hyndman–Fan 7,
    numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("quantile of no values")
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Aggregator:
    """Adds contributions inside ``[begin, end)`` to the windows of ``windows``."""

    def __init__(
        self, begin: float, end: float, windows: Iterable[Window], tz: tzinfo = PROVINCE_TZ
    ) -> None:
        self.begin = begin
        self.end = end
        self.windows = tuple(windows)
        self.tz = tz
        offset = datetime.fromtimestamp(begin, tz).utcoffset()
        self._shift = offset.total_seconds() if offset is not None else 0.0
        self._sums: dict[Key, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self._values: dict[Key, list[float]] = defaultdict(list)
        self._calendar: dict[tuple[Window, float], tuple[float, float]] = {}

    # --- window arithmetic ------------------------------------------------------------------

    def _window(self, t: float, window: Window) -> tuple[float, float]:
        """(start, end) of the ``window`` holding ``t``."""
        if window is Window.QUARTER:
            start = t - ((t + self._shift) % 900.0)
            return start, start + 900.0
        if window is Window.HOUR:
            start = t - ((t + self._shift) % 3600.0)
            return start, start + 3600.0
        day = t - ((t + self._shift) % _DAY)
        if window is Window.DAY:
            return day, day + _DAY
        found = self._calendar.get((window, day))
        if found is None:
            start = window_start(day, window, self.tz)
            found = (start, window_end(start, window, self.tz))
            self._calendar[(window, day)] = found
        return found

    # --- contributions ----------------------------------------------------------------------

    def count(
        self, kpi: str, chain: Chain, t: float, num: float = 1.0, den: float = 0.0, part: str = ""
    ) -> None:
        """Add ``num``/``den`` at moment ``t``."""
        if not self.begin <= t < self.end:
            return
        sums = self._sums
        for window in self.windows:
            start = self._window(t, window)[0]
            for scope in chain:
                cell = sums[(kpi, part, scope, window, start)]
                cell[0] += num
                cell[1] += den

    def value(self, kpi: str, chain: Chain, t: float, value: float, part: str = "") -> None:
        """One value of a mean or a quantile at moment ``t``."""
        if not self.begin <= t < self.end:
            return
        keep = BY_ID[kpi].aggregation is Aggregation.QUANTILE
        for window in self.windows:
            start = self._window(t, window)[0]
            for scope in chain:
                key = (kpi, part, scope, window, start)
                cell = self._sums[key]
                cell[0] += value
                cell[1] += 1.0
                if keep:
                    self._values[key].append(value)

    def span(
        self,
        kpi: str,
        chain: Chain,
        a: float,
        b: float,
        *,
        num_per_s: float = 0.0,
        den_per_s: float = 0.0,
        part: str = "",
    ) -> None:
        """Add the time of ``[a, b)`` in each window, × ``num_per_s`` to the numerator and
        × ``den_per_s`` to the denominator."""
        a, b = max(a, self.begin), min(b, self.end)
        if b <= a:
            return
        sums = self._sums
        for window in self.windows:
            start, end = self._window(a, window)
            while start < b:
                overlap = min(b, end) - max(a, start)
                if overlap > 0:
                    for scope in chain:
                        cell = sums[(kpi, part, scope, window, start)]
                        cell[0] += overlap * num_per_s
                        cell[1] += overlap * den_per_s
                start, end = self._window(end, window)

    def spans(
        self,
        kpi: str,
        chain: Chain,
        intervals: Iterable[tuple[float, float]],
        *,
        num_per_s: float = 0.0,
        den_per_s: float = 0.0,
    ) -> None:
        for a, b in intervals:
            self.span(kpi, chain, a, b, num_per_s=num_per_s, den_per_s=den_per_s)

    # --- results ----------------------------------------------------------------------------

    def results(self) -> list[KpiValue]:
        """Every KPI value with a defined value (a ratio needs a denominator above 0)."""
        found: list[KpiValue] = []
        for key, (num, den) in self._sums.items():
            kpi_id, part, scope, window, start = key
            definition = BY_ID[kpi_id]
            if window not in definition.windows:
                continue
            aggregation = definition.aggregation
            if aggregation in (Aggregation.COUNT, Aggregation.SUM):
                found.append(
                    KpiValue(kpi_id, scope, window, start, num * definition.scale, num, None, part)
                )
                continue
            if den <= 0:
                continue
            if aggregation is Aggregation.QUANTILE:
                assert definition.quantile is not None
                value = quantile(self._values[key], definition.quantile) * definition.scale
            else:
                value = num / den * definition.scale
            found.append(KpiValue(kpi_id, scope, window, start, value, num, den, part))
        return found
