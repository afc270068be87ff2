"""Our node: the one node of the simulation that is managed, seen the way LND shows a node.

`OurNode` is the facade the LND REST face calls. It speaks LND's concepts (local/remote
balances, pending and closed channels, invoices with add/settle indexes, payments with HTLC
attempts, forwarding events, HTLC events, fee reports) in lnpilot's units (msat, ns, hex) and
leaves JSON, base64 and string-encoded int64 to the face. Every method is synchronous and
cheap: the simulation is in memory and payments complete in zero virtual time (a payment to
a hold invoice stays IN_FLIGHT until that invoice is settled or canceled).

It is LND's services over one shared state (`our_state.OurNodeState`), one module each:
`our_lightning` (node, channels, policies, backups, peers, forwards), `our_invoices`,
`our_router` (payments, routes, HTLC events) and `our_graph`; their answers are the types of
`our_views`, importable from here as before. A new LND operation goes in the module of the
service LND has it in.
"""

from __future__ import annotations

from lnpilot.simnet.network import SimNetwork, WatchObserver
from lnpilot.simnet.our_graph import GraphService
from lnpilot.simnet.our_invoices import InvoicesService
from lnpilot.simnet.our_lightning import DAY_NS, LightningService
from lnpilot.simnet.our_router import OUR_MAX_ATTEMPTS, RouterService
from lnpilot.simnet.our_views import (
    ChannelBalance,
    ChannelFee,
    ChannelView,
    ClosedChannelView,
    FeeReport,
    ForceClosingView,
    GraphNodeView,
    HtlcView,
    NodeInfo,
    PeerView,
    PendingChannels,
    SimNodeError,
)
from lnpilot.simnet.payments import Payer

__all__ = [
    "DAY_NS",
    "OUR_MAX_ATTEMPTS",
    "ChannelBalance",
    "ChannelFee",
    "ChannelView",
    "ClosedChannelView",
    "FeeReport",
    "ForceClosingView",
    "GraphNodeView",
    "HtlcView",
    "NodeInfo",
    "OurNode",
    "PeerView",
    "PendingChannels",
    "SimNodeError",
]


class OurNode(LightningService, InvoicesService, RouterService, GraphService, WatchObserver):
    """The managed node of a `SimNetwork`, with LND's operations; made, it is the network's
    watched node and hears what happens to its HTLCs, channels and invoices."""

    def __init__(self, network: SimNetwork, payer: Payer, pubkey: str) -> None:
        super().__init__(network, payer, pubkey)
        network.watched = pubkey
        network.observer = self
        network.invoices.subscribe(self._on_invoice)
