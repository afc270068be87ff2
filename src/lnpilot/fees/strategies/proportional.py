"""Liquidity-proportional: the less of the balance is ours, the more our side costs.

``fee = empty + (full - empty) × local_ratio``, linear between ``fee_rate_ppm_empty`` (our
side drained) and ``fee_rate_ppm_full`` (all ours). With ``per_peer`` the ratio is summed
over every channel with the peer, since LND forwards over any of them (non-strict
forwarding) and pricing them apart would only move traffic between them.
"""

from __future__ import annotations

from lnpilot.fees.inputs import format_ratio
from lnpilot.fees.policy import ProportionalParams
from lnpilot.fees.strategies.base import StrategyContext, Target


def proportional(ctx: StrategyContext) -> Target:
    params = ctx.settings.proportional or ProportionalParams()
    if params.per_peer:
        ratio = ctx.plan.peer_local_permille(ctx.inputs.channel.peer_pubkey)
        which = "peer local ratio"
    else:
        ratio = ctx.inputs.local_permille
        which = "local ratio"
    full, empty = params.fee_rate_ppm_full, params.fee_rate_ppm_empty
    fee_rate_ppm = empty + (full - empty) * ratio // 1000
    return Target(
        fee_rate_ppm,
        f"proportional: {which} {format_ratio(ratio)} between {empty} ppm (empty) and "
        f"{full} ppm (full) gives {fee_rate_ppm} ppm",
    )
