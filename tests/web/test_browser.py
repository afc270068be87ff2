"""The dashboard in headless Chromium: pages load without console errors or outside requests,
charts draw the store's data, it fits a phone's width, and screenshots are kept in
``test-artifacts/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, Page

from lnpilot.store import PolicySource
from lnpilot.store.levels import EPOCH
from lnpilot.web.charts import COLORS

from .conftest import ARTIFACTS, Served

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

#: Pixels of a canvas whose colour is within a few units of ``color`` (``#rrggbb``); the
#: series are drawn in these exact colours, so axes and grid never count.
COUNT_PIXELS = """([selector, color]) => {
  const rgb = [1, 3, 5].map(i => parseInt(color.slice(i, i + 2), 16));
  return Array.from(document.querySelectorAll(selector)).map(canvas => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) <= 6 &&
          Math.abs(data[i + 1] - rgb[1]) <= 6 && Math.abs(data[i + 2] - rgb[2]) <= 6) n++;
    }
    return n;
  });
}"""


class Watched:
    """A page whose console errors, uncaught exceptions, failed and outside requests are
    kept, to assert there were none."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(origin)
                else self.problems.append(f"outside request: {r.url}")
            ),
        )

    async def open(self, url: str) -> None:
        answer = await self.page.goto(url, wait_until="load")
        assert answer is not None and answer.ok, url
        assert self.problems == [], self.problems

    async def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@asynccontextmanager
async def signed_in(
    browser: Browser, served: Served, viewport: dict[str, int]
) -> AsyncIterator[Watched]:
    """A page in a browser context signed in through the token link, as a user of
    ``make demo`` is."""
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    try:
        page = await context.new_page()
        await page.goto(served.url("/", token=True))
        assert page.url == served.url("/"), "the token should leave the address"
        yield Watched(page, served.base)
    finally:
        await context.close()


@pytest.fixture
async def desktop(browser: Browser, served: Served) -> AsyncIterator[Watched]:
    async with signed_in(browser, served, DESKTOP) as page:
        yield page


@pytest.fixture
async def phone(browser: Browser, served: Served) -> AsyncIterator[Watched]:
    async with signed_in(browser, served, PHONE) as page:
        yield page


async def pixels(page: Page, selector: str, color: str) -> list[int]:
    found: list[int] = await page.evaluate(COUNT_PIXELS, [selector, color])
    return found


async def test_the_overview_draws_forwards_and_fees_per_day(
    desktop: Watched, served: Served
) -> None:
    await desktop.open(served.url("/"))
    page = desktop.page
    assert int(await page.get_attribute("#chart-days", "data-drawn") or 0) >= 2
    [bars] = await pixels(page, "#chart-days canvas", COLORS["forwards"])
    [line] = await pixels(page, "#chart-days canvas", COLORS["fees"])
    assert bars > 200 and line > 20, (bars, line)
    await desktop.shot("dashboard-overview.png")


async def test_the_channel_table_draws_a_balance_bar_and_sparkline_per_channel(
    desktop: Watched, served: Served
) -> None:
    await desktop.open(served.url("/channels"))
    page = desktop.page
    rows = page.locator("table.channels tbody tr")
    assert await rows.count() == len(served.filled.scids)
    widths = await page.locator(".bar-local").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert len(widths) == len(served.filled.scids) and any(w > 0 for w in widths)
    paths = await page.locator("svg.spark path").evaluate_all(
        "els => els.map(e => e.getTotalLength())"
    )
    assert len(paths) == 2 * len(served.filled.scids)
    # a flat line across the sparkline is 120 px long: longer ones went up and down
    assert sum(1 for length in paths if length > 125) >= 2, paths
    await desktop.shot("dashboard-channels.png")


