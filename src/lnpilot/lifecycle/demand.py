"""Where our forwards go, and where they fail for lack of liquidity: by next-hop peer.

A forward leaves through one of our channels, so the peer at its other end is where that
flow goes as far as our node can see (the rest of its path is the sender's secret). A
forward that failed there for lack of liquidity (``INSUFFICIENT_BALANCE``, or a temporary
channel failure) is demand we did not serve toward that peer. Opening a channel to a node
with a channel to that peer adds a second way there (``open suggest``); a peer with no
channel to any of them does not carry our flows anywhere (``close advise``).

Both are read over the last 30 days from the store: served volume from the forwards'
totals (rolled up or raw, :meth:`~lnpilot.store.StoreReader.channel_totals_over`), unserved
from the failed forwards (kept raw 35 days), each by the peer of the outgoing channel,
closed channels included (the peer is still there to be reached).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lnpilot.store import StoreReader

WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Demand:
    """Msat by destination peer over ``WINDOW``: forwarded out, and failed for lack of
    liquidity on the way out (the amount that would have left)."""

    served_msat: Mapping[str, int] = field(default_factory=dict)
    unserved_msat: Mapping[str, int] = field(default_factory=dict)

    @property
    def destinations(self) -> set[str]:
        """Every peer a forward of ours went to or was meant to go to."""
        return {p for p, v in self.served_msat.items() if v} | {
            p for p, v in self.unserved_msat.items() if v
        }

    def served_toward(self, peers: Collection[str]) -> int:
        return sum(self.served_msat.get(p, 0) for p in peers)

    def unserved_toward(self, peers: Collection[str]) -> int:
        return sum(self.unserved_msat.get(p, 0) for p in peers)


async def read_demand(reader: StoreReader, node_id: int, now: datetime) -> Demand:
    """The node's :class:`Demand` over the 30 days before ``now``."""
    peer_of = {c.chan_id: c.peer_pubkey for c in await reader.channels(node_id) if c.chan_id}
    peer_of |= {
        c.chan_id: c.peer_pubkey for c in await reader.closed_channels(node_id) if c.chan_id
    }
    [totals] = await reader.channel_totals_over(node_id, [(now - WINDOW, now)], now=now)
    served: dict[str, int] = {}
    for chan_id, flow in totals.items():
        peer = peer_of.get(chan_id)
        if peer is not None and flow.volume_out_msat:
            served[peer] = served.get(peer, 0) + flow.volume_out_msat
    unserved: dict[str, int] = {}
    for failed in await reader.failed_forwards(node_id, now - WINDOW, now):
        peer = peer_of.get(failed.chan_id_out) if failed.chan_id_out is not None else None
        amount = failed.amt_out_msat or failed.amt_in_msat or 0
        if peer is not None and failed.for_lack_of_liquidity and amount:
            unserved[peer] = unserved.get(peer, 0) + amount
    return Demand(served, unserved)
