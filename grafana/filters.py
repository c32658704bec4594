"""The template variables every board shares and the WHERE clauses that use them.

InfluxDB holds no district: a site's district is in the registry. The ``district``
variable is therefore a list written from the registry when the boards are built, each
district's value a regular expression of its site ids; ``site`` then lists the sites
InfluxDB has seen that match it (and the chosen sectors), ``device`` the devices of the
chosen sites. Points of the video hub (``camera_stream``, ``camera_presence``) carry the
thing's namespace instead of ``site``: a thing's namespace is its site's id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from grafana.model import Json, custom_variable, query_variable
from twins.registry import SiteSpec

SITE = '"site" =~ /^$site$/ AND "sector" =~ /^$sector$/'
DEVICE = SITE + ' AND "device" =~ /^$device$/'
CAMERA = '"namespace" =~ /^$site$/ AND "device" =~ /^$device$/'
ALL_DISTRICTS = ("Tất cả", ".*")


def district_options(sites: Iterable[SiteSpec]) -> list[tuple[str, str]]:
    """``(district, regex of its site ids)``, districts sorted; "all" first."""
    by_district: dict[str, list[str]] = {}
    for site in sites:
        if site.district:
            by_district.setdefault(site.district, []).append(site.id)
    options = [ALL_DISTRICTS]
    for district in sorted(by_district):
        ids = sorted(by_district[district])
        options.append((district, "|".join(re.escape(i) for i in ids)))
    return options


def variables(
    sites: Iterable[SiteSpec], kinds: tuple[str, ...], sectors: tuple[str, ...] = ()
) -> list[Json]:
    """district → sector → site → device, the devices limited to ``kinds``."""
    sector_where = '"site" =~ /^($district)$/'
    if sectors:
        sector_where += ' AND "sector" =~ /^(' + "|".join(sectors) + ")$/"
    kind_where = '"kind" =~ /^(' + "|".join(kinds) + ")$/"
    return [
        custom_variable(
            "district",
            "Huyện / thành phố",
            "District of the province (from the registry); narrows the sites listed.",
            district_options(sites),
        ),
        query_variable(
            "sector",
            "Lĩnh vực",
            "Sector of the sites (the `sector` tag of every device point).",
            f'SHOW TAG VALUES FROM "device_availability" WITH KEY = "sector" WHERE {sector_where}',
        ),
        query_variable(
            "site",
            "Địa điểm",
            "Sites InfluxDB has seen in the chosen district and sectors.",
            'SHOW TAG VALUES FROM "device_availability" WITH KEY = "site"'
            ' WHERE "site" =~ /^($district)$/ AND "sector" =~ /^$sector$/',
        ),
        query_variable(
            "device",
            "Thiết bị",
            "Devices of the chosen sites, of the kinds this board shows.",
            'SHOW TAG VALUES FROM "device_availability" WITH KEY = "device"'
            f' WHERE "site" =~ /^$site$/ AND {kind_where}',
        ),
    ]
