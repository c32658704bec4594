"""Traffic lights, trends, and a scorecard read back from the `kpi` points."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.kpis.aggregate import KpiValue
from analytics.kpis.catalogue import kpi
from analytics.kpis.engine import line_of
from analytics.kpis.scorecard import (
    Light,
    Trend,
    build_scorecard,
    light_of,
    load_scorecard,
    trend_of,
)
from analytics.kpis.windows import Window, day_bounds
from tests.analytics.kpis.conftest import kpi_client


def test_lights_follow_target_direction_and_tolerance() -> None:
    availability = kpi("officer_availability")  # ≥ 95 %, tolerance 5 % → amber down to 90.25
    assert light_of(availability, 97.0) is Light.GREEN
    assert light_of(availability, 95.0) is Light.GREEN
    assert light_of(availability, 91.0) is Light.AMBER
    assert light_of(availability, 90.0) is Light.RED
    waiting = kpi("waiting_time_mean")  # ≤ 15 min, tolerance 10 % → amber up to 16.5
    assert light_of(waiting, 12.0) is Light.GREEN
    assert light_of(waiting, 16.0) is Light.AMBER
    assert light_of(waiting, 17.0) is Light.RED
    assert light_of(kpi("alert_escalations"), 0.0) is Light.GREEN
    assert light_of(kpi("alert_escalations"), 1.0) is Light.RED
    assert light_of(kpi("tickets_issued"), 500.0) is Light.NONE


def test_trend_is_better_or_worse_by_the_kpi_direction() -> None:
    waiting = kpi("waiting_time_mean")
    assert trend_of(waiting, 10.0, 12.0) is Trend.IMPROVING
    assert trend_of(waiting, 12.0, 10.0) is Trend.WORSENING
    assert trend_of(waiting, 10.05, 10.0) is Trend.STEADY
    assert trend_of(kpi("officer_availability"), 96.0, 90.0) is Trend.IMPROVING
    assert trend_of(waiting, 10.0, None) is Trend.NEW


def test_build_scorecard_keeps_catalogue_order_and_leaves_out_missing_values() -> None:
    card = build_scorecard(
        "site:x", Window.DAY, 0.0, {"waiting_time_mean": 20.0, "tickets_issued": 3.0}, {}
    )
    assert [row.kpi for row in card.rows] == ["tickets_issued", "waiting_time_mean"]
    assert card.row("waiting_time_mean").light is Light.RED
    assert card.row("waiting_time_mean").trend is Trend.NEW


@pytest.mark.asyncio
async def test_scorecard_compares_a_day_with_the_day_before(
    kpi_client_args: dict[str, str],
) -> None:
    today, _ = day_bounds(date(2026, 12, 3))
    yesterday, _ = day_bounds(date(2026, 12, 2))
    scope = "site:thaibinh.hcc"
    points = [
        KpiValue("waiting_time_mean", scope, Window.DAY, today, 14.0, 140.0, 10.0),
        KpiValue("waiting_time_mean", scope, Window.DAY, yesterday, 18.0, 180.0, 10.0),
        KpiValue("officer_availability", scope, Window.DAY, today, 91.0, 91.0, 100.0),
        KpiValue("officer_availability", "site:other", Window.DAY, today, 50.0, 50.0, 100.0),
        KpiValue("alerts_opened", scope, Window.DAY, today, 4.0, 4.0, None, "severity=major"),
    ]
    async with kpi_client(kpi_client_args) as client:
        await client.write([line_of(p) for p in points])
        card = await load_scorecard(client, scope, Window.DAY, today)
    assert [row.kpi for row in card.rows] == ["waiting_time_mean", "officer_availability"]
    waiting = card.row("waiting_time_mean")
    assert (waiting.actual, waiting.previous, waiting.change) == (14.0, 18.0, -4.0)
    assert waiting.light is Light.GREEN
    assert waiting.trend is Trend.IMPROVING
    availability = card.row("officer_availability")
    assert availability.light is Light.AMBER
    assert availability.trend is Trend.NEW


@pytest.mark.asyncio
async def test_kpis_kept_in_a_retention_policy_of_their_own(
    kpi_client_args: dict[str, str],
) -> None:
    today, _ = day_bounds(date(2026, 12, 3))
    point = KpiValue("tickets_issued", "province", Window.MONTH, today, 9.0, 9.0, None)
    async with kpi_client(kpi_client_args) as client:
        await client.query(
            f'CREATE RETENTION POLICY "kpi_long" ON "{client.database}" DURATION INF REPLICATION 1'
        )
        await client.write([line_of(point)], policy="kpi_long")
        kept = await load_scorecard(client, "province", Window.MONTH, today, policy="kpi_long")
        default = await load_scorecard(client, "province", Window.MONTH, today)
    assert kept.row("tickets_issued").actual == 9.0
    assert default.rows == ()
