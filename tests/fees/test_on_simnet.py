"""The fee engine against a simulated node: through a real LNbits for outbound fees, through
the direct LND backend for inbound fees, read back, journaled, rolled back. Expected values
come from the simulation itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lnpilot.fees import Action, Mode, RollbackError, UpdateOutcome, evaluate, rollback
from lnpilot.fees.policy import parse_policy
from lnpilot.node import CompositeNode, LndRest
from lnpilot.store import Store, fee_journal

from .conftest import World

PERMISSIVE = """
[safety]
max_step_pct = 1000
max_step_floor_ppm = 10000
max_base_step_msat = 100000
min_interval = "1s"
"""


def policy(rules: str) -> str:
    return PERMISSIVE + rules + '[[rule]]\nname = "default"\nstrategy = "peer_aware"\n'


async def node_id(store: Store, world: World) -> int:
    async with store.read() as reader:
        found = await reader.node_id(world.sim.our_node.pubkey)
    assert found is not None
    return found


@pytest.mark.lnbits
async def test_outbound_fees_through_lnbits_land_in_the_node_and_are_read_back(
    world: World, lnbits_only: CompositeNode, store: Store
) -> None:
    rules = parse_policy(
        policy(
            '[[rule]]\nname = "alice"\nmatch.channel = "800000x1x0"\nstrategy = "static"\n'
            'static.fee_rate_ppm = 321\nbase_fee_msat = 500\ninbound = "static"\n'
            "inbound_static.fee_rate_ppm = -25\n"
        )
    )
    now = datetime.now(UTC)
    report = await evaluate(lnbits_only, store, rules, now, apply=True)
    try:
        by_scid = {r.decision.scid: r for r in report.results}
        alice = by_scid["800000x1x0"]
        assert alice.outcome is UpdateOutcome.APPLIED, alice.error
        assert (alice.readback.fee_rate_ppm, alice.readback.base_fee_msat) == (321, 500)  # type: ignore[union-attr]
        view = world.view("800000x1x0")
        assert (view.local_policy.fee_rate_ppm, view.local_policy.base_fee_msat) == (321, 500)
        # LNbits cannot set inbound fees: not proposed, and the reason says what would
        assert view.local_policy.inbound_fee_rate_ppm == 0
        assert any(
            "needs a direct LND REST connection" in r for r in alice.decision.detail["reasons"]
        )  # type: ignore[union-attr]
        # the others: LNbits shows no peer policies, so peer_aware has nothing to go by
        for scid in ("800000x2x0", "800000x3x0"):
            assert by_scid[scid].outcome is UpdateOutcome.NONE
            assert "no other channel toward this peer" in by_scid[scid].decision.reason
        async with store.read() as reader:
            decisions = await fee_journal.run_decisions(reader, report.run_id)
        assert [d.outcome for d in decisions] == ["applied", "none", "none"]
    finally:
        await rollback(lnbits_only, store, report.run_id, now + timedelta(seconds=1))
    view = world.view("800000x1x0")
    assert (view.local_policy.fee_rate_ppm, view.local_policy.base_fee_msat) == (100, 1000)


async def test_inbound_fees_through_lnd_then_rollback_restores_them(
    world: World, lnd: LndRest, store: Store
) -> None:
    node = CompositeNode([lnd])
    rules = parse_policy(
        policy(
            '[[rule]]\nname = "carol"\nmatch.channel = "800000x2x0"\nstrategy = "static"\n'
            'static.fee_rate_ppm = 250\ninbound = "static"\ninbound_static.fee_rate_ppm = -40\n'
            "cltv_delta = 60\n"
        )
    )
    now = datetime.now(UTC)
    dry = await evaluate(node, store, rules, now)
    assert dry.mode is Mode.DRY_RUN
    assert world.view("800000x2x0").local_policy.fee_rate_ppm == 100  # a plan changes nothing
    with pytest.raises(RollbackError, match="was a dry run"):
        await rollback(node, store, dry.run_id, now)

    applied = await evaluate(node, store, rules, now + timedelta(seconds=1), apply=True)
    carol = next(r for r in applied.results if r.decision.scid == "800000x2x0")
    assert carol.outcome is UpdateOutcome.APPLIED, carol.error
    policy_now = world.view("800000x2x0").local_policy
    assert (policy_now.fee_rate_ppm, policy_now.inbound_fee_rate_ppm, policy_now.cltv_delta) == (
        250,
        -40,
        60,
    )
    async with store.read() as reader:
        sent = await fee_journal.sent_updates(
            reader, await node_id(store, world), now - timedelta(1)
        )
    assert len(sent) == 1  # the dry run sent nothing

    undone = await rollback(node, store, applied.run_id, now + timedelta(seconds=2))
    assert [r.outcome for r in undone.results] == [UpdateOutcome.APPLIED]
    policy_now = world.view("800000x2x0").local_policy
    assert (policy_now.fee_rate_ppm, policy_now.inbound_fee_rate_ppm, policy_now.cltv_delta) == (
        100,
        0,
        80,
    )
    async with store.read() as reader:
        runs = await fee_journal.runs(reader, await node_id(store, world))
    assert [(r.mode, r.rollback_of) for r in runs] == [
        ("rollback", applied.run_id),
        ("apply", None),
        ("dry-run", None),
    ]


async def test_rollback_leaves_a_channel_changed_since_alone_unless_forced(
    world: World, lnd: LndRest, store: Store
) -> None:
    node = CompositeNode([lnd])
    rules = parse_policy(
        policy(
            '[[rule]]\nname = "erin"\nmatch.channel = "800000x3x0"\nstrategy = "static"\n'
            "static.fee_rate_ppm = 700\n"
        )
    )
    now = datetime.now(UTC)
    applied = await evaluate(node, store, rules, now, apply=True)
    with world.lock:  # the operator changes it by hand afterwards
        point = world.view("800000x3x0").channel_point
        world.sim.our_node.update_channel_policy(point, fee_rate_ppm=650)
    kept = await rollback(node, store, applied.run_id, now + timedelta(seconds=1))
    (decision,) = [r.decision for r in kept.results]
    assert decision.action is Action.NONE
    assert decision.reason.startswith("changed since run")
    assert "fee_rate_ppm is 650, the run set 700" in decision.reason
    assert world.view("800000x3x0").local_policy.fee_rate_ppm == 650
    forced = await rollback(node, store, applied.run_id, now + timedelta(seconds=2), force=True)
    assert [r.outcome for r in forced.results] == [UpdateOutcome.APPLIED]
    assert world.view("800000x3x0").local_policy.fee_rate_ppm == 100
