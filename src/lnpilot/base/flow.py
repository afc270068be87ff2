"""How a forward's way through a channel is named: one vocabulary for the terminal and the
dashboard, so "out" on a screen and in a table mean the same thing.

``out``: the forward left our node through the channel (its fee is earned on this channel);
``in``: it entered our node through the channel. Tables show ``out`` first, since that is
the side that earns. A path through the node reads the other way, "in → out".
"""

from __future__ import annotations

import enum


class Flow(enum.StrEnum):
    OUT = "out"
    IN = "in"


#: The order every table shows the two directions in.
ORDER = (Flow.OUT, Flow.IN)
#: What each direction means, for legends and help texts.
MEANING = {
    Flow.OUT: "left our node through the channel (its fee is earned there)",
    Flow.IN: "entered our node through the channel",
}


def label(what: str, flow: Flow) -> str:
    """A column's name: ``forwards out``, ``sat in``."""
    return f"{what} {flow.value}"
