"""The alert points' way to InfluxDB: the history is the outbox.

A transition's history row is written with ``point_pending`` in the same transaction as
the transition, so no point can be lost between the database and InfluxDB: the exporter
reads pending rows, posts their points (``/write``, InfluxDB's v1 API), and only then
clears the flag. A crash in between writes the same points again, which overwrite
themselves (see ``points``). While InfluxDB is down the rows wait; nothing else does.

The points go through ingest's InfluxDB client (``ingest.influx``, the one v1 client of
citytwin), uncompressed: alert traffic is a few points a second.
"""

from __future__ import annotations

import logging
from functools import partial
from types import TracebackType

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from analytics.alerts.errors import AlertExportError, AlertPointsRefusedError
from analytics.alerts.points import AlertPoint
from analytics.alerts.store import AlertStore
from analytics.alerts.tables import AlertRow, HistoryRow
from ingest.errors import InfluxError, InfluxRejectedError
from ingest.influx import InfluxV1Client

logger = logging.getLogger(__name__)


class InfluxPointWriter:
    """Posts line protocol to one database of an InfluxDB (v1 HTTP API)."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self._client = InfluxV1Client(
            url, database, username=username, password=password, timeout=timeout, gzip_level=0
        )

    async def __aenter__(self) -> InfluxPointWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.__aexit__(exc_type, exc, tb)

    async def write(self, lines: list[str]) -> None:
        """Write ``lines`` (nanosecond timestamps); AlertExportError if they are not stored."""
        where = f"InfluxDB {self.url} database {self.database!r}"
        try:
            await self._client.write("\n".join(lines).encode(), policy=None)
        except InfluxRejectedError as exc:  # InfluxDB stored the valid points, refused the rest
            raise AlertPointsRefusedError(f"{where}: alert points refused (400): {exc}") from exc
        except InfluxError as exc:
            raise AlertExportError(f"{where}: cannot write alert points: {exc}") from exc


class AlertPointExporter:
    """Moves pending transition points from the store to InfluxDB."""

    def __init__(self, store: AlertStore, writer: InfluxPointWriter, batch: int = 1000) -> None:
        self.store = store
        self.writer = writer
        self.batch = batch

    async def export_pending(self) -> int:
        """Write every pending point; the number written (refused ones included). On
        AlertExportError the rows stay pending for the next call — except for a batch InfluxDB
        refuses as invalid (400), which no retry would change: it is logged with InfluxDB's
        answer and not sent again, so one bad point cannot stop every later one."""
        total = 0
        while True:
            points = await self.store.run(self._pending)
            if not points:
                return total
            try:
                await self.writer.write([point.line() for point in points])
            except AlertPointsRefusedError as exc:
                logger.error("%s; %d alert points not sent again", exc, len(points))
            ids = [point.history_id for point in points]
            await self.store.run(partial(self._done, ids=ids))
            total += len(points)
            logger.debug("%d alert points written to InfluxDB", len(points))

    def _pending(self, session: Session) -> list[AlertPoint]:
        rows = session.execute(
            select(HistoryRow, AlertRow)
            .join(AlertRow, AlertRow.id == HistoryRow.alert_id)
            .where(HistoryRow.point_pending.is_(True))
            .order_by(HistoryRow.id)
            .limit(self.batch)
        ).all()
        return [AlertPoint.of(alert, entry) for entry, alert in rows]

    def _done(self, session: Session, *, ids: list[int]) -> None:
        session.execute(
            update(HistoryRow).where(HistoryRow.id.in_(ids)).values(point_pending=False)
        )

    async def pending(self) -> int:
        """How many points wait to be written."""

        return await self.store.run(
            lambda session: (
                session.scalar(select(func.count()).where(HistoryRow.point_pending.is_(True))) or 0
            )
        )
