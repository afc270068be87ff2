"""The on-chain fee rate an open or a close is priced at: the operator's, else the node's.

A channel is worth opening only if it outweighs its on-chain cost, and a close is weighed
against what the channel earns; both costs are a transaction size times a fee rate. The
rate the operator gives wins (they may plan for a quieter mempool); otherwise the node's
wallet estimates it (LND ``GET /v1/transactions/fee``, for a confirmation within
``TARGET_CONF`` blocks). A backend without estimates (the LNbits node API) or a wallet that
cannot price a transaction (LND prices by selecting coins, so an empty wallet cannot) is
:class:`FeeRateUnknown`, whose message names the input that replaces the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from lnpilot.node.backend import NodeBackend, NodeError

#: Blocks within which the estimated transaction should confirm: about an hour.
TARGET_CONF = 6
#: The amount priced: LND's smallest channel (its fee rate does not depend on it).
PRICED_AMOUNT_SAT = 20_000


class FeeRateUnknown(ValueError):
    """No rate was given and the node gives none; the message says which input to give."""


@dataclass(frozen=True)
class FeeRate:
    """A fee rate and where it came from, for the reasons that quote it."""

    sat_per_vbyte: int
    source: str


async def fee_rate(node: NodeBackend, given_sat_per_vbyte: int | None, *, flag: str) -> FeeRate:
    """``given_sat_per_vbyte`` when given, else the node's estimate; ``flag`` is the input
    that gives a rate (``--fee-rate``, ``fee_rate_sat_per_vbyte``), named when none is."""
    if given_sat_per_vbyte is not None:
        return FeeRate(given_sat_per_vbyte, "given")
    try:
        estimate = await node.estimate_fee(PRICED_AMOUNT_SAT, target_conf=TARGET_CONF)
    except NodeError as exc:  # CapabilityMissing included
        raise FeeRateUnknown(
            f"no on-chain fee estimate from the node ({exc}): give {flag}"
        ) from None
    return FeeRate(
        max(1, estimate.sat_per_vbyte), f"the node's estimate for {estimate.target_conf} blocks"
    )
