"""Undo a run: put back the policies an applied run replaced.

A rollback restores exactly the fields the run changed, to the values the journal says they
had before. It does not pass the safety limits (it returns to a state the node was in, at
the operator's request) but it is journaled as a run of its own (``rollback_of``), read
back and verified like any other, and its updates count in the daily budget from then on.

A channel whose policy changed again since the run (by a later run, the operator or another
tool) is left alone unless ``force``: undoing a run must not silently undo what came after.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime

from lnpilot.base.domain import Channel, PolicyUpdate
from lnpilot.fees import applier
from lnpilot.fees.journal import Mode, RunHeader, record
from lnpilot.fees.planner import Action, ChannelDecision
from lnpilot.fees.run import RunReport
from lnpilot.node.backend import NodeBackend
from lnpilot.store import Store, fee_journal
from lnpilot.store.fee_journal import FeeDecision


class RollbackError(Exception):
    """The run cannot be rolled back (unknown, a dry run, another node's)."""


async def rollback(
    node: NodeBackend, store: Store, run_id: int, now: datetime, *, force: bool = False
) -> RunReport:
    info = await node.get_info()
    async with store.read() as reader:
        run = await fee_journal.get_run(reader, run_id)
        if run is None:
            raise RollbackError(f"there is no fee run {run_id}")
        if run.node_id != await reader.node_id(info.pubkey):
            raise RollbackError(f"fee run {run_id} was made on another node")
        if run.mode == Mode.DRY_RUN:
            raise RollbackError(f"fee run {run_id} was a dry run: it changed nothing")
        sent = [d for d in await fee_journal.run_decisions(reader, run_id) if d.sent]
    channels = {
        c.chan_id: c
        for c in await node.get_policies(await node.list_channels())
        if c.chan_id is not None
    }
    decisions = [_restore(run_id, d, channels.get(d.chan_id or -1), force) for d in sent]
    results = await applier.apply(node, decisions, channels)
    header = RunHeader(at=now, mode=Mode.ROLLBACK, rollback_of=run_id)
    return RunReport(await record(store, info, header, results), Mode.ROLLBACK, tuple(results))


def _restore(
    run_id: int, journaled: FeeDecision, channel: Channel | None, force: bool
) -> ChannelDecision:
    current = channel.local_policy if channel is not None else None
    decision = ChannelDecision(
        chan_id=journaled.chan_id,
        scid=journaled.scid,
        peer_pubkey=journaled.peer_pubkey,
        peer_alias=channel.peer_alias if channel is not None else None,
        action=Action.SKIP,
        reason="",
        rule=f"rollback of run {run_id}",
        current=current,
    )
    if channel is None:
        return _with(decision, Action.SKIP, "the channel is no longer open")
    old = journaled.old
    restore = {
        spec.name: getattr(old, spec.name)
        for spec in fields(PolicyUpdate)
        if old is not None
        and getattr(journaled.new, spec.name) is not None
        and getattr(old, spec.name) is not None
    }
    if not restore:
        return _with(decision, Action.SKIP, "the journal does not know the values before")
    changed = [
        f"{name} is {getattr(current, name)}, the run set {getattr(journaled.new, name)}"
        for name in restore
        if current is not None
        and getattr(current, name) is not None
        and getattr(current, name) != getattr(journaled.new, name)
    ]
    proposal = PolicyUpdate(**restore)
    what = ", ".join(f"{name} {value}" for name, value in restore.items())
    if changed and not force:
        reason = f"changed since run {run_id} ({'; '.join(changed)}); --force restores anyway"
        return _with(decision, Action.NONE, reason, proposal)
    return _with(decision, Action.UPDATE, f"restore {what}", proposal)


def _with(
    decision: ChannelDecision,
    action: Action,
    reason: str,
    proposal: PolicyUpdate | None = None,
) -> ChannelDecision:
    return replace(decision, action=action, reason=reason, proposal=proposal or PolicyUpdate())
