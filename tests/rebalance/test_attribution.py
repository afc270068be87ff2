"""Attribution: the fees of forwards that spent rebalanced liquidity, first in first out."""

from __future__ import annotations

from datetime import timedelta

from lnpilot.base.domain import Forward
from lnpilot.rebalance import attribute
from lnpilot.rebalance.attribution import Bought

from .conftest import NOW

T, OTHER = 11, 22


def _forward(minutes: int, chan_out: int, amt_sat: int, fee_msat: int) -> Forward:
    at = NOW + timedelta(minutes=minutes)
    return Forward(
        timestamp=at,
        timestamp_ns=int(at.timestamp()) * 10**9,
        chan_id_in=99,
        chan_id_out=chan_out,
        amt_in_msat=amt_sat * 1000 + fee_msat,
        amt_out_msat=amt_sat * 1000,
        fee_msat=fee_msat,
    )


def test_forwards_spend_the_oldest_lot_first_and_only_lots_already_bought() -> None:
    bought = [
        Bought(T, NOW, moved_msat=100_000_000, fee_paid_msat=7_000),
        Bought(T, NOW + timedelta(hours=2), moved_msat=50_000_000, fee_paid_msat=4_000),
    ]
    forwards = [
        _forward(-5, T, 80_000, 64_000),  # before any rebalance: the channel's own liquidity
        _forward(10, T, 60_000, 48_000),  # from the first lot
        _forward(20, OTHER, 60_000, 48_000),  # another channel
        _forward(30, T, 80_000, 64_000),  # 40k of the first lot is left: half of it counts
        _forward(150, T, 30_000, 24_000),  # from the second lot
        _forward(160, T, 40_000, 32_000),  # 20k left in the second lot: half counts
    ]
    (found,) = attribute(bought, forwards).values()
    assert (found.chan_id, found.rebalances, found.bought_msat, found.cost_msat) == (
        T,
        2,
        150_000_000,
        11_000,
    )
    assert found.sold_msat == 60_000_000 + 40_000_000 + 30_000_000 + 20_000_000
    assert found.earned_msat == 48_000 + 32_000 + 24_000 + 16_000
    assert (found.net_msat, found.paid_for_itself) == (109_000, True)


def test_nothing_sold_yet_has_not_paid_for_itself() -> None:
    found = attribute([Bought(T, NOW, 10_000_000, 500)], [_forward(-1, T, 5_000, 4_000)])
    assert (found[T].sold_msat, found[T].earned_msat, found[T].paid_for_itself) == (0, 0, False)
    assert attribute([], [_forward(1, T, 5_000, 4_000)]) == {}
