"""The periods sector figures are reported for, in the province's calendar.

A figure names its period as people write it: ``2026-11`` (a month), ``2026-Q3`` (a
quarter), ``2026`` (a year). The figure is stored at the period's first instant in
province time, so a month's figure and a day's KPI of the same month line up on a board.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from analytics.kpis.windows import PROVINCE_TZ

_PATTERNS = {
    "month": re.compile(r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$"),
    "quarter": re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>[1-4])$"),
    "year": re.compile(r"^(?P<year>\d{4})$"),
}
_EXAMPLES = {"month": "2026-11", "quarter": "2026-Q3", "year": "2026"}
FIRST_YEAR = 1990


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(slots=True, frozen=True, order=True)
class PeriodSpan:
    """One period: its label as written and its bounds (epoch seconds, end exclusive)."""

    start: float
    end: float
    label: str


def parse_period(kind: Period, label: str) -> PeriodSpan:
    """The span of ``label`` for a ``kind`` indicator; ``ValueError`` saying what is expected."""
    match = _PATTERNS[kind.value].match(label.strip())
    if match is None:
        raise ValueError(f"{label!r} is not a {kind.value}: write it as {_EXAMPLES[kind.value]}")
    year = int(match["year"])
    if year < FIRST_YEAR:
        raise ValueError(f"{label!r} is before {FIRST_YEAR}")
    if kind is Period.MONTH:
        first_month, months = int(match["month"]), 1
    elif kind is Period.QUARTER:
        first_month, months = 3 * int(match["quarter"]) - 2, 3
    else:
        first_month, months = 1, 12
    end_month = first_month + months
    start = datetime(year, first_month, 1, tzinfo=PROVINCE_TZ)
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=PROVINCE_TZ)
    return PeriodSpan(start.timestamp(), end.timestamp(), label.strip())


def previous_label(kind: Period, span: PeriodSpan) -> str:
    """The label of the period before ``span`` (for the trend)."""
    moment = datetime.fromtimestamp(span.start, PROVINCE_TZ)
    if kind is Period.YEAR:
        return str(moment.year - 1)
    if kind is Period.QUARTER:
        quarter = (moment.month - 1) // 3 + 1
        return f"{moment.year}-Q{quarter - 1}" if quarter > 1 else f"{moment.year - 1}-Q4"
    return f"{moment.year}-{moment.month - 1:02d}" if moment.month > 1 else f"{moment.year - 1}-12"
