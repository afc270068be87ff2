"""The seam between lnpilot's engine and the node: typed domain objects and backends.

Build the backends that are configured and hand them, most preferred first, to
:class:`CompositeNode`; the engine then calls that one object for everything.
"""

from lnpilot.node.backend import CapabilityMissing, NodeBackend, NodeError
from lnpilot.node.composite import CompositeNode
from lnpilot.node.lnbits_node import LNbitsNode
from lnpilot.node.lnd_rest import LndRest, LndRestError

__all__ = [
    "CapabilityMissing",
    "CompositeNode",
    "LNbitsNode",
    "LndRest",
    "LndRestError",
    "NodeBackend",
    "NodeError",
]
