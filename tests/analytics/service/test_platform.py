"""The analytics process's platform point carries what happened since the last one."""

from __future__ import annotations

from analytics.feed import FeedStats
from analytics.service.pipeline import PipelineStats
from analytics.service.platform import AnalyticsReport


def test_each_point_counts_its_period_and_the_event_time_lag() -> None:
    now = [1000.0]
    report = AnalyticsReport("citytwin-analytics", lambda: now[0])
    feed, pipeline = FeedStats(live=5, replayed=2, invalid=1), PipelineStats(signals=3)
    first = report.line(feed, pipeline, 1, committed_ms=990_000)
    assert first == (
        "platform,source=analytics,worker=citytwin-analytics events=7i,invalid=1i,"
        "duplicates=0i,inputs=0i,signals=3i,notices=1i,event_time_lag_seconds=10.0"
        " 1000000000000"
    )
    now[0] = 1010.0
    feed.live += 4
    second = report.line(feed, pipeline, 1, committed_ms=None)
    assert second is not None
    assert " events=4i,invalid=0i,duplicates=0i,inputs=0i,signals=0i,notices=0i " in second
    assert "event_time_lag_seconds" not in second  # nothing committed yet: no lag to tell
