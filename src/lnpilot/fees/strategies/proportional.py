"""Liquidity-proportional: the less of the balance is ours, the more our side costs.

This is charge-lnd's ``proportional`` strategy (``min_fee_ppm`` is ``fee_rate_ppm_full``,
``max_fee_ppm`` is ``fee_rate_ppm_empty``, ``sum_peer_chans`` is ``per_peer``)::

    fee = full + (empty - full) × remote / (local + remote)

truncated toward zero as charge-lnd's ``int()`` does, from the exact balances in msat (no
rounding of the ratio first), and never below 0. With ``per_peer`` the balances are summed
over every channel with the peer, since LND forwards over any of them (non-strict
forwarding) and pricing them apart would only move traffic between them. charge-lnd also
sets ``min_fee_ppm_delta = 10`` for this strategy when the rule has none; lnpilot leaves the
rule's setting alone (its hysteresis applies) and ``lnpilot fees import charge-lnd`` writes
the 10 into the rules it converts.
"""

from __future__ import annotations

from lnpilot.fees.inputs import format_ratio, permille
from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import strategy
from lnpilot.fees.values import Ppm, StrictModel


class ProportionalParams(StrictModel):
    """Linear in our share of the balance: ``full`` when it is all ours, ``empty`` at zero."""

    fee_rate_ppm_full: Ppm = 10
    fee_rate_ppm_empty: Ppm = 1000
    per_peer: bool = False  # use the balances summed over all channels with the peer


def _truncated_div(numerator: int, denominator: int) -> int:
    """Integer division rounding toward zero (``int(a / b)``), for positive `denominator`."""
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient


@strategy("proportional", ProportionalParams)
def proportional(ctx: StrategyContext, params: ProportionalParams) -> Target:
    channel = ctx.inputs.channel
    if params.per_peer:
        peer = channel.peer_pubkey
        members = [c.channel for c in ctx.plan.channels if c.channel.peer_pubkey == peer]
        which = "peer local ratio"
    else:
        members = [channel]
        which = "local ratio"
    local_msat = sum(c.local_balance_msat for c in members)
    remote_msat = sum(c.remote_balance_msat for c in members)
    total_msat = local_msat + remote_msat
    if not total_msat:
        return Target(None, f"proportional: no balance to take a {which} of; keeping")
    full, empty = params.fee_rate_ppm_full, params.fee_rate_ppm_empty
    fee_rate_ppm = max(0, full + _truncated_div((empty - full) * remote_msat, total_msat))
    ratio = format_ratio(permille(local_msat, total_msat))
    return Target(
        fee_rate_ppm,
        f"proportional: {which} {ratio} between {empty} ppm (empty) and "
        f"{full} ppm (full) gives {fee_rate_ppm} ppm",
    )
