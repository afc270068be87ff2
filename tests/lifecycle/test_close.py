"""The close procedure on the simulated node through its LND face: planned, dry run, then
disable → wait for HTLCs (a hold invoice keeps one in flight) → close → cleanup, resumed
after a crash, refused when out of date, and a force close refused without its approval."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from lnpilot.backup.export import ExportFormat, ExportKind, Period, export
from lnpilot.lifecycle.close import CloseError, plan_close, run_close
from lnpilot.lifecycle.closed import closed_views
from lnpilot.node.backend import NodeError
from lnpilot.simnet.invoices import InvoiceRequest
from lnpilot.simnet.network import AttemptStatus
from lnpilot.store import Store, lifecycle
from lnpilot.store.levels import EPOCH

from .conftest import Sim

CAROL = "800000x2x0"
DAVE = "800000x3x0"


async def _collected(sim: Sim, store: Store) -> int:
    return (await sim.collector(store).cycle()).node_id


def _hold_htlc(sim: Sim) -> tuple[str, str]:
    """A payment alice → us → carol held by carol's hold invoice: an HTLC in flight on
    carol's channel until settled. Returns (hash, preimage) in hex."""
    preimage = hashlib.sha256(b"held through us").digest()
    payment_hash = hashlib.sha256(preimage).digest()
    with sim.lock:
        carol = sim.net.nodes[sim.nodes["carol"]]
        request = InvoiceRequest(50_000_000, payment_hash=payment_hash, hold=True)
        sim.net.invoices.create(carol, request, sim.net.now_ns, b"\x01" * 32)
        outcome = sim.payer.pay(
            sim.nodes["alice"], sim.nodes["carol"], 50_000_000, payment_hash.hex()
        )
    assert outcome.status is AttemptStatus.HELD
    return payment_hash.hex(), preimage.hex()


def _disabled(sim: Sim, scid: str) -> bool:
    chan = sim.chans[scid]
    ours = 0 if chan.node1 == sim.nodes["ours"] else 1
    return bool(chan.policies[ours].disabled)


async def test_close_waits_for_htlcs_resumes_after_a_crash_and_cleans_up(
    sim: Sim, store: Store
) -> None:
    node_id = await _collected(sim, store)
    payment_hash, preimage = _hold_htlc(sim)
    plan = await plan_close(
        sim.lnd,
        store,
        node_id,
        CAROL,
        by="alice-operator",
        now=sim.now,
        sat_per_vbyte=5,
        htlc_deadline=timedelta(minutes=30),
    )
    assert plan.id is not None and plan.next_step == "disable"

    dry = await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now)
    assert [s.outcome for s in dry.steps] == ["dry_run"]
    assert "would disable the channel" in dry.steps[0].reason and not _disabled(sim, CAROL)

    first = await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert [(s.step, s.outcome) for s in first.steps] == [
        ("disable", "done"),
        ("settle", "waiting"),
    ]
    assert _disabled(sim, CAROL) and first.plan.next_step == "settle"

    # A crash: the node goes away mid-run; the next run picks up at the step it stopped at.
    sim.stop_face()
    with pytest.raises(NodeError):
        await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    sim.restart_face()
    sim.advance(timedelta(hours=1))
    late = await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert [(s.step, s.outcome) for s in late.steps] == [("settle", "deadline")]

    with sim.lock:
        sim.net.settle_held(payment_hash, preimage)
    done = await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert [(s.step, s.outcome) for s in done.steps] == [
        ("settle", "done"),
        ("close", "done"),
        ("cleanup", "done"),
    ]
    assert done.finished and done.plan.result["onchain_fee_sat"] == 5 * 170
    assert done.plan.result["closing_txid"]
    accounting = done.plan.result["accounting"]
    assert isinstance(accounting, dict) and accounting["rebalance_spent_msat"] == 0

    again = await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert again.steps == []  # a finished plan does nothing
    async with store.read() as reader:
        journal = await lifecycle.steps(reader, [plan.id])
    taken = [(s.step, s.outcome) for s in journal if s.outcome == "done"]
    assert taken == [
        ("disable", "done"),
        ("settle", "done"),
        ("close", "done"),
        ("cleanup", "done"),
    ]
    assert {s.approved_by for s in journal} == {"alice-operator", "op"}

    sim.mine()
    sim.advance(timedelta(minutes=1))
    await sim.collector(store).cycle()
    async with store.read() as reader:
        [view] = await closed_views(reader, node_id, sim.now)
    assert view.record.channel.close_type.value == "cooperative"
    assert view.accounting.onchain_fee_sat == 850 and len(view.plans) == 1

    # the accounting export charges the close's estimated fee to the channel, in its period
    chunks = export(
        store,
        node_id,
        ExportKind.ACCOUNTING,
        EPOCH,
        sim.now + timedelta(days=1),
        ExportFormat.JSON,
        period=Period.DAY,
    )
    rows = json.loads("".join([c async for c in chunks]))
    [charged] = [r for r in rows if r["onchain_costs_sat"] is not None]
    assert charged["chan_id"] == view.record.channel.chan_id
    assert charged["onchain_costs_sat"] == 850 and charged["period_start"] == str(sim.now.date())
    expected_net = charged["fees_earned_msat"] - charged["rebalance_spent_msat"] - 850_000
    assert charged["net_msat"] == expected_net


