"""Send decided updates through the node backends, then read them back.

An update is not done when the call returns: LNbits answers before LND has applied
anything, and a backend may silently drop a field (LNbits resets LND's CLTV delta to 80).
So after sending, the applier reads the policies back, through whichever backend reads
them best, and compares every field it set. The outcome says what the node really has.

Each channel's update is sent whole to one backend (the composite picks one that can set
every field it touches: LND for inbound fees, HTLC limits and CLTV, LNbits for outbound
fees when LNbits is what is configured). A failure on one channel does not stop the
others; it is recorded with the backend's message.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from lnpilot.base.domain import Channel, ChannelPolicy, PolicyUpdate
from lnpilot.fees.planner import Action, ChannelDecision
from lnpilot.node.backend import NodeBackend, NodeError


class UpdateOutcome(enum.StrEnum):
    PLANNED = "planned"  # dry run: this update would be sent
    NONE = "none"  # nothing to send
    APPLIED = "applied"  # sent, and the node shows every field as decided
    MISMATCH = "mismatch"  # sent, but the node shows other values
    UNVERIFIED = "unverified"  # sent; the node does not show (all) the fields set
    FAILED = "failed"  # the backend refused or could not be reached


#: Outcomes of an update that went to the node, or may have (a timeout may still apply):
#: the daily budget counts them all.
SENT = frozenset(
    {UpdateOutcome.APPLIED, UpdateOutcome.MISMATCH, UpdateOutcome.UNVERIFIED, UpdateOutcome.FAILED}
)


@dataclass(frozen=True)
class Result:
    """A decision and what became of it; ``readback`` is our policy as read afterwards."""

    decision: ChannelDecision
    outcome: UpdateOutcome
    readback: ChannelPolicy | None = None
    error: str | None = None

    @property
    def sent(self) -> bool:
        return self.outcome in SENT


def dry_run(decisions: Sequence[ChannelDecision]) -> list[Result]:
    """What a dry run records: the updates that would be sent, and nothing else."""
    return [
        Result(d, UpdateOutcome.PLANNED if d.action is Action.UPDATE else UpdateOutcome.NONE)
        for d in decisions
    ]


async def apply(
    node: NodeBackend, decisions: Sequence[ChannelDecision], channels: Mapping[int, Channel]
) -> list[Result]:
    """Send every UPDATE decision's proposal, then verify them all with one read-back."""
    results: dict[int, Result] = {}
    sent: list[ChannelDecision] = []
    for index, decision in enumerate(decisions):
        if decision.action is not Action.UPDATE:
            results[index] = Result(decision, UpdateOutcome.NONE)
            continue
        assert decision.chan_id is not None, "an update is only decided for a confirmed channel"
        try:
            await node.update_policy(channels[decision.chan_id], decision.proposal)
        except (NodeError, ValueError) as exc:
            results[index] = Result(decision, UpdateOutcome.FAILED, error=str(exc))
            continue
        sent.append(decision)
    read = await _read_back(node, [channels[d.chan_id] for d in sent if d.chan_id is not None])
    for index, decision in enumerate(decisions):
        if index in results:
            continue
        assert decision.chan_id is not None
        if isinstance(read, str):
            results[index] = Result(decision, UpdateOutcome.UNVERIFIED, error=read)
            continue
        readback = read.get(decision.chan_id)
        outcome, error = verify(decision.proposal, readback)
        results[index] = Result(decision, outcome, readback, error)
    return [results[index] for index in range(len(decisions))]


async def _read_back(
    node: NodeBackend, channels: Sequence[Channel]
) -> dict[int, ChannelPolicy | None] | str:
    """Our policy of each channel as the node now shows it, or why it could not be read."""
    if not channels:
        return {}
    try:
        read = await node.get_policies(channels)
    except NodeError as exc:
        return f"read-back failed: {exc}"
    return {c.chan_id: c.local_policy for c in read if c.chan_id is not None}


def verify(
    update: PolicyUpdate, readback: ChannelPolicy | None
) -> tuple[UpdateOutcome, str | None]:
    """Compare every field ``update`` set with what the node shows."""
    if readback is None:
        return UpdateOutcome.UNVERIFIED, "the node shows no policy for the channel"
    wrong, unknown = [], []
    for spec in fields(update):
        wanted = getattr(update, spec.name)
        if wanted is None:
            continue
        shown = getattr(readback, spec.name)
        if shown is None:
            unknown.append(spec.name)
        elif shown != wanted:
            wrong.append(f"{spec.name} is {shown}, not {wanted}")
    if wrong:
        return UpdateOutcome.MISMATCH, "; ".join(wrong)
    if unknown:
        return UpdateOutcome.UNVERIFIED, "the backend does not show " + ", ".join(unknown)
    return UpdateOutcome.APPLIED, None
