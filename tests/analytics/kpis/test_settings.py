"""The KPIs measure the office day the alert rules watch: one set of office hours."""

from __future__ import annotations

from datetime import date, datetime

from analytics.kpis.facts import office_sessions
from analytics.kpis.settings import KpiSettings
from analytics.kpis.windows import PROVINCE_TZ
from analytics.rules.ruleset import DEFAULTS, RuleSet

MONDAY = date(2026, 12, 7)


def test_default_office_hours_are_the_bundled_rules_office_calendar() -> None:
    """A KPI day measured against other hours than the counters' rules would put a
    quarter of an hour of every counter's day, and of every room's, on the wrong side:
    staffed hours, availability and room occupancy off by 3 % (the live day of thaibinh
    against its ground truth, docs/performance.md)."""
    calendar = RuleSet.load(DEFAULTS / "thaibinh").current.calendars["office"]
    expected = [
        (
            datetime.combine(MONDAY, start, PROVINCE_TZ).timestamp(),
            datetime.combine(MONDAY, end, PROVINCE_TZ).timestamp(),
        )
        for start, end in calendar.sessions_on(MONDAY)
    ]
    assert office_sessions(KpiSettings().office, MONDAY) == expected
    assert len(expected) == 2
