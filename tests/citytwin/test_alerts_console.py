"""The console's alert inbox and KPI scorecard in real Chromium (Debian's, driven by
Playwright) against the real app, its alert store and InfluxDB.

The test's own lifecycle plays ``citytwin analytics``: alerts it opens and changes must
appear in the open page without a reload (server-sent events), and what an operator
clicks must change the alert in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertState, Severity
from analytics.kpis.aggregate import KpiValue
from analytics.kpis.engine import line_of
from analytics.kpis.influx import KpiInflux
from analytics.kpis.windows import Window, day_start
from tests.citytwin.alert_app import OPERATOR, VIEWER, AlertApp, open_alert, running_app
from tests.services import Influx

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
SHOWN_WITHIN_S = 20.0
DATABASE = "alertsconsole"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
    pytest.mark.asyncio(loop_scope="function"),
    pytest.mark.timeout(120),
]


def camera_jpeg() -> bytes:
    """A real, decodable JPEG (a browser shows it), as a camera snapshot would be."""
    frame = np.full((120, 160, 3), (40, 90, 160), np.uint8)
    cv2.rectangle(frame, (40, 30), (120, 100), (255, 255, 255), -1)
    ok, encoded = cv2.imencode(".jpg", frame)
    assert ok
    return encoded.tobytes()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[AlertApp]:
    influx.create_database(DATABASE)
    with running_app(tmp_path_factory.mktemp("alerts-console"), influx, DATABASE) as running:
        yield running


@pytest_asyncio.fixture
async def lifecycle(app: AlertApp) -> AsyncIterator[AlertLifecycle]:
    opened = await app.lifecycle()
    async with opened.store:
        yield opened


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_page(browser: Browser, url: str, login: tuple[str, str]) -> Page:
    context = await browser.new_context(
        http_credentials={"username": login[0], "password": login[1]},
        viewport={"width": 1400, "height": 900},
    )
    page = await context.new_page()
    await page.goto(url, timeout=30_000)
    return page


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll the page (bounded): its state has no event the test could await."""
    async with asyncio.timeout(SHOWN_WITHIN_S):
        while not await check():  # noqa: ASYNC110 - the state is in the browser
            await asyncio.sleep(0.1)


async def inbox(browser: Browser, app: AlertApp, site: str, login: tuple[str, str]) -> Page:
    page = await open_page(browser, f"{app.url}/alerts", login)
    await page.fill("input[name=site]", site)
    await page.press("input[name=site]", "Tab")  # leaving the field applies the filter
    await until(lambda: page.evaluate("window.alertsInbox.ready()"))
    # a mark only this very document carries: gone if the page reloads
    await page.evaluate("window.notReloaded = true")
    return page


def row(page: Page, alert_id: str) -> str:
    return f'tr[data-alert="{alert_id}"]'


