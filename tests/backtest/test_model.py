"""The node's model: the neighbourhood carved around our peers, the graph file reader."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from lnpilot.backtest.model import ModelError, carve, read_graph_file
from lnpilot.base.domain import ChannelPolicy, Graph, GraphEdge, GraphNode
from shared_files import shared_path

FEE = ChannelPolicy(base_fee_msat=0, fee_rate_ppm=100)


def edge(i: int, a: str, b: str, capacity_sat: int, *, routable: bool = True) -> GraphEdge:
    return GraphEdge(i, a, b, capacity_sat, FEE if routable else None, FEE if routable else None)


def graph(*edges: GraphEdge) -> Graph:
    names = sorted({n for e in edges for n in (e.node1, e.node2)})
    return Graph(tuple(GraphNode(n, n, None) for n in names), edges)


def test_carve_grows_from_the_peers_by_capacity_and_leaves_us_out() -> None:
    g = graph(
        edge(1, "us", "p1", 10),
        edge(2, "us", "p2", 10),
        edge(3, "p1", "big", 1_000),
        edge(4, "p1", "small", 1),
        edge(5, "big", "p2", 500),
        edge(6, "small", "far", 1),
        edge(7, "p2", "dead", 9_999, routable=False),
    )
    kept = carve(g, "us", ["p1", "p2"], max_nodes=3)
    # p1 and p2, then "big" (1,500 sat toward the piece); not "small", not the dead edge.
    assert sorted(e.chan_id for e in kept) == [3, 5]
    everything = carve(g, "us", ["p1", "p2"], max_nodes=100)
    assert sorted(e.chan_id for e in everything) == [3, 4, 5, 6]
    with pytest.raises(ModelError, match=r"--neighbourhood: 1 is outside 2\.\.2000"):
        carve(g, "us", ["p1"], max_nodes=1)


def test_graph_file_errors_name_the_file_and_the_format(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        read_graph_file(tmp_path / "missing.json.gz")
    bad = tmp_path / "bad.json.gz"
    with gzip.open(bad, "wt") as fh:
        json.dump({"nodes": []}, fh)
    with pytest.raises(ModelError, match="not a gzipped graph snapshot"):
        read_graph_file(bad)


def test_the_shared_snapshot_reads_as_a_graph() -> None:
    g = read_graph_file(shared_path("data", "ln_graph_500.json.gz"))
    assert len(g.nodes) == 500 and len(g.edges) == 12_901
    assert any(e.node1_policy is None for e in g.edges)  # disabled directions: not routable
