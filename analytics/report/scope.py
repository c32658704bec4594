"""What a report is about: one site of the registry, or the whole province."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analytics.report.errors import ReportInputError

PROVINCE = "province"


@dataclass(slots=True, frozen=True)
class ReportScope:
    scope: str
    """The `scope` tag of the `kpi` points: ``site:{id}`` or ``province``."""
    site: str | None
    """The site id the alerts are filtered by (None: every site)."""
    name: str
    """What the title calls it: the site's name, or the province's."""

    @property
    def slug(self) -> str:
        """The part of the file names: the site id, or ``province``."""
        return self.site or PROVINCE


def resolve_scope(
    site: str | None, sites: Mapping[str, str], province_name: str, *, where: str
) -> ReportScope:
    """The scope of ``--site`` among ``sites`` (id → name, read from ``where``); no site or
    ``province`` is the province. ReportInputError naming the known sites otherwise."""
    if site is None or site == PROVINCE:
        return ReportScope(PROVINCE, None, province_name)
    if site not in sites:
        known = ", ".join(sorted(sites)) or "none"
        raise ReportInputError(
            f"--site {site!r} is not a site of {where} (known sites: {known}; or"
            f" {PROVINCE!r} for the whole province)"
        )
    return ReportScope(f"site:{site}", site, sites[site])
