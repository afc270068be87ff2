"""The automated loop on the drain scenario: customers keep draining our side of the shop
channel; hour after hour the collector records and the rebalancer refills it from the
wallet channel, so it stays in its band, and the journal's history agrees with the fees
the simulated network really charged."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from lnpilot.base.domain import chan_id_from_scid
from lnpilot.rebalance import RebalanceMode, RebalanceOutcome, RebalanceReport, history
from lnpilot.service.daemon import rebalance_loop
from lnpilot.service.health import LoopHealth
from lnpilot.service.supervisor import Supervisor
from lnpilot.store import Store

from .conftest import DEFAULTS, SHOP, Drain

DAYS = 4


async def test_the_loop_keeps_the_drained_channel_in_band(drain: Drain, store: Store) -> None:
    collector = drain.collector(store)
    rebalancer = drain.rebalancer(store, DEFAULTS)
    start = drain.now
    reports: list[RebalanceReport] = []
    for _ in range(DAYS * 24):
        drain.advance(timedelta(hours=1))
        await collector.cycle()
        reports.append(await rebalancer.run(RebalanceMode.APPLY, trigger="auto"))

    shop = [next(d for d in r.plan.decisions if d.channel.scid == SHOP) for r in reports]
    done = [e for r in reports for e in r.executed]
    assert done and all(e.execution.outcome is RebalanceOutcome.SUCCEEDED for e in done)
    assert {e.decision.channel.scid for e in done} == {SHOP}
    # After a day of learning (the shop channel drains: a source, band 45–85%), it is kept
    # in band but for the hours it waits for the wallet channel to rise above its own band
    # (sources = "above_centre" would not wait: see test_planner).
    assert str(shop[-1].band) == "45–85%" and shop[-1].direction == "source"
    later = shop[24:]
    in_band = [d for d in later if d.band and d.band.low_permille <= (d.ratio_permille or 0)]
    assert len(in_band) >= 0.8 * len(later)
    # Without the refills the shop channel would be far below; with them it is near its band.
    assert drain.local_msat(SHOP) >= 0.4 * 4_000_000_000

    found = await history(store, reports[0].node_id, start, drain.now + timedelta(seconds=1))
    paid_msat = sum(e.execution.fee_paid_msat for e in done)
    assert paid_msat == drain.our_payment_fees_msat() == found.cost_msat > 0
    (attribution,) = found.channels.values()
    assert attribution.chan_id == chan_id_from_scid(SHOP)
    assert attribution.bought_msat == sum(e.execution.moved_msat for e in done)
    assert attribution.rebalances == len(done) == len(found.rebalances)
    assert 0 < attribution.sold_msat <= attribution.bought_msat
    assert attribution.paid_for_itself  # 800 ppm earned on what cost 70 ppm


async def test_auto_runs_until_stopped_and_outlives_a_failed_run(
    drain: Drain, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """``lnpilot rebalance auto``'s loop, the daemon's: under the supervisor, a run before
    the first collection waits (and says so), and the loop goes on until stopped."""
    rebalancer = drain.rebalancer(store, DEFAULTS)
    reports: list[RebalanceReport] = []

    def seen(report: RebalanceReport) -> None:
        reports.append(report)
        if len(reports) == 2:
            supervisor.stop()

    loop = rebalance_loop(rebalancer, 0.05, RebalanceMode.DRY_RUN, on_report=seen)
    supervisor = Supervisor([loop], LoopHealth())
    caplog.set_level(logging.INFO, logger="lnpilot.service.supervisor")
    running = asyncio.create_task(supervisor.run())
    # the store has never seen the node: runs wait and are logged (waited for, not slept on)
    while "run lnpilot collect" not in caplog.text:  # logging has no event to wait on
        assert not running.done(), "the auto loop ended by itself"
        await asyncio.sleep(0.01)
    assert reports == []
    await drain.collector(store).cycle()
    await asyncio.wait_for(running, 10)
    assert [r.mode for r in reports] == [RebalanceMode.DRY_RUN, RebalanceMode.DRY_RUN]
