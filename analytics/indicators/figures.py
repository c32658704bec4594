"""A sector's upload: rows of figures, read from JSON or CSV and checked against the
catalogue one by one, so a bad row is reported with its line and field and the good rows
can still be kept.

JSON is ``{"figures": [{"code": …, "period": …, "value": …, "scope": …, "note": …}]}``
(or the bare list); its rows are numbered from 1 in the order given. CSV has a header
line with at least ``code,period,value``; its rows are numbered by their line in the file,
the header being line 1.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    ValidationError,
    field_validator,
)

from analytics.indicators.catalogue import IndicatorCatalogue, IndicatorDefinition
from analytics.indicators.periods import PeriodSpan, parse_period
from twins.validation import dotted, problems

SCOPE_PATTERN = r"^(province|district:[a-z0-9][a-z0-9_-]{0,63})$"
SCOPE_RE = re.compile(SCOPE_PATTERN)
CSV_REQUIRED = ("code", "period", "value")
CSV_COLUMNS = (*CSV_REQUIRED, "scope", "note")
MAX_ROWS = 10_000


class FigureRow(BaseModel):
    """One row as sent; the catalogue checks come after (`check_rows`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Annotated[str, Field(min_length=1, max_length=64)]
    period: Annotated[str, Field(min_length=1, max_length=16)]
    value: StrictFloat
    scope: str = "province"
    note: Annotated[str, Field(max_length=500)] = ""

    @field_validator("scope")
    @classmethod
    def _known_scope(cls, scope: str) -> str:
        if not SCOPE_RE.match(scope):
            raise ValueError(
                f"{scope!r} is not a scope: write province or district:NAME"
                " (NAME in a-z, 0-9, - and _)"
            )
        return scope


@dataclass(slots=True, frozen=True)
class RowProblem:
    """What is wrong with one row: its number (`line` in a CSV file, position in JSON),
    the field, and what to do about it."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass(slots=True, frozen=True)
class Figure:
    """A checked figure, ready to store."""

    definition: IndicatorDefinition
    span: PeriodSpan
    scope: str
    value: float
    note: str
    line: int


@dataclass(slots=True, frozen=True)
class CheckedUpload:
    figures: list[Figure]
    problems: list[RowProblem]


class UploadFormatError(ValueError):
    """The upload as a whole cannot be read (not JSON, no CSV header, too many rows)."""


def read_json(body: bytes) -> list[tuple[int, Any]]:
    """The rows of a JSON upload, numbered from 1."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UploadFormatError(f"the body is not JSON: {exc}") from None
    rows = document.get("figures") if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise UploadFormatError('the body must be {"figures": [...]} or a list of figures')
    _bounded(len(rows))
    return list(enumerate(rows, start=1))


def read_csv(body: bytes) -> list[tuple[int, Any]]:
    """The rows of a CSV upload (UTF-8, a BOM allowed), numbered by their line."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadFormatError(f"the CSV is not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise UploadFormatError(
            f"the CSV header (line 1) lacks {', '.join(missing)}; columns are"
            f" {', '.join(CSV_COLUMNS)}"
        )
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise UploadFormatError(
            f"the CSV header (line 1) has unknown columns {', '.join(unknown)}; columns are"
            f" {', '.join(CSV_COLUMNS)}"
        )
    reader.fieldnames = header
    rows: list[tuple[int, Any]] = []
    try:
        for record in reader:
            line = reader.line_num
            if None in record:
                rows.append((line, _ExtraCells()))
                continue
            if not any((cell or "").strip() for cell in record.values()):
                continue  # a blank line
            rows.append((line, _typed_csv_row(record)))
            _bounded(len(rows))
    except csv.Error as exc:
        raise UploadFormatError(f"line {reader.line_num}: not valid CSV: {exc}") from None
    return rows


class _ExtraCells:
    """A CSV row with more cells than the header has columns."""


def _typed_csv_row(record: dict[str, str | None]) -> dict[str, Any]:
    """A CSV row with its value as a number (CSV cells are all text); an empty optional
    cell is left out so its default applies."""
    row: dict[str, Any] = {k: v for k, v in record.items() if v is not None and v.strip() != ""}
    value = row.get("value")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # left as text: the row check names the field
            row["value"] = float(value.strip().replace(",", "."))
    return row


def _bounded(count: int) -> None:
    if count > MAX_ROWS:
        raise UploadFormatError(f"more than {MAX_ROWS} rows; split the upload")


def check_rows(
    rows: Iterable[tuple[int, Any]],
    catalogue: IndicatorCatalogue,
    now: Callable[[], float],
) -> CheckedUpload:
    """Every row checked against the catalogue: the figures that hold and the problems of
    the others (a row may have several)."""
    figures: list[Figure] = []
    found: list[RowProblem] = []
    seen: dict[tuple[str, str, str], int] = {}
    for line, raw in rows:
        row_problems = _check_row(line, raw, catalogue, now())
        if isinstance(row_problems, Figure):
            figure = row_problems
            key = (figure.definition.code, figure.span.label, figure.scope)
            if key in seen:
                found.append(
                    RowProblem(
                        line,
                        "period",
                        f"{key[0]} {key[1]} for {key[2]} is also on line {seen[key]}",
                    )
                )
                continue
            seen[key] = line
            figures.append(figure)
        else:
            found.extend(row_problems)
    return CheckedUpload(figures, found)


def _check_row(
    line: int, raw: Any, catalogue: IndicatorCatalogue, now: float
) -> Figure | list[RowProblem]:
    if isinstance(raw, _ExtraCells):
        return [RowProblem(line, "(row)", "more cells than the header has columns")]
    if not isinstance(raw, dict):
        return [RowProblem(line, "(row)", "a figure must be an object")]
    try:
        row = FigureRow.model_validate(raw)
    except ValidationError as exc:
        return [
            RowProblem(line, dotted(problem.loc) or "(row)", problem.message)
            for problem in problems(exc)
        ]
    definition = catalogue.get(row.code)
    if definition is None:
        return [RowProblem(line, "code", f"{row.code!r} is not in catalogue {catalogue.version}")]
    found: list[RowProblem] = []
    span: PeriodSpan | None = None
    try:
        span = parse_period(definition.period, row.period)
    except ValueError as exc:
        found.append(RowProblem(line, "period", f"{row.code} is reported by {exc}"))
    if span is not None and span.start > now:
        found.append(RowProblem(line, "period", f"{span.label} has not begun"))
    value = float(row.value)
    if not math.isfinite(value):
        found.append(RowProblem(line, "value", "must be a finite number"))
    elif definition.minimum is not None and value < definition.minimum:
        found.append(
            RowProblem(
                line, "value", f"{value:g} is below {row.code}'s minimum {definition.minimum:g}"
            )
        )
    elif definition.maximum is not None and value > definition.maximum:
        found.append(
            RowProblem(
                line, "value", f"{value:g} is above {row.code}'s maximum {definition.maximum:g}"
            )
        )
    if found or span is None:
        return found
    return Figure(definition, span, row.scope, value, row.note, line)
