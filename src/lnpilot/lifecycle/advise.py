"""Which channels should close, and why; "keep" is an answer too, with its reasons.

Each open channel is read from the store's metrics (:mod:`lnpilot.store.metrics`) and the
rebalancing journal, and judged on what the guide names:

- **idle**: no forward in or out over ``idle`` (30 days), for a channel lnpilot has
  watched at least that long (a new channel is not idle, only young);
- **costs more than it earns**: rebalancing paid into it over the last 30 days exceeds
  the fees it earned over them;
- **unreliable peer**: connected less than ``min_peer_uptime`` of the last 7 days;
- **does not reach where our flows go**: given the public graph, a channel watched at least
  30 days that forwarded nothing out, to a peer with a channel to none of the peers our
  forwards went or failed to go to (:mod:`lnpilot.lifecycle.demand`). A channel that brings
  forwards in is a source: that stays a reason to keep it, said so.

Against each verdict stands the on-chain cost of closing (a cooperative close of
``COOP_CLOSE_VBYTES`` at the fee rate, the backend's estimate where it has one) and what
keeping the channel earned over 30 days.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from lnpilot.base.domain import Graph
from lnpilot.lifecycle.close import COOP_CLOSE_VBYTES
from lnpilot.lifecycle.demand import WINDOW, read_demand
from lnpilot.lifecycle.onchain import FeeRateUnknown, fee_rate
from lnpilot.node.backend import CapabilityMissing, NodeBackend
from lnpilot.store import Store, StoreReader, lifecycle, rebalances
from lnpilot.store.metrics import channel_metrics


class Verdict(enum.StrEnum):
    CLOSE = "close"
    KEEP = "keep"


@dataclass(frozen=True)
class AdviseSettings:
    idle: timedelta = WINDOW
    min_peer_uptime: float = 0.9
    fee_rate_sat_per_vbyte: int = 10
    #: where the rate came from, quoted in the reasons (None: a setting, not quoted)
    fee_rate_source: str | None = None


@dataclass(frozen=True)
class Advice:
    """One channel's verdict with every reason behind it and the figures they rest on."""

    scid: str
    chan_id: int
    peer_pubkey: str
    peer_alias: str | None
    capacity_sat: int
    verdict: Verdict
    reasons: list[str]
    earned_30d_msat: int
    rebalance_spent_30d_msat: int
    close_cost_sat: int
    days_since_last_forward: int | None
    peer_uptime: float | None
    watched_days: int | None
    #: whether the peer has a channel to a peer our forwards go to (None: no graph, or no
    #: forwards to judge by)
    reaches_flows: bool | None = None


