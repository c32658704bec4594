"""Indicator figures in InfluxDB, every revision kept.

Two measurements, both in the ``kept`` retention policy (no expiry):

- ``indicator``: the value in force for each indicator, scope and period, at the period's
  first instant (tags ``code``, ``sector``, ``scope``, ``period``; fields ``value``,
  ``revision``, ``label``, ``submitted_by``, ``submitted_at``, ``note``). A correction
  overwrites this point, as InfluxDB does for the same series and time.
- ``indicator_revision``: one point per accepted submission at the moment it was made
  (tags ``code``, ``scope``, ``label``; fields ``value``, ``revision``, ``previous``,
  ``submitted_by``, ``note``): the history of what was reported when.

A figure sent again with the same value and note is unchanged, not a new revision, so a
sector system that re-sends its whole file each month does not bury the real corrections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from analytics.indicators.catalogue import IndicatorCatalogue, IndicatorDefinition
from analytics.indicators.figures import Figure
from analytics.kpis.influx import KpiInflux, escape_tag, quote_ident, quote_string
from analytics.kpis.windows import PROVINCE_TZ

MEASUREMENT = "indicator"
REVISIONS = "indicator_revision"
DEFAULT_POLICY = "kept"


@dataclass(slots=True, frozen=True)
class StoredFigure:
    """A figure in force: its period, value and how many times it was reported."""

    code: str
    scope: str
    label: str
    start: float
    value: float
    revision: int
    submitted_by: str
    submitted_at: float
    note: str


@dataclass(slots=True, frozen=True)
class Revision:
    code: str
    scope: str
    label: str
    at: float
    value: float
    revision: int
    previous: float | None
    submitted_by: str
    note: str


@dataclass(slots=True, frozen=True)
class StoreOutcome:
    """What a submission changed: new figures, corrected ones and ones sent unchanged."""

    created: int
    revised: int
    unchanged: int


def _field_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


class IndicatorStore:
    """Reads and writes figures on one database; writes are serialised in this process so
    two uploads of the same period cannot both take the same revision number."""

    def __init__(
        self,
        client: Callable[[], KpiInflux],
        catalogue: IndicatorCatalogue,
        *,
        policy: str = DEFAULT_POLICY,
        clock: Callable[[], float],
    ) -> None:
        self._client = client
        self.catalogue = catalogue
        self.policy = policy
        self.clock = clock
        self._lock = asyncio.Lock()

    async def submit(self, figures: list[Figure], submitted_by: str) -> StoreOutcome:
        """Store ``figures`` as one submission; ``KpiStoreError`` if InfluxDB refuses."""
        async with self._lock, self._client() as client:
            now = self.clock()
            current = await self._in_force(client, figures)
            lines: list[str] = []
            created = revised = unchanged = 0
            for offset, figure in enumerate(figures):
                key = (figure.definition.code, figure.scope, figure.span.start)
                before = current.get(key)
                if (
                    before is not None
                    and before.value == figure.value
                    and before.note == figure.note
                ):
                    unchanged += 1
                    continue
                revision = 1 if before is None else before.revision + 1
                created += before is None
                revised += before is not None
                # submissions of one upload are a nanosecond apart: distinct revision points
                at_ns = round(now * 1e9) + offset
                lines.append(self._in_force_line(figure, revision, submitted_by, now))
                lines.append(self._revision_line(figure, revision, before, submitted_by, at_ns))
            if lines:
                await client.write(lines, policy=self.policy)
        return StoreOutcome(created, revised, unchanged)

    def _in_force_line(self, figure: Figure, revision: int, who: str, now: float) -> str:
        definition = figure.definition
        return (
            f"{MEASUREMENT},code={escape_tag(definition.code)},period={definition.period.value}"
            f",scope={escape_tag(figure.scope)},sector={escape_tag(definition.sector)}"
            f" value={figure.value!r},revision={revision}i,label={_field_string(figure.span.label)}"
            f",submitted_by={_field_string(who)},submitted_at={now!r}"
            f",note={_field_string(figure.note)} {round(figure.span.start * 1e9)}"
        )

    def _revision_line(
        self, figure: Figure, revision: int, before: StoredFigure | None, who: str, at_ns: int
    ) -> str:
        previous = "" if before is None else f",previous={before.value!r}"
        return (
            f"{REVISIONS},code={escape_tag(figure.definition.code)}"
            f",label={escape_tag(figure.span.label)},scope={escape_tag(figure.scope)}"
            f" value={figure.value!r},revision={revision}i{previous}"
            f",submitted_by={_field_string(who)},note={_field_string(figure.note)} {at_ns}"
        )

    async def _in_force(
        self, client: KpiInflux, figures: list[Figure]
    ) -> dict[tuple[str, str, float], StoredFigure]:
        if not figures:
            return {}
        codes = sorted({figure.definition.code for figure in figures})
        first = min(figure.span.start for figure in figures)
        last = max(figure.span.start for figure in figures)
        found: dict[tuple[str, str, float], StoredFigure] = {}
        for figure in await self._read(client, codes, first, last + 1):
            found[(figure.code, figure.scope, figure.start)] = figure
        return found

    async def figures(
        self, definition: IndicatorDefinition, scope: str, since: float, until: float
    ) -> list[StoredFigure]:
        """The figures in force for periods starting in ``[since, until)``, oldest first."""
        async with self._client() as client:
            found = await self._read(client, [definition.code], since, until, scope=scope)
        return sorted(found, key=lambda figure: figure.start)

    async def latest(self, scope: str) -> dict[str, list[StoredFigure]]:
        """Each indicator's two newest periods in ``scope`` (newest first): the scorecard's
        actual and the one it is compared with."""
        async with self._client() as client:
            series = await client.query(
                f"SELECT value, revision, label, submitted_by, submitted_at, note"
                f" FROM {self._from()} WHERE scope = {quote_string(scope)}"
                f" GROUP BY code ORDER BY time DESC LIMIT 2"
            )
        newest: dict[str, list[StoredFigure]] = {}
        for one in series:
            code = one.tags.get("code", "")
            newest[code] = [self._stored(code, scope, row) for row in one.rows()]
        return newest

    async def revisions(
        self, definition: IndicatorDefinition, scope: str, label: str
    ) -> list[Revision]:
        """Every accepted submission of one period's figure, oldest first."""
        async with self._client() as client:
            series = await client.query(
                f"SELECT value, revision, previous, submitted_by, note"
                f" FROM {quote_ident(self.policy)}.{quote_ident(REVISIONS)}"
                f" WHERE code = {quote_string(definition.code)}"
                f" AND scope = {quote_string(scope)} AND label = {quote_string(label)}"
            )
        return [
            Revision(
                definition.code,
                scope,
                label,
                row["time"] / 1000,
                float(row["value"]),
                int(row["revision"]),
                None if row.get("previous") is None else float(row["previous"]),
                str(row.get("submitted_by") or ""),
                str(row.get("note") or ""),
            )
            for one in series
            for row in one.rows()
        ]

    def _from(self) -> str:
        return f"{quote_ident(self.policy)}.{quote_ident(MEASUREMENT)}"

    async def _read(
        self,
        client: KpiInflux,
        codes: list[str],
        since: float,
        until: float,
        *,
        scope: str | None = None,
    ) -> list[StoredFigure]:
        code_filter = " OR ".join(f"code = {quote_string(code)}" for code in codes)
        scope_filter = f" AND scope = {quote_string(scope)}" if scope is not None else ""
        series = await client.query(
            f"SELECT value, revision, label, submitted_by, submitted_at, note FROM {self._from()}"
            f" WHERE ({code_filter}){scope_filter}"
            f" AND time >= {round(since * 1000)}ms AND time < {round(until * 1000)}ms"
            f" GROUP BY code, scope"
        )
        return [
            self._stored(one.tags.get("code", ""), one.tags.get("scope", ""), row)
            for one in series
            for row in one.rows()
        ]

    @staticmethod
    def _stored(code: str, scope: str, row: dict[str, object]) -> StoredFigure:
        return StoredFigure(
            code,
            scope,
            str(row.get("label") or ""),
            float(row["time"]) / 1000,  # type: ignore[arg-type]
            float(row["value"]),  # type: ignore[arg-type]
            int(row["revision"]),  # type: ignore[call-overload]
            str(row.get("submitted_by") or ""),
            float(row.get("submitted_at") or 0.0),  # type: ignore[arg-type]
            str(row.get("note") or ""),
        )


def local_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, PROVINCE_TZ).isoformat()
