"""Sector uploads checked row by row against the catalogue: every bad row is named by its
line and field, the good ones come through."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from analytics.indicators.catalogue import load_catalogue
from analytics.indicators.figures import (
    UploadFormatError,
    check_rows,
    read_csv,
    read_json,
)
from analytics.indicators.periods import Period, parse_period, previous_label
from analytics.indicators.settings import IndicatorSettings
from analytics.kpis.windows import PROVINCE_TZ
from twins.yaml_source import YamlModelError

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=PROVINCE_TZ).timestamp()
CATALOGUE = load_catalogue()


def check(rows: list[tuple[int, object]]) -> tuple[list[str], list[str]]:
    checked = check_rows(rows, CATALOGUE, lambda: NOW)
    return (
        [f"{f.definition.code} {f.span.label} {f.scope} {f.value:g}" for f in checked.figures],
        [str(problem) for problem in checked.problems],
    )


def test_periods_start_at_midnight_province_time_and_know_the_one_before() -> None:
    march = parse_period(Period.MONTH, "2026-03")
    assert datetime.fromtimestamp(march.start, PROVINCE_TZ) == datetime(
        2026, 3, 1, tzinfo=PROVINCE_TZ
    )
    assert datetime.fromtimestamp(march.end, PROVINCE_TZ) == datetime(
        2026, 4, 1, tzinfo=PROVINCE_TZ
    )
    q4 = parse_period(Period.QUARTER, "2026-Q4")
    assert datetime.fromtimestamp(q4.end, PROVINCE_TZ) == datetime(2027, 1, 1, tzinfo=PROVINCE_TZ)
    assert previous_label(Period.QUARTER, parse_period(Period.QUARTER, "2026-Q1")) == "2025-Q4"
    assert previous_label(Period.MONTH, parse_period(Period.MONTH, "2026-01")) == "2025-12"
    assert previous_label(Period.YEAR, parse_period(Period.YEAR, "2026")) == "2025"
    with pytest.raises(ValueError, match="write it as 2026-Q3"):
        parse_period(Period.QUARTER, "2026-11")


def test_a_csv_upload_names_each_bad_row_by_line_and_field() -> None:
    body = (
        b"code,period,value,scope,note\n"
        b"budget_revenue,2026-10,1234.5,province,\n"  # line 2: fine
        b"budget_revenue,2026-11,-3,province,\n"  # below the minimum
        b"grdp_growth,2026-11,7.1,,\n"  # a quarterly indicator given a month
        b"no_such_thing,2026-10,1,,\n"  # not in the catalogue
        b"online_dossiers_share,2027-01,40,,\n"  # a period that has not begun
        b"online_dossiers_share,2026-10,lots,,\n"  # not a number
        b'retail_sales,2026-10,"2100,5",district:vu-thu,decimal comma\n'  # fine
        b"budget_revenue,2026-10,1300,province,\n"  # the same period as line 2
        b"tourist_arrivals,2026-10,5,province,,extra\n"  # a cell too many
    )
    good, bad = check(read_csv(body))
    assert good == [
        "budget_revenue 2026-10 province 1234.5",
        "retail_sales 2026-10 district:vu-thu 2100.5",
    ]
    assert bad == [
        "line 3: value: -3 is below budget_revenue's minimum 0",
        "line 4: period: grdp_growth is reported by '2026-11' is not a quarter: write it as"
        " 2026-Q3",
        "line 5: code: 'no_such_thing' is not in catalogue 2026.1",
        "line 6: period: 2027-01 has not begun",
        "line 7: value: Input should be a valid number",
        "line 9: period: budget_revenue 2026-10 for province is also on line 2",
        "line 10: (row): more cells than the header has columns",
    ]


def test_a_json_upload_numbers_its_rows_from_one() -> None:
    body = (
        b'{"figures": [{"code": "rice_yield", "period": "2026-Q3", "value": 63},'
        b' {"code": "rice_yield", "period": "2026-Q2", "value": "63"},'
        b' {"code": "rice_yield", "period": "2026-Q1", "value": 61, "colour": "red"},'
        b' {"code": "rice_yield", "period": "2026-Q1", "value": 61, "scope": "commune:x"},'
        b" 7]}"
    )
    good, bad = check(read_json(body))
    assert good == ["rice_yield 2026-Q3 province 63"]
    assert bad == [
        "line 2: value: Input should be a valid number",
        "line 3: colour: unknown field (check the spelling)",
        "line 4: scope: 'commune:x' is not a scope: write province or district:NAME (NAME in"
        " a-z, 0-9, - and _)",
        "line 5: (row): a figure must be an object",
    ]


@pytest.mark.parametrize(
    ("body", "reader", "message"),
    [
        (b"code,value\nx,1\n", read_csv, "lacks period"),
        (b"code,period,value,colour\n", read_csv, "unknown columns colour"),
        (b"\xff\xfecode", read_csv, "not UTF-8"),
        (b"{not json", read_json, "not JSON"),
        (b'{"rows": []}', read_json, '{"figures": [...]}'),
    ],
)
def test_an_unreadable_upload_says_what_is_expected(
    body: bytes, reader: object, message: str
) -> None:
    with pytest.raises(UploadFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        reader(body)  # type: ignore[operator]


def test_the_shipped_catalogue_is_bilingual_and_a_bad_one_is_named_by_line(
    tmp_path: Path,
) -> None:
    assert len(CATALOGUE.indicators) >= 10
    assert all(d.name_vi != d.name_en for d in CATALOGUE.indicators)
    assert CATALOGUE.get("hospital_bed_occupancy") is not None
    assert "hospital_bed_occupancy" not in {d.code for d in CATALOGUE.public()}
    bad = tmp_path / "indicators.yaml"
    bad.write_text(
        'version: "x"\nindicators:\n  - code: a_rate\n    name_vi: Tỷ lệ\n    name_en: Rate\n'
        "    unit: '%'\n    period: fortnight\n    sector: health\n",
        encoding="utf-8",
    )
    with pytest.raises(YamlModelError) as caught:
        load_catalogue(bad)
    assert caught.value.problems == [
        f"{bad}:7: indicators[0].period: Input should be 'month', 'quarter' or 'year'"
    ]
    with pytest.raises(ValueError, match=re.escape("indicators.yaml:7: indicators[0].period")):
        IndicatorSettings(catalogue=bad)
