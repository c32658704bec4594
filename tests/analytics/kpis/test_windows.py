"""Calendar windows in Asia/Ho_Chi_Minh and the interval arithmetic under the KPIs."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from analytics.kpis.aggregate import Aggregator, quantile
from analytics.kpis.intervals import intersect, merge, subtract, total
from analytics.kpis.windows import (
    PROVINCE_TZ,
    Window,
    day_bounds,
    previous_start,
    starts_between,
    window_end,
    window_start,
)

VN = timezone(timedelta(hours=7))


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=VN).timestamp()


def test_a_day_runs_from_local_midnight_which_is_17_utc() -> None:
    t = local("2026-12-03T00:30:00")  # still 2 December in UTC
    start = window_start(t, Window.DAY)
    assert datetime.fromtimestamp(start, UTC).isoformat() == "2026-12-02T17:00:00+00:00"
    assert window_end(start, Window.DAY) - start == 86_400
    assert day_bounds(date(2026, 12, 3)) == (start, start + 86_400)


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    thursday = local("2026-12-03T10:00:00")
    assert window_start(thursday, Window.WEEK) == local("2026-11-30T00:00:00")
    assert window_start(thursday, Window.MONTH) == local("2026-12-01T00:00:00")
    assert window_end(local("2026-12-01T00:00:00"), Window.MONTH) == local("2027-01-01T00:00:00")
    assert window_end(local("2027-02-01T00:00:00"), Window.MONTH) == local("2027-03-01T00:00:00")
    assert previous_start(local("2026-12-01T00:00:00"), Window.MONTH) == local(
        "2026-11-01T00:00:00"
    )


def test_quarters_and_hours_follow_the_local_clock() -> None:
    t = local("2026-12-03T09:44:59")
    assert window_start(t, Window.QUARTER) == local("2026-12-03T09:30:00")
    assert window_start(t, Window.HOUR) == local("2026-12-03T09:00:00")
    quarters = list(
        starts_between(local("2026-12-03T09:00:00"), local("2026-12-03T10:00:00"), Window.QUARTER)
    )
    assert len(quarters) == 4


def test_a_span_is_split_over_the_windows_it_crosses() -> None:
    begin, end = day_bounds(date(2026, 12, 3), PROVINCE_TZ)
    agg = Aggregator(begin, end, [Window.QUARTER, Window.HOUR, Window.DAY])
    a = local("2026-12-03T09:50:00")
    agg.span("counter_staffed_hours", ("province",), a, a + 1800, num_per_s=1 / 3600)
    values = {(v.window, v.start): v.value for v in agg.results()}
    assert values[(Window.HOUR, local("2026-12-03T09:00:00"))] == 10 / 60
    assert values[(Window.HOUR, local("2026-12-03T10:00:00"))] == 20 / 60
    assert values[(Window.QUARTER, local("2026-12-03T10:00:00"))] == 15 / 60
    assert abs(values[(Window.DAY, begin)] - 0.5) < 1e-12


def test_quantile_interpolates_like_numpy() -> None:
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([10], 0.9) == 10
    assert abs(quantile(list(range(1, 11)), 0.9) - 9.1) < 1e-12


spans = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 40)).map(
        lambda p: (float(p[0]), float(p[0] + p[1]))
    ),
    max_size=8,
)


def covered(intervals: list[tuple[float, float]]) -> set[int]:
    return {t for a, b in intervals for t in range(int(a), int(b))}


@given(spans, spans)
def test_interval_arithmetic_matches_sets_of_seconds(
    a: list[tuple[float, float]], b: list[tuple[float, float]]
) -> None:
    assert covered(merge(a)) == covered(a)
    assert covered(intersect(a, b)) == covered(a) & covered(b)
    assert covered(subtract(a, b)) == covered(a) - covered(b)
    assert total(a) == len(covered(a))
    merged = merge(a)
    assert all(x[1] < y[0] for x, y in itertools.pairwise(merged))
