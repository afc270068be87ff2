"""Closed channels stay readable: how each closed, what it settled, and its final accounting.

A channel that closes leaves the node's channel list, but its forwards, policy history and
events stay in the store; this puts them back together with the close the node reported,
so ``lnpilot channel SCID``, the API and the dashboard answer for it instead of "not found".

The final accounting is what the store can prove, and says what it cannot:

- **fees earned**: the fees of forwards that left through the channel over its whole
  recorded life (the outbound fee is the price of its liquidity), with the fees of those
  that entered through it separately;
- **rebalancing spent**: fees paid by finished rebalances into it;
- **on-chain cost**: the closing fee lnpilot's own close procedure estimated, when lnpilot
  closed it; None (unknown) otherwise: no backend reports the fee of a close;
- **lifetime**: from lnpilot's first sight to the close it saw; LND's own figure (from the
  funding confirmation) when the collector recorded one while the channel was open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lnpilot.store import Event, PolicyRecord, StoreReader, lifecycle, rebalances
from lnpilot.store.levels import EPOCH
from lnpilot.store.lifecycle import Agreement, ClosedRecord, PlanRecord, StepRecord

#: The result key of a finished close plan that holds its estimated on-chain fee.
ONCHAIN_FEE_KEY = "onchain_fee_sat"


@dataclass(frozen=True)
class FinalAccounting:
    """What the channel earned and cost over its life; see the module docstring."""

    forwards_out: int
    forwards_in: int
    fees_earned_msat: int
    fees_inbound_msat: int
    rebalance_spent_msat: int
    onchain_fee_sat: int | None
    observed_lifetime_s: int | None
    lnd_lifetime_s: int | None
    #: Earned minus spent; an unknown on-chain cost counts as nothing (and is shown so).
    net_msat: int


@dataclass(frozen=True)
class ClosedView:
    """A closed channel with its accounting, agreements and lnpilot's plans for it."""

    record: ClosedRecord
    accounting: FinalAccounting
    agreements: list[Agreement]
    plans: list[PlanRecord]


@dataclass(frozen=True)
class ClosedHistory:
    """A closed channel's view with its whole recorded history."""

    view: ClosedView
    events: list[Event]
    policy_history: list[PolicyRecord]
    journal: list[StepRecord]


async def closed_views(
    reader: StoreReader, node_id: int, now: datetime, *, chan_id: int | None = None
) -> list[ClosedView]:
    """The node's closed channels (or the one with ``chan_id``), most recently closed first."""
    records = await lifecycle.closed_records(reader, node_id, chan_id)
    chan_ids = [r.channel.chan_id for r in records if r.channel.chan_id is not None]
    if not records:
        return []
    flows = await reader.channel_totals(node_id, EPOCH, now + timedelta(seconds=1), now=now)
    spent = await rebalances.spent_by_channel(reader, node_id, chan_ids)
    every_agreement = await lifecycle.agreements(reader, node_id)
    every_plan = await lifecycle.plans(reader, node_id, limit=10_000)
    views = []
    for record in records:
        ours = record.channel
        flow = flows.get(ours.chan_id) if ours.chan_id is not None else None
        plans = [p for p in every_plan if p.channel_point == ours.channel_point]
        observed = (
            int((record.closed_seen_at - record.first_seen_at).total_seconds())
            if record.closed_seen_at is not None
            else None
        )
        earned_msat = flow.fee_out_msat if flow else 0
        spent_msat = spent.get(ours.chan_id, 0) if ours.chan_id is not None else 0
        onchain_fee_sat = _onchain_fee_sat(plans)
        accounting = FinalAccounting(
            forwards_out=flow.forwards_out if flow else 0,
            forwards_in=flow.forwards_in if flow else 0,
            fees_earned_msat=earned_msat,
            fees_inbound_msat=flow.fee_in_msat if flow else 0,
            rebalance_spent_msat=spent_msat,
            onchain_fee_sat=onchain_fee_sat,
            # Only a channel first seen open has a meaningful span (one first seen closed
            # was seen once, at its close).
            observed_lifetime_s=observed if observed else None,
            lnd_lifetime_s=record.lifetime_s,
            net_msat=earned_msat - spent_msat - (onchain_fee_sat or 0) * 1000,
        )
        views.append(
            ClosedView(
                record=record,
                accounting=accounting,
                agreements=[a for a in every_agreement if a.channel_point == ours.channel_point],
                plans=plans,
            )
        )
    return views


async def closed_history(
    reader: StoreReader, node_id: int, chan_id: int, now: datetime
) -> ClosedHistory | None:
    """One closed channel with every event, policy change and plan step recorded for it;
    None when the store has no closed channel ``chan_id``."""
    found = await closed_views(reader, node_id, now, chan_id=chan_id)
    if not found:
        return None
    view = found[0]
    end = now + timedelta(seconds=1)
    return ClosedHistory(
        view=view,
        events=await reader.events(node_id, EPOCH, end, chan_id=chan_id),
        policy_history=await reader.policy_history(node_id, chan_id, EPOCH, end),
        journal=await lifecycle.steps(reader, [p.id for p in view.plans if p.id is not None]),
    )


def _onchain_fee_sat(plans: list[PlanRecord]) -> int | None:
    for plan in plans:
        fee = plan.result.get(ONCHAIN_FEE_KEY)
        if plan.kind == "close" and isinstance(fee, int):
            return fee
    return None
