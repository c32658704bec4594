"""One InfluxDB client for every open-data request.

The operators' KPI routes open a client per request; public traffic is heavier, and
making an httpx client builds an SSL context from the CA bundle: 245 ms a client on the
2-core machine under load where `benchmarks/open_data_bench.py` ran (docs/performance.md),
more than the query itself. This client stays open across requests (``async with`` it
is a no-op) and is closed once, with the app.
"""

from __future__ import annotations

from types import TracebackType

from analytics.kpis.influx import KpiInflux


class SharedKpiInflux(KpiInflux):
    """A `KpiInflux` that ``async with`` leaves open; `close` ends it."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def close(self) -> None:
        await super().__aexit__(None, None, None)
