"""Forwarding fee arithmetic, exactly as LND computes it.

A forwarding node charges the outbound fee of the channel it forwards over plus the inbound
fee it set on the channel the HTLC arrived over. The inbound fee is computed on the amount
that leaves the node plus its outbound fee, may be negative (a discount), and the node's total
is clamped at zero: a node never pays to forward. Go's integer division truncates toward
zero, so a negative rate is truncated toward zero too (Python's `//` would floor instead).
"""

from __future__ import annotations

from lnpilot.simnet.model import Policy


def _div_trunc(numerator: int, denominator: int) -> int:
    """Integer division truncating toward zero, as Go's `/` on int64."""
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient


def outbound_fee_msat(policy: Policy, amt_to_forward_msat: int) -> int:
    """The fee a node asks to forward `amt_to_forward_msat` over a channel with `policy`."""
    return policy.base_fee_msat + amt_to_forward_msat * policy.fee_rate_ppm // 1_000_000


def inbound_fee_msat(incoming_policy: Policy, amt_msat: int) -> int:
    """The signed inbound fee of the policy the forwarding node set on the incoming channel.

    `amt_msat` is the outgoing amount plus the outbound fee, as LND's path finding uses it.
    """
    return incoming_policy.inbound_base_fee_msat + _div_trunc(
        amt_msat * incoming_policy.inbound_fee_rate_ppm, 1_000_000
    )


def forwarding_fee_msat(
    outgoing_policy: Policy, incoming_policy: Policy | None, amt_to_forward_msat: int
) -> int:
    """The total a node charges to forward `amt_to_forward_msat`, never below zero.

    `outgoing_policy` is the node's own policy on the outgoing channel; `incoming_policy` is
    the node's own policy on the incoming channel (whose inbound fields apply), or None when
    the HTLC does not come over a channel (the node is the sender).
    """
    out_fee = outbound_fee_msat(outgoing_policy, amt_to_forward_msat)
    if incoming_policy is None:
        return max(0, out_fee)
    total = out_fee + inbound_fee_msat(incoming_policy, amt_to_forward_msat + out_fee)
    return max(0, total)