async def test_an_alert_appears_live_and_an_operator_acknowledges_it(
    browser: Browser, app: AlertApp, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    page = await inbox(browser, app, unique_name, OPERATOR)
    try:
        assert await page.locator("header h1").inner_text() == (
            "Hộp cảnh báo tỉnh Thái Bình · citytwin"
        )
        alert = await open_alert(
            lifecycle, unique_name, snapshot=camera_jpeg(), severity=Severity.CRITICAL
        )
        selector = row(page, alert.id)
        await until(lambda: page.locator(selector).is_visible())
        assert await page.evaluate("window.notReloaded") is True
        cells = await page.locator(selector + " td").all_inner_texts()
        assert cells[:2] == ["khẩn cấp", "mới"]
        assert "Cán bộ vắng mặt tại cam-03" in cells
        assert "cán bộ vắng mặt" in cells  # the rule type, in Vietnamese
        assert await page.locator("#live").inner_text() == "● trực tiếp"

        await page.locator(selector + ' button[data-action="acknowledge"]').click()
        await until(lambda: _state_is(page, selector, "acknowledged"))
        stored = await lifecycle.get(alert.id)
        assert (stored.state, stored.acknowledged_by) == (AlertState.ACKNOWLEDGED, "truc-ban")
        assert (await page.locator(selector + " td").all_inner_texts())[1] == "đã xác nhận"
        assert await page.locator(selector + ' button[data-action="acknowledge"]').count() == 0

        # the alert's history and snapshot
        await page.locator(selector).click()
        await until(lambda: _count_is(page, "#history li", 3))
        history = await page.locator("#history li").all_inner_texts()
        assert [line.split(" · ")[-1] for line in history] == ["phát sinh", "ảnh chụp", "xác nhận"]
        assert " · truc-ban · " in history[-1]
        await until(lambda: page.evaluate("document.getElementById('evidence').naturalWidth > 0"))
        assert await page.evaluate("document.getElementById('evidence').naturalWidth") == 160

        # a note and an assignee from the alert's panel
        await page.fill("#detail-actions input[name=text]", "đã gọi cán bộ")
        await page.click('#detail-actions button[data-action="notes"]')
        await until(lambda: _count_is(page, "#history li", 4))
        assert (await page.locator("#history li").last.inner_text()).endswith(
            "truc-ban · ghi chú — đã gọi cán bộ"
        )
        await page.fill("#detail-actions input[name=assignee]", "can-bo-lan")
        await page.click('#detail-actions button[data-action="assign"]')
        await until(lambda: _count_is(page, "#history li", 5))
        assert (await page.locator(selector + " td").all_inner_texts())[7] == "can-bo-lan"
        assert (await lifecycle.get(alert.id)).assignee == "can-bo-lan"

        # another process resolves it: the page follows, still without a reload
        await lifecycle.resolve(alert.id, actor="can-bo-lan")
        await until(lambda: _state_is(page, selector, "resolved"))
        assert (await page.locator(selector + " td").all_inner_texts())[1] == "đã xử lý"
        assert await page.evaluate("window.notReloaded") is True
    finally:
        await page.evaluate("window.alertsInbox.stop()")
        await page.context.close()


async def _count_is(page: Page, selector: str, count: int) -> bool:
    return await page.locator(selector).count() == count


async def _state_is(page: Page, selector: str, state: str) -> bool:
    return await page.locator(selector).get_attribute("data-state") == state


async def test_a_viewer_sees_no_buttons_and_english_on_the_switch(
    browser: Browser, app: AlertApp, lifecycle: AlertLifecycle, unique_name: str
) -> None:
    alert = await open_alert(lifecycle, unique_name)
    page = await inbox(browser, app, unique_name, VIEWER)
    try:
        selector = row(page, alert.id)
        await until(lambda: page.locator(selector).is_visible())
        assert await page.locator(selector + " button").count() == 0
        await page.locator(selector).click()
        await until(lambda: _count_is(page, "#history li", 1))
        assert await page.locator("#detail-actions").count() == 0
        await page.click("#switch")
        await page.wait_for_url("**/alerts?lang=en")
        assert await page.locator("header h1").inner_text() == (
            "Alert inbox Thái Bình province · citytwin"
        )
        assert "Signed in: khach (viewer)" in await page.locator("header nav").inner_text()
        await page.fill("input[name=site]", unique_name)
        await page.press("input[name=site]", "Tab")
        await until(lambda: page.locator(selector).is_visible())
        cells = await page.locator(selector + " td").all_inner_texts()
        assert cells[:2] == ["major", "open"]
        assert "Officer absent at cam-03" in cells
        assert await page.locator("#switch").inner_text() == "Tiếng Việt"
    finally:
        await page.evaluate("window.alertsInbox.stop()")
        await page.context.close()


async def test_the_scorecard_shows_lights_and_trend_arrows(
    browser: Browser, app: AlertApp, influx: Influx, unique_name: str
) -> None:
    scope = f"site:{unique_name}.hcc"

    def day(kpi: str, on: date, value: float) -> KpiValue:
        return KpiValue(kpi, scope, Window.DAY, day_start(on), value, value, None)

    async with KpiInflux(
        influx.url, DATABASE, username=influx.username, password=influx.password
    ) as client:
        await client.write(
            [
                line_of(value)
                for value in (
                    day("waiting_time_mean", date(2026, 12, 3), 12.0),
                    day("waiting_time_mean", date(2026, 12, 2), 14.0),
                    day("officer_availability", date(2026, 12, 3), 80.0),
                    day("officer_availability", date(2026, 12, 2), 90.0),
                )
            ]
        )
    page = await open_page(
        browser, f"{app.url}/kpis?scope={scope}&window=day&at=2026-12-03T10:00:00%2B07:00", VIEWER
    )
    try:
        await until(lambda: page.evaluate("window.scorecard.ready()"))
        waiting = page.locator('tr[data-kpi="waiting_time_mean"] td')
        assert await waiting.all_inner_texts() == [
            "đạt",
            "Thời gian chờ trung bình",
            "12 min",
            "15 min",
            "14 min",
            "▲ cải thiện",
        ]
        availability = page.locator('tr[data-kpi="officer_availability"]')
        assert await availability.get_attribute("data-light") == "red"
        texts = await availability.locator("td").all_inner_texts()
        assert (texts[0], texts[-1]) == ("không đạt", "▼ xấu đi")
        dot = availability.locator(".light")
        assert await dot.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(229, 72, 77)"
        await page.click("#switch")
        await page.wait_for_url("**/kpis?*lang=en*")
        await until(lambda: page.evaluate("window.scorecard.ready()"))
        english = await page.locator('tr[data-kpi="waiting_time_mean"] td').all_inner_texts()
        assert english[:2] == ["on target", "Mean waiting time"]
        assert english[-1] == "▲ improving"
        assert await page.locator("#indicators-section").is_hidden()  # none for a site
    finally:
        await page.context.close()


async def test_the_sectors_indicators_stand_beside_the_kpis_of_a_district(
    browser: Browser, app: AlertApp, unique_name: str
) -> None:
    scope = "district:" + unique_name.replace("_", "-").replace(".", "-").lower()[:60]
    figures = (
        "code,period,value,scope\n"
        f"online_dossiers_share,2026-10,41,{scope}\n"
        f"online_dossiers_share,2026-11,45.5,{scope}\n"
    )
    async with httpx.AsyncClient(base_url=app.url, timeout=20) as http:
        sent = await http.post(
            "/api/indicators/figures",
            content=figures,
            headers={"Content-Type": "text/csv"},
            auth=OPERATOR,
        )
    assert sent.status_code == 200, sent.text
    page = await open_page(browser, f"{app.url}/kpis?scope={scope}", VIEWER)
    try:
        await until(lambda: page.evaluate("window.scorecard.ready()"))
        assert await page.locator("#indicators-section h2").inner_text() == (
            "Chỉ tiêu kinh tế – xã hội"
        )
        row = page.locator('tr[data-indicator="online_dossiers_share"]')
        assert await row.locator("td").all_inner_texts() == [
            "gần đạt",  # 45.5 % against 50 %, within the 10 % tolerance
            "Tỷ lệ hồ sơ nộp trực tuyến",
            "2026-11",
            "45,5 %",
            "50 %",
            "41 %",
            "▲ cải thiện",
        ]
    finally:
        await page.context.close()
