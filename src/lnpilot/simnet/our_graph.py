"""The graph as our simulated node's gossip knows it (LND's DescribeGraph, GetNodeInfo,
GetChanInfo): public open channels only."""

from __future__ import annotations

from lnpilot.simnet.model import Channel, ChannelState
from lnpilot.simnet.our_state import OurNodeState
from lnpilot.simnet.our_views import GraphNodeView, SimNodeError


class GraphService(OurNodeState):
    """DescribeGraph, GetNodeInfo, GetChanInfo over the network's public channels."""

    def graph_node(self, pubkey: str) -> GraphNodeView:
        node = self.network.nodes.get(pubkey)
        if node is None:
            raise SimNodeError("unable to find node")
        chans = [
            self.network.channels[i]
            for i in node.channel_ids
            if self.network.channels[i].state is ChannelState.OPEN
            and not self.network.channels[i].private
        ]
        return GraphNodeView(
            pubkey=pubkey,
            alias=node.alias,
            color=node.color,
            last_update_s=node.last_update_ns // 1_000_000_000,
            addresses=(node.address,),
            num_channels=len(chans),
            total_capacity_sat=sum(c.capacity_sat for c in chans),
            chan_ids=tuple(c.chan_id for c in chans),
        )

    def graph(self) -> tuple[list[GraphNodeView], list[Channel]]:
        """The whole public graph as gossip knows it (LND's DescribeGraph): every node, and
        every public open channel (read their `policies`, do not mutate)."""
        nodes = [self.graph_node(pubkey) for pubkey in sorted(self.network.nodes)]
        edges = [
            c
            for _, c in sorted(self.network.channels.items())
            if c.state is ChannelState.OPEN and not c.private
        ]
        return nodes, edges

    def graph_edge(self, chan_id: int) -> Channel:
        """A channel of the graph as gossip knows it (read its `policies`, do not mutate)."""
        chan = self.network.channels.get(chan_id)
        if chan is None or chan.state is not ChannelState.OPEN:
            raise SimNodeError("edge not found")
        return chan
