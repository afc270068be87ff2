"""Opening and closing through the LNbits node API: a real LNbits 1.6.2 whose funding source
(LndRestWallet) is the simulated node's LND face. What LNbits offers (connect, open, the
outbound fee, close) is done through it; what it cannot do is refused at planning with a
plain sentence, or journaled as skipped with what that leaves undone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lnpilot.lifecycle.close import CloseError, RunReport, plan_close, run_close
from lnpilot.lifecycle.open import OpenError, OpenTerms, plan_open, run_open, suggest_open
from lnpilot.node import LNbitsNode
from lnpilot.store import Store, lifecycle
from node.conftest import World, lnbits, lnbits_on_simnet, world
from node.test_backends_on_simnet import eventually

__all__ = ["lnbits", "lnbits_on_simnet", "world"]

pytestmark = pytest.mark.lnbits


def _now() -> datetime:
    return datetime.now(UTC)


async def test_open_and_close_through_lnbits(
    world: World, lnbits: LNbitsNode, store: Store
) -> None:
    async with store.transaction() as tx:
        node_id = await tx.upsert_node(await lnbits.get_info(), _now())
    dave = world.nodes["dave"]

    with pytest.raises(OpenError, match=r"no on-chain fee estimate from the node .* --fee-rate"):
        await suggest_open(lnbits, store, node_id, _now(), budget_sat=1_000_000)
    for terms, address, words in (
        (OpenTerms(remote_reserve_sat=5_000), "dave.example:9735", "cannot set the reserve"),
        (OpenTerms(cltv_delta=80), "dave.example:9735", "cannot set the CLTV delta"),
        (OpenTerms(), None, r"has no public graph to find .* address in: give its address"),
    ):
        with pytest.raises(OpenError, match=words):
            await plan_open(
                lnbits,
                store,
                node_id,
                dave,
                300_000,
                by="op",
                now=_now(),
                terms=terms,
                address=address,
            )

    terms = OpenTerms(fee_rate_ppm=321, base_fee_msat=0, name="dave", contact="ops@dave")
    plan = await plan_open(
        lnbits,
        store,
        node_id,
        dave,
        300_000,
        by="op",
        now=_now(),
        terms=terms,
        address="dave.example:9735",
    )
    assert plan.id is not None
    sent = await run_open(lnbits, store, plan.id, by="op", clock=_now, apply=True)
    assert [(s.step, s.outcome) for s in sent.steps][-1] == ("policy", "waiting")
    world.mine(world.net.config.open_confirmations)
    done = await run_open(lnbits, store, plan.id, by="op", clock=_now, apply=True)
    assert done.finished, [s.reason for s in done.steps]
    point = str(done.plan.result["channel_point"])
    with world.lock:
        sim_chan = world.net.by_point[point]
        ours = sim_chan.side_of(world.nodes["bob"])
        assert sim_chan.policies[ours].fee_rate_ppm == 321  # set through LNbits, read on the node
    async with store.read() as reader:
        [agreement] = await lifecycle.agreements(reader, node_id, point)
    assert agreement.name == "dave" and agreement.terms["fee_rate_ppm"] == 321

    scid = str(done.plan.result["scid"])
    with pytest.raises(CloseError, match="cannot set a close's fee rate"):
        await plan_close(lnbits, store, node_id, scid, by="op", now=_now(), sat_per_vbyte=3)
    close = await plan_close(lnbits, store, node_id, scid, by="op", now=_now())
    assert close.id is not None
    first = await run_close(lnbits, store, close.id, by="op", clock=_now, apply=True)
    outcomes = [(s.step, s.outcome) for s in first.steps]
    assert outcomes[:3] == [("disable", "skipped"), ("settle", "skipped"), ("close", "done")]
    assert "cannot disable a channel: new HTLCs may enter" in first.steps[0].reason
    if not first.finished:  # LNbits closes in the background: cleanup waits for it
        assert first.steps[-1].outcome == "waiting", first.steps[-1].reason

    async def cleaned_up() -> RunReport | None:
        assert close.id is not None
        again = await run_close(lnbits, store, close.id, by="op", clock=_now, apply=True)
        return again if again.finished else None

    if not first.finished:
        await eventually(cleaned_up, "LNbits to close the channel")
    with world.lock:
        assert sim_chan.state.value in ("closing", "closed")
