"""How the report writes numbers, periods and the footer in each language."""

from __future__ import annotations

from datetime import date

from analytics.kpis.catalogue import Unit
from analytics.report.labels import duration, number, period_name, quantity
from analytics.report.period import PeriodKind, period_holding
from analytics.report.render import css_string


def test_numbers_as_each_language_writes_them() -> None:
    assert number(1234.56, "vi") == "1.234,6"
    assert number(1234.56, "en") == "1,234.6"
    assert number(40.0, "vi") == "40"
    assert quantity(7.14, Unit.PERCENT, "vi") == "7,1%"
    assert quantity(4.5, Unit.MINUTES, "en") == "4.5 min"
    assert quantity(None, Unit.HOURS, "vi") == "—"


def test_durations_past_an_hour_and_a_day() -> None:
    assert duration(50, "vi") == "50 phút"
    assert duration(95, "en") == "1 h 35 min"
    assert duration(14 * 60, "vi") == "14 giờ"
    assert duration(3 * 1440 + 125, "vi") == "3 ngày 2 giờ"


def test_months_are_named_in_both_languages() -> None:
    february = period_holding(PeriodKind.MONTH, date(2028, 2, 10))
    assert period_name(february, "vi") == "Tháng 2/2028 (01/02/2028 – 29/02/2028)"
    assert period_name(february, "en") == "February 2028 (1 February 2028 – 29 February 2028)"


def test_a_site_name_with_quotes_stays_one_css_string() -> None:
    assert css_string('Trạm "Kiến Xương" <1>') == '"Trạm \\"Kiến Xương\\" \\3c 1>"'