async def test_a_channel_page_charts_balance_flow_and_fees_and_marks_policy_changes(
    desktop: Watched, served: Served
) -> None:
    scid = await busiest_repriced_channel(served)
    await desktop.open(served.url(f"/channels/{scid}") + "?range=7d")
    page = desktop.page
    for chart in ("#chart-balance", "#chart-flow", "#chart-fees"):
        assert int(await page.get_attribute(chart, "data-drawn") or 0) >= 10, chart
    [local] = await pixels(page, "#chart-balance canvas", COLORS["local"])
    [remote] = await pixels(page, "#chart-balance canvas", COLORS["remote"])
    [out] = await pixels(page, "#chart-flow canvas", COLORS["out"])
    [fees] = await pixels(page, "#chart-fees canvas", COLORS["fees"])
    assert min(local, remote, out, fees) > 50, (local, remote, out, fees)
    [marks] = await pixels(page, "#chart-fees canvas", COLORS["marker"])
    assert marks > 20, "the policy changes should be marked"
    assert await page.locator("text=lnpilot").count() > 0  # the changes' table names who
    await desktop.shot("dashboard-channel.png")


async def test_history_alert_and_incident_pages_load_cleanly(
    desktop: Watched, served: Served
) -> None:
    await desktop.open(served.url("/fees"))
    runs = desktop.page.locator("section.run")
    assert await runs.count() == served.filled.fee_runs
    await desktop.page.locator("section.run h2 a").first.click()
    await desktop.page.wait_for_load_state("load")
    assert await desktop.page.locator("table tbody tr").count() == len(served.filled.scids)
    await desktop.open(served.url("/rebalances"))
    executed = desktop.page.locator("#executed tbody tr")
    assert served.filled.rebalances > 0
    assert await executed.count() == served.filled.rebalances
    await desktop.shot("dashboard-rebalances.png")
    await desktop.open(served.url("/forwards"))
    assert await desktop.page.locator("#forwards tbody tr").count() == 50
    await desktop.page.select_option("select[name=period]", "30d")
    await desktop.page.click("form.filters button")
    await desktop.page.wait_for_load_state("load")
    assert "period=30d" in desktop.page.url
    await desktop.shot("dashboard-forwards.png")
    await desktop.open(served.url("/peers"))
    assert await desktop.page.locator("#peers tbody tr").count() >= 1
    await desktop.shot("dashboard-peers.png")
    await desktop.open(served.url("/failed"))
    assert await desktop.page.locator("#by-reason tbody tr").count() >= 1
    assert await desktop.page.locator("#latest tbody tr").count() >= 1
    await desktop.shot("dashboard-failed.png")
    await desktop.open(served.url("/alerts"))
    assert await desktop.page.locator(".sev").count() >= served.filled.alerts_fired
    incidents = desktop.page.locator('a[href^="/dashboard/incidents/"]')
    if await incidents.count():
        await incidents.first.click()
        await desktop.page.wait_for_load_state("load")
        assert await desktop.page.locator(".timeline li").count() >= 1
    assert desktop.problems == []
    await desktop.shot("dashboard-alerts.png")


async def test_pages_fit_a_phone_width(phone: Watched, served: Served) -> None:
    scid = served.filled.scids[0]
    pages = ("/", "/channels", f"/channels/{scid}", "/forwards", "/peers", "/fees", "/failed")
    for path in (*pages, "/alerts"):
        await phone.open(served.url(path))
        overflow = await phone.page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, (path, overflow)
    await phone.open(served.url(f"/channels/{scid}"))
    await phone.shot("dashboard-channel-phone.png")


async def busiest_repriced_channel(served: Served) -> str:
    """The channel whose fee lnpilot changed most often in the run."""
    store, now = served.services.store, served.filled.now
    changed: dict[str, int] = {}
    async with store.read() as reader:
        node_id = await reader.node_id(served.filled.pubkey)
        assert node_id is not None
        for channel in await reader.channels(node_id):
            assert channel.chan_id is not None and channel.scid is not None
            history = await reader.policy_history(node_id, channel.chan_id, EPOCH, now)
            changed[channel.scid] = sum(1 for p in history if p.source is PolicySource.LNPILOT)
    assert max(changed.values()) > 0, "the fee engine changed no fee in the run"
    return max(changed, key=lambda scid: changed[scid])
