"""Which node this store is about, when the node itself may not answer.

The faces and the alert engine key every store read by the node's pubkey. Asking the node
is the truth; but a daemon started while the node is down must still judge and show what
the store holds (the outage is what the operator most needs to see), so when the node
cannot be reached the store's own record decides: the node it holds, if it holds exactly
one. A store shared by several nodes cannot tell which is meant: then the node's error
stands, and ``--node``/``node_pubkey`` must name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from lnpilot.node.backend import NodeBackend, NodeError
from lnpilot.store import Store
from lnpilot.store.tables import nodes


@dataclass(frozen=True)
class NodeIdentity:
    """The pubkey, and why the node was not asked when it came from the store."""

    pubkey: str
    unreachable: str | None = None


async def node_identity(node: NodeBackend, store: Store) -> NodeIdentity:
    """The node's pubkey, from the node, else from the store (see the module's docstring);
    raises the node's ``NodeError`` when neither can tell."""
    try:
        return NodeIdentity((await node.get_info()).pubkey)
    except NodeError as exc:
        async with store.read() as reader:
            result = await reader.connection.execute(select(nodes.c.pubkey).limit(2))
            known = list(result.scalars())
        if len(known) != 1:
            raise
        return NodeIdentity(known[0], unreachable=f"{type(exc).__name__}: {exc}")
