"""One look at the node: everything a cycle records, read before the store is touched.

Reading the node is the slow, failure-prone half of a cycle (HTTP, LNbits' rate limit, one
graph edge per channel), so it happens before the cycle's transaction opens: the store's
write lock is never held while waiting on the network, and a node that fails halfway
through leaves nothing half-written. The reads that do not depend on each other run
concurrently.

What the configured backends cannot give is skipped and named in ``missing`` instead of
failing the cycle: through LNbits alone a cycle still records channels, peers and our
outbound fees, and says that forwarding history needs a direct LND connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from lnpilot.base.domain import (
    Capability,
    Channel,
    ClosedChannel,
    FailedForward,
    Forward,
    NodeInfo,
    Peer,
)
from lnpilot.node.backend import NodeBackend

_T = TypeVar("_T")

#: Forwards asked for per ForwardingHistory call (LND allows up to 50000).
FORWARDS_PAGE = 10_000


@dataclass(frozen=True)
class ForwardsRead:
    """Forwards read from the stored index on: ``next_index`` is where the next read
    starts, and ``caught_up`` is False when the per-cycle limit stopped the read early."""

    forwards: tuple[Forward, ...]
    next_index: int
    caught_up: bool


@dataclass(frozen=True)
class Observation:
    """The node as one cycle saw it at ``at``.

    ``pending`` holds channels opening or closing, without those the node also lists as
    closed (LND keeps a force-closed channel among the pending ones until its outputs are
    swept): a closed channel must not be recorded as closing again. Channels without a
    channel point (LNbits leaves it out of some closing rows) cannot be told apart and are
    left out. ``peers`` is None when no backend lists peers; an empty tuple means nobody
    is connected.
    """

    at: datetime
    info: NodeInfo
    channels: tuple[Channel, ...]
    pending: tuple[Channel, ...]
    closed: tuple[ClosedChannel, ...]
    peers: tuple[Peer, ...] | None
    forwards: ForwardsRead
    failed_forwards: tuple[FailedForward, ...]
    missing: frozenset[Capability]


async def observe(
    node: NodeBackend,
    info: NodeInfo,
    at: datetime,
    *,
    forward_index: int,
    failed_since: datetime,
    max_forwards: int,
) -> Observation:
    """Read everything but the node info (the caller needed it first, to find the node in
    the store and so its forward index)."""
    missing: set[Capability] = set()

    async def able(capability: Capability, read: Callable[[], Awaitable[_T]], empty: _T) -> _T:
        if capability not in node.capabilities:
            missing.add(capability)
            return empty
        return await read()

    no_forwards = ForwardsRead((), forward_index, caught_up=True)
    channels, pending, closed, peers, forwards, failed = await asyncio.gather(
        _channels_with_policies(node, missing),
        able(Capability.READ_PENDING_CHANNELS, node.list_pending_channels, list[Channel]()),
        able(Capability.READ_CLOSED_CHANNELS, node.list_closed_channels, list[ClosedChannel]()),
        able(Capability.READ_PEERS, node.list_peers, None),
        able(
            Capability.READ_FORWARDS,
            lambda: _read_forwards(node, forward_index, max_forwards),
            no_forwards,
        ),
        able(
            Capability.READ_FAILED_FORWARDS,
            lambda: node.failed_forwards(failed_since),
            list[FailedForward](),
        ),
    )
    closed_points = {c.channel_point for c in closed}
    return Observation(
        at=at,
        info=info,
        channels=tuple(channels),
        pending=tuple(
            c for c in pending if c.channel_point and c.channel_point not in closed_points
        ),
        closed=tuple(c for c in closed if c.channel_point),
        peers=tuple(peers) if peers is not None else None,
        forwards=forwards,
        failed_forwards=tuple(failed),
        missing=frozenset(missing),
    )


async def _channels_with_policies(node: NodeBackend, missing: set[Capability]) -> list[Channel]:
    """Open channels with what the backends show of their policies: both directions with
    LND, our outbound fees only with LNbits."""
    channels = await node.list_channels()
    if node.capabilities.isdisjoint({Capability.READ_POLICIES, Capability.READ_OWN_FEES}):
        missing.add(Capability.READ_POLICIES)
        return channels
    if Capability.READ_POLICIES not in node.capabilities:
        missing.add(Capability.READ_POLICIES)
    return await node.get_policies(channels)


async def _read_forwards(node: NodeBackend, start_index: int, max_forwards: int) -> ForwardsRead:
    """Forwards from ``start_index`` on, page by page, at most ``max_forwards`` of them.

    The index counts from the beginning of the history (no start time is given), so it
    stays valid across restarts: storing it with the forwards is what lets a collector
    resume exactly where it stopped.
    """
    found: list[Forward] = []
    index = start_index
    while len(found) < max_forwards:
        want = min(FORWARDS_PAGE, max_forwards - len(found))
        page, next_index = await node.forwarding_history(index_offset=index, max_events=want)
        found += page
        index = max(index, next_index) if page else index
        if len(page) < want:
            return ForwardsRead(tuple(found), index, caught_up=True)
    return ForwardsRead(tuple(found), index, caught_up=False)
