"""Outages and restarts: the node's face goes away mid-run while traffic goes on, and a new
collector takes over a database another one filled. Afterwards every forward is stored
exactly once, the snapshots resume, and the gap is recorded as an event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from lnpilot.collect import Collector, CycleReport
from lnpilot.config import Settings
from lnpilot.node import LndRest, LndRestError
from lnpilot.service import Services
from lnpilot.service.daemon import collection_loops
from lnpilot.service.supervisor import Supervisor
from lnpilot.store import EventKind, Resolution, Store

from .conftest import EPOCH, MACAROON, Sim

FAR = timedelta(days=3650)


async def _until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _services(sim: Sim, store: Store, tmp_path: Path) -> Services:
    """What the collection loops need: the store, the simulated node, its clock."""
    settings = Settings(lnbits={"url": "http://127.0.0.1:9"}, data_dir=tmp_path)
    return Services(store=store, node=sim.lnd, settings=settings, clock=lambda: sim.now)


def _identity(forwards: list) -> list[tuple[int, int, int, int, int]]:  # type: ignore[type-arg]
    return [
        (f.timestamp_ns, f.chan_id_in, f.chan_id_out, f.amt_out_msat, f.fee_msat) for f in forwards
    ]


async def test_an_outage_of_the_node_loses_no_forward_and_duplicates_none(
    sim: Sim, store: Store, tmp_path: Path
) -> None:
    """The collection loops of ``lnpilot run`` and ``collect --every``, under the supervisor."""
    services = _services(sim, store, tmp_path)
    reports: list[CycleReport] = []
    supervisor = Supervisor(
        collection_loops(services, 0.04, on_report=reports.append), services.health
    )
    running = asyncio.create_task(supervisor.run())
    try:
        sim.traffic(3, every=timedelta(milliseconds=1))
        await _until(lambda: bool(reports) and reports[-1].forward_index == 3, "3 forwards")

        sim.stop_face()
        seen_before = len(reports)
        sim.traffic(10, every=timedelta(milliseconds=1))  # routed while nobody watches
        await asyncio.sleep(0.4)  # cycles fail meanwhile; the loop goes on
        assert len(reports) - seen_before <= 1  # at most one that was mid-flight
        sim.restart_face()
        await _until(lambda: reports[-1].forward_index == 13, "the forwards of the outage")
        await asyncio.sleep(0.1)  # and a few more cycles, which must add nothing
    finally:
        supervisor.stop()
        await running

    node_id = reports[-1].node_id
    async with store.read() as reader:
        stored = await reader.forwards(node_id, EPOCH, sim.now + FAR)
        gaps = await reader.events(node_id, EPOCH, sim.now + FAR, kinds=[EventKind.COLLECTOR_GAP])
        chan = sim.chans["800000x2x0"]
        series = await reader.channel_series(
            node_id,
            chan.chan_id,
            sim.now - timedelta(hours=1),
            sim.now + timedelta(hours=1),
            resolution=Resolution.FIVE_MINUTES,
        )
    assert _identity(stored) == _identity(sim.ours.forwards)
    assert sum(r.forwards_new for r in reports) == 13
    [gap] = gaps
    assert isinstance(gap.payload["failed_cycles"], int) and gap.payload["failed_cycles"] >= 1
    assert "LndRestError" in str(gap.payload["last_error"])
    [point] = series.points  # the snapshots went on after the outage, at the new balance
    assert point.balance is not None and point.balance.last_at == sim.now
    assert point.balance.local_balance_last_msat == chan.balance_msat[0] // 1000 * 1000


async def test_a_failed_cycle_writes_nothing_and_the_next_one_records_the_gap(
    sim: Sim, store: Store
) -> None:
    collector = sim.collector(store)
    await collector.cycle()
    sim.stop_face()
    sim.advance(timedelta(minutes=1))
    for _ in range(2):
        with pytest.raises(LndRestError):
            await collector.cycle()
    sim.traffic(2)
    sim.restart_face()
    report = await collector.cycle()
    assert report.forwards_new == 2
    [gap] = report.events
    assert gap.kind == EventKind.COLLECTOR_GAP
    assert gap.payload["failed_cycles"] == 2 and gap.payload["gap_s"] == 120.0


async def test_a_new_collector_on_the_same_database_resumes_from_the_stored_index(
    sim: Sim, store: Store, database_url: URL
) -> None:
    sim.traffic(4)
    await sim.collector(store).cycle()
    sim.traffic(3)

    # Another process: its own database connection and its own connection to the node.
    async with await Store.open(database_url) as reopened, LndRest(sim.face.url, MACAROON) as lnd:
        # Four at most per cycle: had it started from the beginning again, its first cycle
        # would have re-read four old forwards and not be caught up.
        restarted = Collector(lnd, reopened, clock=lambda: sim.now, max_forwards_per_cycle=4)
        reports: list[CycleReport] = []
        await restarted.run_once(reports.append)
    assert [(r.forwards_new, r.forward_index, r.caught_up) for r in reports] == [(3, 7, True)]
    assert not reports[0].first and reports[0].events == ()
    async with store.read() as reader:
        stored = await reader.forwards(reports[0].node_id, EPOCH, sim.now + FAR)
    assert _identity(stored) == _identity(sim.ours.forwards)


async def test_a_collector_started_after_a_long_stop_records_the_gap(
    sim: Sim, store: Store, tmp_path: Path
) -> None:
    await sim.collector(store).cycle()
    stopped_at = sim.now
    sim.advance(timedelta(minutes=10))
    reports: list[CycleReport] = []
    services = _services(sim, store, tmp_path)
    supervisor: Supervisor

    def first_only(report: CycleReport) -> None:
        reports.append(report)
        supervisor.stop()

    loops = collection_loops(services, 60, on_report=first_only)
    supervisor = Supervisor(loops, services.health)
    await supervisor.run()
    [gap] = reports[0].events
    assert gap.kind == EventKind.COLLECTOR_GAP
    assert gap.payload == {
        "since": stopped_at.isoformat(),
        "gap_s": 600.0,
        "failed_cycles": 0,
        "last_error": None,
    }