async def advise(
    reader: StoreReader,
    node_id: int,
    now: datetime,
    settings: AdviseSettings | None = None,
    graph: Graph | None = None,
) -> list[Advice]:
    """A verdict per open channel: those to close first, then by earnings, lowest first.

    Without ``graph`` (a backend that serves none) the reach is not judged."""
    settings = settings or AdviseSettings()
    destinations = (await read_demand(reader, node_id, now)).destinations
    neighbours: dict[str, set[str]] = {}
    for edge in graph.edges if graph is not None and destinations else ():
        neighbours.setdefault(edge.node1, set()).add(edge.node2)
        neighbours.setdefault(edge.node2, set()).add(edge.node1)
    found = await channel_metrics(reader, node_id, now, windows=[WINDOW])
    chan_ids = [m.channel.chan_id for m in found if m.channel.chan_id is not None]
    spent = await rebalances.spent_by_channel(reader, node_id, chan_ids, now - WINDOW)
    seen = await lifecycle.first_seen(reader, node_id)
    close_cost_sat = settings.fee_rate_sat_per_vbyte * COOP_CLOSE_VBYTES
    advice = []
    for m in found:
        c = m.channel
        if c.chan_id is None or c.scid is None:
            continue
        earned = m.windows[0].fees_earned_msat
        cost = spent.get(c.chan_id, 0)
        first = seen.get(c.chan_id)
        watched = now - first if first is not None else None
        against = []
        if m.days_since_last_forward is None and watched is not None and watched >= settings.idle:
            against.append(f"idle: no forward in {settings.idle.days} days")
        if cost > earned:
            against.append(
                f"costs more than it earns: rebalancing paid {cost // 1000:,} sat into it, it "
                f"earned {earned // 1000:,} sat over {WINDOW.days} days"
            )
        if m.peer_uptime is not None and m.peer_uptime < settings.min_peer_uptime:
            against.append(
                f"unreliable peer: connected {m.peer_uptime:.0%} of the last 7 days "
                f"(below {settings.min_peer_uptime:.0%})"
            )
        reaches = None
        if neighbours:
            reaches = c.peer_pubkey in destinations or bool(
                neighbours.get(c.peer_pubkey, set()) & destinations
            )
        window = m.windows[0]
        source_only = None
        if reaches is False and not window.forwards_out and watched and watched >= WINDOW:
            lost = (
                f"does not reach where our flows go: no forward out in {WINDOW.days} days, "
                f"and the peer has a channel to none of the {len(destinations)} peer(s) our "
                "forwards went or failed to go to"
            )
            if window.forwards_in:
                source_only = f"{lost}; but it brings forwards in ({window.forwards_in}): a source"
            else:
                against.append(lost)
        source = f", {settings.fee_rate_source}" if settings.fee_rate_source else ""
        weighed = (
            f"closing costs about {close_cost_sat:,} sat on chain "
            f"({settings.fee_rate_sat_per_vbyte} sat/vB{source}); it earned "
            f"{earned // 1000:,} sat in {WINDOW.days} days"
        )
        if against:
            verdict, reasons = Verdict.CLOSE, [*against, weighed]
        else:
            kept = _for(m.windows[0].forwards_out, watched, m.peer_uptime)
            also = [source_only] if source_only else []
            verdict, reasons = Verdict.KEEP, [*kept, *also, weighed]
        advice.append(
            Advice(
                scid=c.scid,
                chan_id=c.chan_id,
                peer_pubkey=c.peer_pubkey,
                peer_alias=c.peer_alias,
                capacity_sat=c.capacity_sat,
                verdict=verdict,
                reasons=reasons,
                earned_30d_msat=earned,
                rebalance_spent_30d_msat=cost,
                close_cost_sat=close_cost_sat,
                days_since_last_forward=m.days_since_last_forward,
                peer_uptime=m.peer_uptime,
                watched_days=watched.days if watched is not None else None,
                reaches_flows=reaches,
            )
        )
    return sorted(advice, key=lambda a: (a.verdict != Verdict.CLOSE, a.earned_30d_msat))


async def close_advice(
    node: NodeBackend,
    store: Store,
    node_id: int,
    now: datetime,
    settings: AdviseSettings | None = None,
    *,
    fee_rate_sat_per_vbyte: int | None = None,
    fee_rate_flag: str = "--fee-rate",
) -> list[Advice]:
    """:func:`advise` with the public graph and the fee rate read from the node: the one
    call behind ``lnpilot close advise``, ``GET /api/v1/close/advice`` and the dashboard.

    A backend without the graph (LNbits) gives advice without the reach check
    (``reaches_flows`` None). The close is priced at ``fee_rate_sat_per_vbyte`` when given,
    else at the node's estimate, else (none: LNbits, an empty LND wallet) at the settings'
    rate, the reasons saying it was assumed and which input gives it."""
    settings = settings or AdviseSettings()
    try:
        rate = await fee_rate(node, fee_rate_sat_per_vbyte, flag=fee_rate_flag)
        settings = replace(
            settings, fee_rate_sat_per_vbyte=rate.sat_per_vbyte, fee_rate_source=rate.source
        )
    except FeeRateUnknown as exc:
        settings = replace(settings, fee_rate_source=f"assumed: {exc}")
    try:
        graph: Graph | None = await node.describe_graph()
    except CapabilityMissing:
        graph = None
    async with store.read() as reader:
        return await advise(reader, node_id, now, settings, graph)


def _for(forwards_out: int, watched: timedelta | None, uptime: float | None) -> list[str]:
    reasons = []
    if forwards_out:
        reasons.append(f"routes: {forwards_out} forwards out in {WINDOW.days} days")
    elif watched is None or watched < WINDOW:
        reasons.append(f"young: watched {watched.days if watched else 0} days, too soon to judge")
    else:
        reasons.append("forwards in only; no reason to close found")
    reliable = f"peer connected {uptime:.0%} of 7 days" if uptime is not None else None
    reasons.append(f"{reliable or 'peer uptime not known yet'}; not costing more than it earns")
    return reasons
