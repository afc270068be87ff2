"""The fee journal in the store: runs and decisions written whole, and the memory read back."""

from __future__ import annotations

from datetime import timedelta

from lnpilot.base.domain import NodeInfo, PolicyUpdate
from lnpilot.fees.applier import Result, UpdateOutcome
from lnpilot.fees.journal import Mode, RunHeader, record
from lnpilot.fees.planner import Action, ChannelDecision
from lnpilot.store import Direction, PolicySource, Store, fee_journal

from .factories import NOW, PEER_A, channel

INFO = NodeInfo(pubkey="02" + "c" * 64, alias="ours", block_height=800_000)


def decided(
    index: int, action: Action, proposal: PolicyUpdate, state: str | None
) -> ChannelDecision:
    chan = channel(index)
    return ChannelDecision(
        chan_id=chan.chan_id,
        scid=chan.scid,
        peer_pubkey=PEER_A,
        peer_alias="alice",
        action=action,
        reason=f"because {index}",
        rule="default",
        current=chan.local_policy,
        proposal=proposal,
        state=state,
        state_since=NOW - timedelta(days=index),
        limits=("fee_rate_ppm step limited to ±10 (wanted 500)",),
        detail={"local_ratio": "0.5"},
    )


async def test_a_run_is_written_whole_and_read_back(store: Store) -> None:
    update = decided(1, Action.UPDATE, PolicyUpdate(fee_rate_ppm=110), "busy")
    quiet = decided(2, Action.NONE, PolicyUpdate(), "on-target")
    readback = channel(1, fee_rate_ppm=110).local_policy
    results = [Result(update, UpdateOutcome.APPLIED, readback), Result(quiet, UpdateOutcome.NONE)]
    header = RunHeader(NOW, Mode.APPLY, "d" * 64, budget_limit=24, budget_used=3)
    run_id = await record(store, INFO, header, results)
    async with store.read() as reader:
        node_id = await reader.node_id(INFO.pubkey)
        assert node_id is not None
        (run,) = await fee_journal.runs(reader, node_id)
        assert (run.id, run.mode, run.budget_used, run.policy_digest) == (
            run_id,
            "apply",
            3,
            "d" * 64,
        )
        first, second = await fee_journal.run_decisions(reader, run_id)
        assert (first.action, first.outcome, first.sent, first.reason) == (
            "update",
            "applied",
            True,
            "because 1",
        )
        assert first.new == PolicyUpdate(fee_rate_ppm=110)
        assert first.old == channel(1).local_policy
        assert first.detail["limits"] == ["fee_rate_ppm step limited to ±10 (wanted 500)"]
        assert first.detail["readback"]["fee_rate_ppm"] == 110  # type: ignore[index,call-overload]
        assert (second.action, second.outcome, second.sent) == ("none", "none", False)
        # the policy it set is lnpilot's in the policy history, so the collector won't
        # take it for an outside change
        policies = await reader.current_policies(node_id)
        entry = policies[(channel(1).chan_id or 0, Direction.LOCAL)]
        assert (entry.source, entry.policy.fee_rate_ppm) == (PolicySource.LNPILOT, 110)


async def test_memory_states_and_sent_updates(store: Store) -> None:
    for hours_ago, state, outcome in (
        (30, "idle", UpdateOutcome.APPLIED),
        (2, "idle", UpdateOutcome.FAILED),
    ):
        at = NOW - timedelta(hours=hours_ago)
        update = decided(1, Action.UPDATE, PolicyUpdate(fee_rate_ppm=90), state)
        await record(store, INFO, RunHeader(at, Mode.APPLY), [Result(update, outcome)])
    dry = decided(1, Action.UPDATE, PolicyUpdate(fee_rate_ppm=80), "idle")
    await record(store, INFO, RunHeader(NOW, Mode.DRY_RUN), [Result(dry, UpdateOutcome.PLANNED)])
    async with store.read() as reader:
        node_id = await reader.node_id(INFO.pubkey)
        assert node_id is not None
        sent = await fee_journal.sent_updates(reader, node_id, NOW - timedelta(days=1))
        assert sent == [
            (channel(1).chan_id, NOW - timedelta(hours=2))
        ]  # a failure may have applied
        states = await fee_journal.latest_states(reader, node_id)
        assert states == {channel(1).chan_id: ("idle", NOW - timedelta(days=1))}
        history = await fee_journal.channel_decisions(reader, node_id, channel(1).chan_id or 0)
        assert [d.outcome for d in history] == ["planned", "failed", "applied"]
