"""The node as it is, and the public graph around it, as a simnet scenario.

A backtest is only worth what its model of the node is worth, so the model starts from
what the node backend says now: our channels with their capacities, balances, scids and
both directions' policies, and the public graph (the backend's ``describe_graph``, or a
snapshot file in the schema of the shared graph data). From the graph a neighbourhood of
bounded size is carved around our peers: the routes that compete with ours for the same
payments run there, and a payment that can go around us is a payment our fee can lose.

Whatever the backend cannot tell is said (:attr:`NodeState.gaps`) together with what was
assumed instead, so a report never hides that it ran on guesses.
"""

from __future__ import annotations

import gzip
import heapq
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lnpilot.base.domain import (
    Capability,
    Channel,
    ChannelPolicy,
    ChannelState,
    Graph,
    GraphEdge,
    GraphNode,
    Initiator,
)
from lnpilot.node.backend import NodeBackend

#: How many graph nodes the neighbourhood holds at most, our peers included: enough for
#: the rival routes of two to four hops, small enough to simulate weeks in minutes.
DEFAULT_NEIGHBOURHOOD_NODES = 120
MIN_NEIGHBOURHOOD_NODES, MAX_NEIGHBOURHOOD_NODES = 2, 2000
#: What a direction whose policy is unknown is assumed to charge: LND's defaults.
ASSUMED_POLICY = ChannelPolicy(base_fee_msat=1000, fee_rate_ppm=1)
#: The name of our node in the scenario.
OURS = "ours"


class ModelError(ValueError):
    """The node cannot be modelled (no open channel, an unreadable graph file)."""


@dataclass(frozen=True)
class NodeState:
    """What the backend (and the graph file) said about the node, and what it could not."""

    pubkey: str
    alias: str
    block_height: int
    channels: tuple[Channel, ...]
    graph: Graph | None
    gaps: tuple[str, ...] = ()


async def read_node(node: NodeBackend, graph_file: Path | None = None) -> NodeState:
    """Our open channels with their policies and the public graph, from `node`."""
    gaps: list[str] = []
    info = await node.get_info()
    channels = [c for c in await node.list_channels() if c.state is ChannelState.ACTIVE]
    if not channels:
        raise ModelError("the node has no active channel: there is nothing to backtest")
    caps = node.capabilities
    if Capability.READ_POLICIES in caps or Capability.READ_OWN_FEES in caps:
        channels = list(await node.get_policies(channels))
    if Capability.READ_POLICIES not in caps:
        gaps.append(
            f"the {node.name} backend does not read the peers' policies toward us: "
            f"assumed {ASSUMED_POLICY.base_fee_msat} msat + {ASSUMED_POLICY.fee_rate_ppm} ppm"
        )
    if any(c.local_policy is None for c in channels):
        gaps.append(
            "our own policy is unknown on some channels: assumed "
            f"{ASSUMED_POLICY.base_fee_msat} msat + {ASSUMED_POLICY.fee_rate_ppm} ppm"
        )
    graph: Graph | None = None
    if graph_file is not None:
        graph = read_graph_file(graph_file)
    elif Capability.READ_GRAPH in caps:
        graph = await node.describe_graph()
    else:
        gaps.append(
            f"the {node.name} backend does not read the public graph and no --graph file was "
            "given: the model has our peers only, so no rival route competes with ours "
            "(give --graph FILE, or configure [lnd])"
        )
    return NodeState(
        pubkey=info.pubkey,
        alias=info.alias,
        block_height=info.block_height,
        channels=tuple(channels),
        graph=graph,
        gaps=tuple(gaps),
    )


def read_graph_file(path: Path) -> Graph:
    """A graph snapshot (gzipped JSON: ``nodes``, ``channels`` with ``policy1``/``policy2``,
    the schema of the shared graph data) as the domain's :class:`Graph`."""
    if not path.is_file():
        raise ModelError(f"--graph: {path} does not exist")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        nodes = tuple(
            GraphNode(pubkey=n["id"], alias=n.get("alias"), last_update=None) for n in data["nodes"]
        )
        edges = tuple(
            GraphEdge(
                chan_id=i,
                node1=c["node1"],
                node2=c["node2"],
                capacity_sat=int(c["capacity_sat"]),
                node1_policy=_snapshot_policy(c.get("policy1")),
                node2_policy=_snapshot_policy(c.get("policy2")),
            )
            for i, c in enumerate(data["channels"])
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"--graph: {path} is not a gzipped graph snapshot (nodes, channels with node1, "
            f"node2, capacity_sat, policy1, policy2): {exc!r}"
        ) from exc
    return Graph(nodes=nodes, edges=edges)


def _snapshot_policy(raw: dict[str, Any] | None) -> ChannelPolicy | None:
    if not raw or raw.get("disabled") or raw.get("fee_rate_ppm") is None:
        return None
    return ChannelPolicy(
        base_fee_msat=int(raw.get("base_fee_msat") or 0),
        fee_rate_ppm=int(raw["fee_rate_ppm"]),
        min_htlc_msat=int(raw.get("min_htlc_msat") or 0),
        max_htlc_msat=int(raw.get("max_htlc_msat") or 0),
        cltv_delta=int(raw.get("cltv_delta") or 40),
    )


