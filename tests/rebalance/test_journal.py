"""The rebalancing journal in the store: runs, decisions, attempts, and what is read back."""

from __future__ import annotations

from datetime import timedelta

from lnpilot.store import Store, rebalances
from lnpilot.store.rebalances import AttemptRecord, RebalanceDecision, RebalanceRun
from store.factories import new_node

from .conftest import NOW

TARGET, SOURCE, OTHER = 11, 22, 33


def _decision(chan_id: int, **fields: object) -> RebalanceDecision:
    values: dict[str, object] = {
        "role": "target",
        "action": "rebalance",
        "reason": "12% below band 30–70%",
        "outcome": "planned",
        "chan_id": chan_id,
        "scid": f"800000x{chan_id}x0",
        "source_chan_id": SOURCE,
        "amount_msat": 100_000_000,
        "detail": {"amount_why": "10% of capacity"},
    }
    return RebalanceDecision(**{**values, **fields})  # type: ignore[arg-type]


async def decision_id(store: Store) -> tuple[int, int]:
    """A node with one planned rebalance in a run; (node id, decision id)."""
    node_id = await new_node(store)
    async with store.transaction() as tx:
        _, (decision,) = await rebalances.record_run(
            tx, RebalanceRun(node_id, NOW, "apply", "run", 0), [_decision(TARGET)]
        )
    return node_id, decision


def _attempt(node_id: int, decision: int, outcome: str, **fields: object) -> AttemptRecord:
    values: dict[str, object] = {
        "decision_id": decision,
        "node_id": node_id,
        "at": NOW,
        "amount_msat": 50_000_000,
        "fee_limit_msat": 20_000,
        "outcome": outcome,
        "route_fee_msat": 7_000,
    }
    return AttemptRecord(**{**values, **fields})  # type: ignore[arg-type]


async def test_a_run_reads_back_as_written(store: Store) -> None:
    node_id = await new_node(store)
    run = RebalanceRun(node_id, NOW, "dry-run", "plan", 123_000, "ab" * 32, "circular", {"x": 1})
    skip = _decision(OTHER, action="skip", outcome="skipped", reason="budget exhausted (daily)")
    async with store.transaction() as tx:
        run_id, ids = await rebalances.record_run(tx, run, [_decision(TARGET), skip])
    async with store.read() as reader:
        (stored,) = await rebalances.runs(reader, node_id)
        decisions = await rebalances.run_decisions(reader, run_id)
    assert stored == RebalanceRun(**{**run.__dict__, "id": run_id})
    assert [d.id for d in decisions] == ids
    assert decisions[1].reason == "budget exhausted (daily)" and decisions[1].run_id == run_id
    assert decisions[0].detail == {"amount_why": "10% of capacity"}


async def test_spending_counts_paid_and_pending_fees_only(store: Store) -> None:
    node_id, decision = await decision_id(store)
    async with store.transaction() as tx:
        for outcome, fields in (
            ("succeeded", {"fee_paid_msat": 5_000}),
            ("failed", {}),
            ("no_route", {"route_fee_msat": None}),
            ("in_flight", {}),
            ("unknown", {"at": NOW - timedelta(days=2)}),
        ):
            await rebalances.add_attempt(tx, _attempt(node_id, decision, outcome, **fields))
    async with store.read() as reader:
        since = [NOW - timedelta(hours=1), NOW - timedelta(days=3), NOW + timedelta(seconds=1)]
        assert await rebalances.spending(reader, node_id, since) == [12_000, 19_000, 0]
        assert await rebalances.spending(reader, node_id + 1, since) == [0, 0, 0]


async def test_busy_channels_and_the_last_outcome_per_target(store: Store) -> None:
    node_id, decision = await decision_id(store)
    async with store.transaction() as tx:
        await rebalances.start_rebalance(tx, decision, NOW)
    async with store.read() as reader:
        assert await rebalances.busy_channels(reader, node_id, NOW - timedelta(hours=1)) == {
            TARGET,
            SOURCE,
        }
        assert await rebalances.busy_channels(reader, node_id, NOW + timedelta(hours=1)) == set()
    async with store.transaction() as tx:
        attempt = await rebalances.add_attempt(tx, _attempt(node_id, decision, "in_flight"))
        await rebalances.add_attempt(
            tx, _attempt(node_id, decision, "failed", amount_msat=25_000_000)
        )
        await rebalances.settle_attempt(
            tx,
            attempt,
            outcome="failed",
            fee_paid_msat=None,
            failure="TEMPORARY_CHANNEL_FAILURE",
            failure_source_index=2,
            failed_chan_id=999,
            duration_ms=40,
        )
        await rebalances.finish_rebalance(
            tx,
            decision,
            outcome="failed",
            moved_msat=0,
            fee_paid_msat=0,
            failure="no route",
            finished_at=NOW + timedelta(seconds=3),
            duration_ms=3000,
        )
    async with store.read() as reader:
        assert await rebalances.busy_channels(reader, node_id, NOW - timedelta(hours=1)) == set()
        last = await rebalances.last_rebalances(reader, node_id)
        (done,) = await rebalances.executed(reader, node_id, NOW - timedelta(days=1))
        tries = await rebalances.attempts(reader, [decision])
    assert last[TARGET].outcome == "failed" and last[TARGET].smallest_attempt_msat == 25_000_000
    assert (done.outcome, done.failure, done.duration_ms) == ("failed", "no route", 3000)
    assert [(a.outcome, a.failed_chan_id) for a in tries] == [("failed", 999), ("failed", None)]


async def test_refilled_by_channel_sums_what_finished_rebalances_moved_and_paid(
    store: Store,
) -> None:
    node_id = await new_node(store)
    finished = (  # (target, moved, paid, finished days ago)
        (TARGET, 100_000_000, 30_000, 1),
        (TARGET, 50_000_000, 15_001, 5),
        (TARGET, 80_000_000, 90_000, 40),  # before the window
        (TARGET, 0, 0, 1),  # moved nothing: not a refill
        (OTHER, 10_000_000, 2_000, 2),
    )
    run = RebalanceRun(node_id, NOW, "apply", "run", 0)
    async with store.transaction() as tx:
        _, ids = await rebalances.record_run(tx, run, [_decision(c) for c, *_ in finished])
        for decision, (_, moved, paid, ago) in zip(ids, finished, strict=True):
            await rebalances.finish_rebalance(
                tx,
                decision,
                outcome="succeeded" if moved else "failed",
                moved_msat=moved,
                fee_paid_msat=paid,
                failure=None,
                finished_at=NOW - timedelta(days=ago),
                duration_ms=1000,
            )
    async with store.read() as reader:
        found = await rebalances.refilled_by_channel(reader, node_id, NOW - timedelta(days=30))
    assert found == {
        TARGET: rebalances.Refilled(150_000_000, 45_001),
        OTHER: rebalances.Refilled(10_000_000, 2_000),
    }
