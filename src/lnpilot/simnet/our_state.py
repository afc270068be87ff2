"""The state our simulated node's services share: the network, the payer, our pubkey, and
what LND keeps of its own (forwards, HTLC events, payments, peers connected by hand, the
listeners of its streams).

`OurNode` (`lnpilot.simnet.our_node`) is LND's Lightning, Invoices, Router and graph
services over one `OurNodeState`; each service is a module of its own (`our_lightning`,
`our_invoices`, `our_router`, `our_graph`) and a base class of the facade.
"""

from __future__ import annotations

from collections.abc import Callable

from lnpilot.simnet.model import Channel, Node
from lnpilot.simnet.network import SimNetwork
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.records import Forward, HtlcEvent, Payment


class OurNodeState:
    """What the services read and write: set once here, shared by all of them."""

    def __init__(self, network: SimNetwork, payer: Payer, pubkey: str) -> None:
        if pubkey not in network.nodes:
            raise ValueError(f"our node {pubkey} is not in the network")
        self.network = network
        self.payer = payer
        self.pubkey = pubkey
        self.forwards: list[Forward] = []
        self.htlc_events: list[HtlcEvent] = []
        self.payments: dict[str, Payment] = {}
        self._payment_order: list[str] = []
        self._connected: set[str] = set()
        self._htlc_listeners: list[Callable[[HtlcEvent], None]] = []
        self._channel_listeners: list[Callable[[Channel], None]] = []
        self._attempt_ids = 0

    @property
    def node(self) -> Node:
        return self.network.nodes[self.pubkey]

    def _our_channels(self) -> list[Channel]:
        net = self.network
        return sorted(
            (c for c in net.channels.values() if self.pubkey in (c.node1, c.node2)),
            key=lambda c: c.chan_id,
        )
