"""The dashboard's actions and new pages in headless Chromium: an admin goes plan -> confirm
-> result by clicking, the lifecycle and P&L pages load without console errors, fit a
phone's width, and the channel page draws both sides' fee rates. Screenshots go to
``test-artifacts/`` (the ones in ``docs/images/`` were taken from these)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser

from lnpilot.backtest import jobs
from lnpilot.lifecycle.close import plan_close
from lnpilot.rebalance import RebalanceMode
from lnpilot.service import actions
from lnpilot.web.charts import COLORS

from .conftest import ARTIFACTS, Served, free_port
from .live import Live, live
from .test_browser import DESKTOP, PHONE, Watched, busiest_repriced_channel, pixels, signed_in

__all__ = ["live"]

#: A candidate for the backtest: every channel at 3,000 ppm, in one step.
DEARER = (
    '[safety]\nmax_step_floor_ppm = 100_000\nmin_interval = "1s"\n'
    '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 3000\n'
)


@dataclass(frozen=True)
class LiveServed:
    """The live node's app on 127.0.0.1, shaped like :class:`Served` for ``signed_in``."""

    base: str
    live: Live

    def url(self, path: str, *, token: bool = False) -> str:
        query = f"?token={self.live.admin_token}" if token else ""
        return f"{self.base}/dashboard{path}{query}"