async def test_a_close_sent_before_a_crash_is_not_sent_again(sim: Sim, store: Store) -> None:
    node_id = await _collected(sim, store)
    plan = await plan_close(sim.lnd, store, node_id, DAVE, by="op", now=sim.now)
    assert plan.id is not None
    async with store.transaction() as tx:  # as if the run crashed right after sending
        await lifecycle.advance_plan(tx, plan.id, sim.now, state="running", next_step="close")
    with sim.lock:
        sim.ours.close_channel(sim.chans[DAVE].channel_point)
    run = await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert (run.steps[0].step, run.steps[0].reason) == (
        "close",
        "the node lists it as closing already",
    )
    assert run.finished


async def test_force_close_needs_its_second_approval(sim: Sim, store: Store) -> None:
    node_id = await _collected(sim, store)
    with pytest.raises(CloseError, match="force close cannot be given a fee rate"):
        await plan_close(
            sim.lnd, store, node_id, DAVE, by="op", now=sim.now, force=True, sat_per_vbyte=3
        )
    plan = await plan_close(sim.lnd, store, node_id, DAVE, by="op", now=sim.now, force=True)
    assert plan.id is not None
    refused = await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert [s.outcome for s in refused.steps] == ["refused"]
    assert "--approve-force" in refused.steps[0].reason and not _disabled(sim, DAVE)

    run = await run_close(
        sim.lnd, store, plan.id, by="boss", clock=lambda: sim.now, apply=True, approve_force=True
    )
    assert run.finished
    assert "second approval given" in run.steps[2].reason and run.steps[2].approved_by == "boss"
    sim.mine()
    sim.advance(timedelta(minutes=1))
    await sim.collector(store).cycle()
    async with store.read() as reader:
        [view] = await closed_views(reader, node_id, sim.now)
    assert view.record.channel.close_type.value == "local_force"


async def test_an_out_of_date_plan_is_refused_and_bad_input_is_named(
    sim: Sim, store: Store
) -> None:
    node_id = await _collected(sim, store)
    plan = await plan_close(sim.lnd, store, node_id, CAROL, by="op", now=sim.now)
    assert plan.id is not None
    sim.traffic(1)  # alice pays carol through us: carol's channel balance moves
    run = await run_close(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert run.plan.state == "stale" and run.plan.next_step is None
    assert "changed since planning (local_balance_msat" in run.steps[0].reason
    assert not _disabled(sim, CAROL)

    for scid, options, words in (
        ("800000x9x9", {}, "no open channel 800000x9x9"),
        ("nonsense", {}, "short channel id"),
        (CAROL, {"sat_per_vbyte": 0}, "out of range: give 1 to 1000"),
        (CAROL, {"htlc_deadline": timedelta(0)}, "must be positive"),
    ):
        with pytest.raises(CloseError, match=words):
            await plan_close(
                sim.lnd,
                store,
                node_id,
                scid,
                by="op",
                now=sim.now,
                **options,  # type: ignore[arg-type]
            )
    with pytest.raises(CloseError, match="no close plan 999"):
        await run_close(sim.lnd, store, 999, by="op", clock=lambda: sim.now)