def carve(graph: Graph, ours: str, peers: list[str], max_nodes: int) -> list[GraphEdge]:
    """The public channels among a connected piece of at most `max_nodes` nodes grown from
    our peers, always adding the outside node with the most capacity toward the piece
    (ties by pubkey): the part of the network through which payments reach our peers.
    Our own channels are left out (the node backend describes them better)."""
    if not MIN_NEIGHBOURHOOD_NODES <= max_nodes <= MAX_NEIGHBOURHOOD_NODES:
        raise ModelError(
            f"--neighbourhood: {max_nodes} is outside "
            f"{MIN_NEIGHBOURHOOD_NODES}..{MAX_NEIGHBOURHOOD_NODES}"
        )
    adjacency: dict[str, dict[str, int]] = {}
    for e in graph.edges:
        if ours in (e.node1, e.node2) or (e.node1_policy is None and e.node2_policy is None):
            continue
        for a, b in ((e.node1, e.node2), (e.node2, e.node1)):
            adjacency.setdefault(a, {})[b] = adjacency.get(a, {}).get(b, 0) + e.capacity_sat
    inside = {p for p in peers if p in adjacency}
    link: dict[str, int] = {}
    heap: list[tuple[int, str]] = []

    def touch(node: str) -> None:
        for peer, cap in adjacency[node].items():
            if peer not in inside:
                link[peer] = link.get(peer, 0) + cap
                heapq.heappush(heap, (-link[peer], peer))

    for node in sorted(inside):
        touch(node)
    while len(inside) < max_nodes and heap:
        neg, node = heapq.heappop(heap)
        if node in inside or -neg != link[node]:
            continue
        inside.add(node)
        touch(node)
    return [
        e
        for e in graph.edges
        if e.node1 in inside
        and e.node2 in inside
        and ours not in (e.node1, e.node2)
        and (e.node1_policy is not None or e.node2_policy is not None)
    ]


def policy_spec(policy: ChannelPolicy | None, capacity_sat: int) -> dict[str, Any]:
    """A direction's policy in the scenario's terms (None: not routable)."""
    if policy is None:
        return {"disabled": True}
    max_htlc = policy.max_htlc_msat or 0
    return {
        "base_fee_msat": policy.base_fee_msat,
        "fee_rate_ppm": policy.fee_rate_ppm,
        "inbound_base_fee_msat": policy.inbound_base_fee_msat or 0,
        "inbound_fee_rate_ppm": policy.inbound_fee_rate_ppm or 0,
        "min_htlc_msat": policy.min_htlc_msat or 0,
        "max_htlc_msat": min(max_htlc, capacity_sat * 1000),
        "cltv_delta": max(1, policy.cltv_delta or 40),
        "disabled": policy.disabled,
    }


@dataclass
class ScenarioParts:
    """The network part of the scenario (nodes and channels) and the names given to peers."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    #: A peer's pubkey -> its name in the scenario.
    names: dict[str, str] = field(default_factory=dict)
    graph_nodes: int = 0
    graph_channels: int = 0


def network_parts(
    state: NodeState, max_nodes: int, local_balance_msat: Mapping[str, int] | None = None
) -> ScenarioParts:
    """Our node, our channels as the backend shows them (real scids, balances, policies;
    `local_balance_msat` by scid instead of today's balances, for a replay of the past),
    and the carved neighbourhood with its real capacities and policies; the balances of
    other nodes' channels are not public and are split in the middle."""
    parts = ScenarioParts()
    aliases = {n.pubkey: n.alias for n in state.graph.nodes} if state.graph else {}
    peers = sorted({c.peer_pubkey for c in state.channels})
    edges = carve(state.graph, state.pubkey, peers, max_nodes) if state.graph else []

    def name(pubkey: str, alias: str | None = None) -> str:
        if pubkey not in parts.names:
            parts.names[pubkey] = f"g{len(parts.names)}"
            parts.nodes.append(
                {"name": parts.names[pubkey], "alias": alias or aliases.get(pubkey) or pubkey[:20]}
            )
        return parts.names[pubkey]

    parts.nodes.append({"name": OURS, "alias": state.alias or "ours"})
    for c in state.channels:
        local_msat = c.local_balance_msat
        if local_balance_msat is not None and c.scid is not None and c.scid in local_balance_msat:
            local_msat = local_balance_msat[c.scid]
        parts.channels.append(
            {
                "a": OURS,
                "b": name(c.peer_pubkey, c.peer_alias),
                "capacity_sat": c.capacity_sat,
                "a_balance_sat": max(0, min(c.capacity_sat, local_msat // 1000)),
                "scid": c.scid,
                "opener": "b" if c.initiator is Initiator.REMOTE else "a",
                "private": c.private,
                "policy_a": policy_spec(c.local_policy or ASSUMED_POLICY, c.capacity_sat),
                "policy_b": policy_spec(c.remote_policy or ASSUMED_POLICY, c.capacity_sat),
            }
        )
    for e in edges:
        parts.channels.append(
            {
                "a": name(e.node1),
                "b": name(e.node2),
                "capacity_sat": e.capacity_sat,
                "policy_a": policy_spec(e.node1_policy, e.capacity_sat),
                "policy_b": policy_spec(e.node2_policy, e.capacity_sat),
            }
        )
    parts.graph_nodes = len(parts.names)
    parts.graph_channels = len(edges)
    return parts


def block_height_for(state: NodeState) -> int:
    """A chain height above every real scid's block (simnet checks that channels exist)."""
    heights = [int(c.scid.split("x")[0]) for c in state.channels if c.scid and "x" in c.scid]
    return max([state.block_height, *(h + 6 for h in heights)])


def start_of(now: datetime) -> datetime:
    """The simulation starts where the recorded history ends, on the hour."""
    return now.replace(minute=0, second=0, microsecond=0)