@pytest.fixture(scope="module")
async def live_served(live: Live) -> AsyncIterator[LiveServed]:
    assert isinstance(live.app, FastAPI)
    port = free_port()
    config = uvicorn.Config(
        live.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield LiveServed(f"http://127.0.0.1:{port}", live)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def admin(browser: Browser, live_served: LiveServed) -> AsyncIterator[Watched]:
    async with signed_in(browser, live_served, DESKTOP) as page:  # type: ignore[arg-type]
        yield page


async def click_to(page: Watched, selector: str) -> None:
    """Click what submits a form or follows a link, and wait for the page it leads to."""
    async with page.page.expect_navigation(wait_until="load"):
        await page.page.click(selector)
    assert page.problems == [], page.problems


async def test_an_admin_plans_confirms_and_applies_fees_by_clicking(
    admin: Watched, live_served: LiveServed
) -> None:
    await admin.open(live_served.url("/fees"))
    await click_to(admin, "text=Plan fees now (dry run)")
    assert "/dashboard/fees/" in admin.page.url
    assert (
        await admin.page.locator("h1").inner_text()
        == "Fee run #" + admin.page.url.rsplit("/", 1)[1]
    )
    assert "dry-run" in await admin.page.locator("p.sub").inner_text()
    await click_to(admin, "text=Apply fees…")
    assert await admin.page.locator("h1").inner_text() == "Apply fees?"
    await admin.shot("dashboard-confirm.png")
    await click_to(admin, "button:has-text('Apply fees now')")
    assert "apply at" in await admin.page.locator("p.sub").inner_text()
    await click_to(admin, "text=Roll back…")
    await click_to(admin, "button:has-text('Roll back run')")
    assert "rollback" in await admin.page.locator("p.sub").inner_text()


async def test_an_admin_backtests_a_policy_and_reads_the_comparison(
    admin: Watched, live_served: LiveServed
) -> None:
    await admin.open(live_served.url("/fees"))
    await click_to(admin, "text=Backtest a policy…")
    # The form starts from the policy in place; the candidate asks for far higher fees.
    assert "static.fee_rate_ppm = 321" in await admin.page.input_value("textarea")
    await admin.page.fill("textarea[name=candidate_policy]", DEARER)
    await admin.page.fill("input[name=name]", "dearer")
    await admin.page.fill("input[name=days]", "0.5")
    await admin.page.fill("input[name=seeds]", "1")
    await admin.page.fill("input[name=warmup_days]", "0.25")
    await click_to(admin, "button:has-text('Start the backtest')")
    backtest_id = int(admin.page.url.rsplit("/", 1)[1])
    assert (await admin.page.locator("#state").inner_text()).startswith("running")
    await jobs.finished(live_served.live.services, backtest_id)  # the job itself, not time
    await admin.open(live_served.url(f"/fees/backtests/{backtest_id}"))
    assert await admin.page.locator("#state").inner_text() == "done"
    verdict = await admin.page.locator("#verdict").inner_text()
    assert "Verdict" in verdict and "on 1 seed" in verdict
    rows = admin.page.locator("#comparison tbody tr")
    assert [await rows.nth(i).locator("th").inner_text() for i in range(3)] == [
        "fees earned",
        "rebalancing cost",
        "net profit",
    ]
    assert await admin.page.locator("#channels tbody tr").count() >= 5
    assert "3000" in await admin.page.locator("#decisions").inner_text()
    await admin.shot("dashboard-backtest.png")
    await admin.open(live_served.url("/fees"))
    assert (
        f"#{backtest_id} dearer against policy"
        in await admin.page.locator("#backtests").inner_text()
    )


async def test_an_admin_plans_a_close_and_dry_runs_it_by_clicking(
    admin: Watched, live_served: LiveServed
) -> None:
    await admin.open(live_served.url("/close"))
    assert await admin.page.locator("#advice tbody tr").count() >= 5
    await admin.shot("dashboard-close.png")
    await click_to(admin, "#advice tbody tr:first-child a.button")
    await click_to(admin, "button:has-text('Store the plan')")
    assert "/dashboard/plans/" in admin.page.url
    await click_to(admin, "button:has-text('Dry run the next steps')")
    assert await admin.page.locator("#journal tbody tr").count() >= 2
    assert "dry_run" in await admin.page.locator("#journal").inner_text()
    await admin.shot("dashboard-plan.png")
    await admin.open(live_served.url("/open?budget_sat=2000000"))
    assert await admin.page.locator("#candidates tbody tr").count() == 2
    await admin.shot("dashboard-open.png")


async def test_an_admin_plans_and_runs_rebalances_and_decides_an_incident_action(
    admin: Watched, live_served: LiveServed
) -> None:
    await admin.open(live_served.url("/rebalances"))
    await click_to(admin, "text=Plan rebalances now (dry run)")
    assert "/dashboard/rebalances/runs/" in admin.page.url
    await click_to(admin, "text=Run rebalances…")
    await click_to(admin, "button:has-text('Run rebalances now')")
    assert "apply at" in await admin.page.locator("p.sub").inner_text()
    live = live_served.live
    await admin.open(live_served.url(f"/incidents/{live.incident_id}"))
    approve = admin.page.locator("form.act button:has-text('Approve')")
    before = await approve.count()
    await click_to(admin, "form.act button:has-text('Approve') >> nth=0")
    assert await approve.count() == before - 1
    assert "action_approved" in await admin.page.locator(".timeline").inner_text()


async def test_a_silence_is_set_from_the_alerts_page(
    admin: Watched, live_served: LiveServed
) -> None:
    await admin.open(live_served.url("/alerts"))
    await click_to(admin, "a:has-text('Silence…')")
    await admin.page.fill("input[name=comment]", "maintenance window")
    await click_to(admin, "button:has-text('Silence')")
    assert admin.page.url.endswith("/dashboard/alerts")


async def test_the_new_pages_fit_a_phone_width(browser: Browser, live_served: LiveServed) -> None:
    live = live_served.live
    # A plan and a rebalancing run of its own, so the test needs no other test to run first.
    plan = await plan_close(
        live.sim.lnd, live.store, live.node_id, "800000x3x0", by="phone", now=live.sim.now
    )
    run = await actions.rebalancer(live.services).run(RebalanceMode.DRY_RUN, trigger="phone")
    paths = (
        "/open?budget_sat=2000000",
        "/close",
        "/close/plan?scid=800000x3x0",
        "/pnl",
        "/fees/apply",
        "/fees/backtests/new",
        f"/alerts/{live.alert_id}/silence",
        f"/incidents/{live.incident_id}",
        f"/plans/{plan.id}",
        "/rebalances",
        f"/rebalances/runs/{run.run_id}",
    )
    async with signed_in(browser, live_served, PHONE) as phone:  # type: ignore[arg-type]
        for path in paths:
            await phone.open(live_served.url(path))
            overflow = await phone.page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (path, overflow)
        await phone.open(live_served.url(f"/incidents/{live.incident_id}"))
        await phone.shot("dashboard-incident-phone.png")


async def test_the_pnl_page_and_the_fee_rate_chart_on_a_days_history(
    browser: Browser, served: Served
) -> None:
    async with signed_in(browser, served, DESKTOP) as desktop:
        await desktop.open(served.url("/pnl?range=30d&period=day"))
        assert await desktop.page.locator("#pnl-periods tbody tr").count() >= 2
        assert await desktop.page.locator("#pnl-channels tbody tr").count() >= 3
        await desktop.shot("dashboard-pnl.png")
        scid = await busiest_repriced_channel(served)
        await desktop.open(served.url(f"/channels/{scid}") + "?range=7d")
        assert int(await desktop.page.get_attribute("#chart-rates", "data-drawn") or 0) >= 10
        [ours] = await pixels(desktop.page, "#chart-rates canvas", COLORS["ours"])
        [theirs] = await pixels(desktop.page, "#chart-rates canvas", COLORS["theirs"])
        assert ours > 50 and theirs > 50, (ours, theirs)
        await desktop.page.locator("#chart-rates").scroll_into_view_if_needed()
        await desktop.page.locator("#chart-rates").screenshot(
            path=str(ARTIFACTS / "dashboard-fee-rates.png")
        )
