"""CLBOSS's fee setting with its balance modifier: the competitors' median, scaled by balance.

CLBOSS (``ChannelFeeManager``) starts from the median fee rate of the other channels into
the peer (``PeerCompetitorFeeMonitor``) and multiplies it by its modifiers; the balance one
(``FeeModderByBalance``, after darosior's ``feeadjuster``) is::

    multiplier = exp(ln 50 × (0.5 − share))     # 50^(0.5 − share): ×7.07 empty, ×0.14 full

where ``share`` is not our exact share of the balance but the centre of the bin it falls in:
the channel is cut into ``capacity / 200,000 sat`` bins (rounded, 4 to 50), so small moves
of the balance do not leak into gossip. Then ``fee = round(median × multiplier)`` (half away
from zero, as C's ``round``).

Differences, said plainly: CLBOSS moves between neighbouring bins at random (with a
probability from the position inside the bin); here the bin is the one the balance is in.
Its size and price-theory modifiers are not included. The median is the lower median of
the fee rates other channels toward the peer charge, as ``peer_aware`` reads them; with
none in view ``fee_rate_ppm`` is the reference when set, else the fee is held.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from lnpilot.fees.strategies.base import StrategyContext, Target
from lnpilot.fees.strategies.registry import strategy
from lnpilot.fees.values import Ppm, StrictModel

BIN_SAT = 200_000
MIN_BINS, MAX_BINS = 4, 50


class ClbossParams(StrictModel):
    fee_rate_ppm: Ppm | None = None  # the reference when no other channel is in view


def bins_for(capacity_sat: int) -> int:
    """The number of bins of a channel: ``round(capacity / 0.002 BTC)`` within 4..50."""
    raw = int(Decimal(capacity_sat) / BIN_SAT + Decimal("0.5"))  # C round(): half up
    return min(max(raw, MIN_BINS), MAX_BINS)


def balance_multiplier(local_msat: int, total_msat: int) -> tuple[float, int, int]:
    """The balance modifier, the bin the balance is in and the number of bins."""
    bins = bins_for(total_msat // 1000)
    index = min(local_msat * bins // total_msat, bins - 1) if total_msat else 0
    centre = (1 + 2 * index) / (2 * bins)
    return math.exp(math.log(50.0) * (0.5 - centre)), index, bins


@strategy("clboss", ClbossParams, reads_graph=True)
def clboss(ctx: StrategyContext, params: ClbossParams) -> Target:
    rates = sorted(ctx.inputs.peer_fee_rates_ppm)
    if rates:
        reference = rates[(len(rates) - 1) // 2]
        source = f"median of {len(rates)} competitor(s) {reference} ppm"
    elif params.fee_rate_ppm is not None:
        reference = params.fee_rate_ppm
        source = f"no competitor in view, reference {reference} ppm"
    else:
        return Target(None, "clboss: no other channel toward this peer in view; keeping")
    channel = ctx.inputs.channel
    multiplier, index, bins = balance_multiplier(
        channel.local_balance_msat, channel.local_balance_msat + channel.remote_balance_msat
    )
    scaled = Decimal(reference) * Decimal(multiplier)
    fee_rate_ppm = int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Target(
        fee_rate_ppm,
        f"clboss: {source} × {multiplier:.3f} (balance in bin {index + 1} of {bins}) "
        f"= {fee_rate_ppm} ppm",
    )
