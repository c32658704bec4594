"""Service-centre KPIs as open data: one row per day, site and KPI, read from the `kpi`
measurement the KPI engine writes (the same points as the scorecard's history).

What is left out, on purpose:
- counter, room and camera scopes: a counter is one officer's desk;
- the KPIs that measure officers rather than the service (``UNPUBLISHED``);
- sites with fewer counters than ``open_data.min_counters_per_site``: there a site's
  service time or throughput is still one or two people's;
- breakdowns (``part``) and the numerators/denominators behind a value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from analytics.kpis.catalogue import BY_ID, CATALOGUE, Domain, KpiDefinition
from analytics.kpis.engine import MEASUREMENT
from analytics.kpis.errors import KpiStoreError
from analytics.kpis.influx import quote_ident
from analytics.kpis.windows import PROVINCE_TZ, Window, day_start
from citytwin.api.kpis import KpiSource
from citytwin.open.problems import OpenDataError, ProblemType, bad_parameter
from citytwin.open.sensors import Sites

UNPUBLISHED = frozenset(
    {"officer_availability", "officer_absence_minutes", "counter_staffed_hours"}
)
PUBLISHED: tuple[KpiDefinition, ...] = tuple(
    d for d in CATALOGUE if d.domain is Domain.SERVICE_CENTRE and d.id not in UNPUBLISHED
)
MAX_DAYS = 400
DEFAULT_DAYS = 30
COLUMNS = ("date", "site", "site_name", "kpi", "name_vi", "name_en", "unit", "value", "target")


@dataclass(slots=True, frozen=True)
class KpiRow:
    date: str
    site: str
    site_name: str
    kpi: str
    name_vi: str
    name_en: str
    unit: str
    value: float
    target: float | None


def _day(name: str, text: str | None, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_parameter(name, f"{text!r} is not a date YYYY-MM-DD") from None


def parse_period(since: str | None, until: str | None, today: date) -> tuple[date, date]:
    """The days ``[since, until]`` (province calendar); 400 naming the parameter at fault."""
    last = _day("until", until, today)
    first = _day("since", since, last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise bad_parameter("since", f"{first} is after until {last}")
    if (last - first).days + 1 > MAX_DAYS:
        raise bad_parameter("since", f"{first} to {last} is more than {MAX_DAYS} days")
    return first, last


def parse_kpis(text: str | None) -> tuple[KpiDefinition, ...]:
    if text is None:
        return PUBLISHED
    published = {d.id: d for d in PUBLISHED}
    chosen = []
    for name in (part.strip() for part in text.split(",") if part.strip()):
        if name not in published:
            why = "is not published" if name in BY_ID else "is no KPI"
            raise bad_parameter("kpi", f"{name!r} {why}; published: {', '.join(published)}")
        chosen.append(published[name])
    if not chosen:
        raise bad_parameter("kpi", "is empty")
    return tuple(chosen)


def published_sites(sites: Sites, minimum: int) -> dict[str, str]:
    """``{site id: name}`` of the sites with enough counters to publish."""
    return {
        site: sites.names.get(site, site)
        for site, counters in sites.counters.items()
        if counters >= minimum
    }


async def read_rows(
    source: KpiSource,
    kpis: Sequence[KpiDefinition],
    sites: Mapping[str, str],
    first: date,
    last: date,
) -> list[KpiRow]:
    """The day values of ``kpis`` for ``sites`` from ``first`` to ``last``, by date, site, KPI."""
    if not sites or not kpis:
        return []
    start = day_start(first)
    end = day_start(last + timedelta(days=1))
    table = f"{quote_ident(source.policy)}.{MEASUREMENT}" if source.policy else MEASUREMENT
    kpi_list = "|".join(d.id for d in kpis)
    site_list = "|".join(site.replace(".", r"\.") for site in sites)
    influxql = (
        f"SELECT value FROM {table} WHERE window = '{Window.DAY.value}'"
        f" AND kpi =~ /^({kpi_list})$/ AND scope =~ /^site:({site_list})$/"
        f" AND time >= {round(start * 1e9)} AND time < {round(end * 1e9)}"
        " GROUP BY kpi, scope, part"
    )
    try:
        async with source.client() as client:
            found = await client.query(influxql)
    except KpiStoreError as exc:
        raise OpenDataError(
            ProblemType.SERVICE_UNAVAILABLE, f"the KPIs cannot be read: {exc}"
        ) from None
    order = {d.id: i for i, d in enumerate(kpis)}
    rows: list[KpiRow] = []
    for series in found:
        if series.tags.get("part"):
            continue
        definition = BY_ID[series.tags["kpi"]]
        site = series.tags["scope"].removeprefix("site:")
        for point in series.rows():
            day = datetime.fromtimestamp(point["time"] / 1000, PROVINCE_TZ).date()
            rows.append(
                KpiRow(
                    date=day.isoformat(),
                    site=site,
                    site_name=sites[site],
                    kpi=definition.id,
                    name_vi=definition.name_vi,
                    name_en=definition.name_en,
                    unit=definition.unit.value,
                    value=round(float(point["value"]), 4),
                    target=definition.target,
                )
            )
    rows.sort(key=lambda row: (row.date, row.site, order[row.kpi]))
    return rows


def as_csv(rows: Sequence[KpiRow]) -> str:
    """RFC 4180 CSV with a header line (UTF-8; the names are Vietnamese)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(row).items()})
    return out.getvalue()


def as_json(rows: Sequence[KpiRow]) -> list[dict[str, object]]:
    return [asdict(row) for row in rows]
