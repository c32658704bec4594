"""Sector indicators as open data: the figures in force of the indicators the catalogue
marks ``public``, one row per indicator, scope and period.

Left out on purpose: indicators not marked public (the statistics office decides), who
submitted a figure and its note (free text a department writes for the centre), and the
revision history (the open figure is the one in force; ``revision`` says it was corrected).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime

from analytics.indicators.catalogue import IndicatorDefinition
from analytics.indicators.store import IndicatorStore
from analytics.kpis.errors import KpiStoreError
from analytics.kpis.windows import PROVINCE_TZ
from citytwin.open.problems import OpenDataError, ProblemType, bad_parameter

COLUMNS = (
    "code",
    "name_vi",
    "name_en",
    "unit",
    "sector",
    "period",
    "period_start",
    "scope",
    "value",
    "target",
    "revision",
)
DEFAULT_YEARS = 5
FIRST_YEAR = 1990


@dataclass(slots=True, frozen=True)
class IndicatorRow:
    code: str
    name_vi: str
    name_en: str
    unit: str
    sector: str
    period: str
    period_start: str
    scope: str
    value: float
    target: float | None
    revision: int


def parse_years(since: str | None, until: str | None, today: date) -> tuple[int, int]:
    """The span of years asked (``since``/``until`` as YYYY), the last five by default."""

    def year(name: str, text: str | None, default: int) -> int:
        if text is None:
            return default
        if not (text.isdigit() and len(text) == 4 and FIRST_YEAR <= int(text) <= today.year):
            raise bad_parameter(name, f"{text!r} is not a year YYYY from {FIRST_YEAR} to now")
        return int(text)

    last = year("until", until, today.year)
    first = year("since", since, last - DEFAULT_YEARS + 1)
    if first > last:
        raise bad_parameter("since", f"since {first} is after until {last}")
    return first, last


def chosen(store: IndicatorStore, codes: str | None) -> list[IndicatorDefinition]:
    public = store.catalogue.public()
    if codes is None:
        return public
    by_code = {definition.code: definition for definition in public}
    picked = []
    for code in (part.strip() for part in codes.split(",") if part.strip()):
        if code not in by_code:
            raise bad_parameter(
                "code", f"{code!r} is not a published indicator (published: {', '.join(by_code)})"
            )
        picked.append(by_code[code])
    return picked


async def read_rows(
    store: IndicatorStore,
    definitions: list[IndicatorDefinition],
    scope: str,
    first_year: int,
    last_year: int,
) -> list[IndicatorRow]:
    since = datetime(first_year, 1, 1, tzinfo=PROVINCE_TZ).timestamp()
    until = datetime(last_year + 1, 1, 1, tzinfo=PROVINCE_TZ).timestamp()
    rows: list[IndicatorRow] = []
    for definition in definitions:
        try:
            figures = await store.figures(definition, scope, since, until)
        except KpiStoreError as exc:
            raise OpenDataError(
                ProblemType.SERVICE_UNAVAILABLE, f"the indicators cannot be read: {exc}"
            ) from None
        rows.extend(
            IndicatorRow(
                definition.code,
                definition.name_vi,
                definition.name_en,
                definition.unit,
                definition.sector,
                figure.label,
                datetime.fromtimestamp(figure.start, PROVINCE_TZ).date().isoformat(),
                scope,
                figure.value,
                definition.target,
                figure.revision,
            )
            for figure in figures
        )
    return rows


def as_json(rows: list[IndicatorRow]) -> list[dict[str, object]]:
    return [asdict(row) for row in rows]


def as_csv(rows: list[IndicatorRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return out.getvalue()
