"""``payback_margin_pct``: a refill is planned only when the target's fee on its recent outflow
repays the refill's most cost plus the margin; otherwise the skip says what it would earn.

Hand-computed case: the shop channel charges 900 ppm, the wallet 100 ppm; the margin guard
allows (900 − 100) × 50% = 400 ppm, so 200,000 sat may cost up to 80 sat (80,000 msat).
With a 25% margin the refill must earn 100,000 msat: 900 ppm on min(200,000 sat, outflow).
"""

from __future__ import annotations

from dataclasses import replace

from lnpilot.rebalance import (
    RebalanceAction,
    RebalanceInputs,
    RebalancePlan,
    RebalanceSettings,
    Request,
    parse_settings,
    plan,
)
from lnpilot.rebalance.budget import Spending
from lnpilot.rebalance.candidates import ChannelInput
from lnpilot.rebalance.economics import payback

from .conftest import DEFAULTS, NOW, channel, metrics
from .test_swap_method import OFFER

SWAPS_TOML = """
[rebalance.budget]
daily_sat = 100000
monthly_sat = 1000000
[rebalance.swap]
enabled = true
refund_address = "bcrt1qq09wgpk83fvzjdwuamvch03tjd76f0xfasze0z"
"""

SHOP = channel(1, local_pct=10, fee_ppm=900, peer_fee_ppm=10)
WALLET = channel(2, local_pct=90, fee_ppm=100)
MARGIN_25 = parse_settings("[rebalance]\npayback_margin_pct = 25\n")


def _plan(
    shop_out_sat: int, settings: RebalanceSettings = MARGIN_25, request: Request = Request()
) -> RebalancePlan:
    shop = ChannelInput(SHOP, metrics(SHOP, out_sat=shop_out_sat, in_sat=1_000))
    wallet = ChannelInput(WALLET, metrics(WALLET, in_sat=300_000))
    inputs = RebalanceInputs(
        NOW,
        (shop, wallet),
        Spending(0, 0, 0),
        100_000_000,
        request,
    )
    return plan(inputs, settings)


def test_a_refill_its_outflow_repays_with_the_margin_is_planned() -> None:
    decided = _plan(300_000)  # earns 900 ppm × 200,000 sat = 180 sat ≥ 80 × 1.25
    (order,) = decided.orders
    assert (order.amount_msat, order.fee_limit_msat) == (200_000_000, 80_000)


def test_a_refill_its_outflow_cannot_repay_is_skipped_with_what_it_would_earn() -> None:
    decided = _plan(100_000)  # earns 900 ppm × 100,000 sat = 90 sat < 100 sat
    assert decided.orders == []
    shop = decided.decisions[0]
    assert shop.action is RebalanceAction.SKIP
    assert shop.reason == (
        "refill would not pay for itself: earns 90 sat (900 ppm on 100,000 sat, the outflow "
        "of 7d) against a cost of up to 80 sat + 25% margin (source 800000x2x0)"
    )


def test_the_boundary_is_exact_in_msat() -> None:
    # 111,112 sat × 900 ppm = 100,000.8 msat → 100,000 msat: exactly 80,000 × 125%
    assert len(_plan(111_112).orders) == 1
    # 111,111 sat × 900 ppm = 99,999.9 msat → 99,999 msat: one short
    assert _plan(111_111).orders == []
    assert payback(900, 111_112_000, 200_000_000, 80_000, 25, 7) is None
    assert payback(900, 111_111_000, 200_000_000, 80_000, 25, 7) is not None


def test_left_out_the_check_is_off_and_an_operators_fee_limit_replaces_it() -> None:
    assert len(_plan(100_000, DEFAULTS).orders) == 1
    asked = Request(chan_id=SHOP.chan_id, max_fee_ppm=400)
    assert len(_plan(100_000, MARGIN_25, asked).orders) == 1


def test_a_margin_of_zero_still_needs_the_cost_covered() -> None:
    zero = parse_settings("[rebalance]\npayback_margin_pct = 0\n")
    skipped = _plan(10_000, zero).decisions[0]  # 900 ppm × 10,000 sat = 9 sat < 80 sat
    assert skipped.action is RebalanceAction.SKIP and "earns 9 sat" in skipped.reason
    assert len(_plan(88_889, zero).orders) == 1  # 80,000.1 msat


def test_a_swap_in_is_held_to_the_same_payback() -> None:
    # no circular source; the shop charges 30,000 ppm, so the swap's 14,800 ppm is within its
    # limit (30,000 × 50% = 15,000, max_fee_ppm 20,000). 200,000 sat cost 2,960 sat; with 25%
    # margin they must earn 3,700 sat: 30,000 ppm × min(200,000, outflow)
    settings = parse_settings(
        "[rebalance]\npayback_margin_pct = 25\nmax_fee_ppm = 20000\n" + SWAPS_TOML
    )
    shop = channel(1, local_pct=10, fee_ppm=30_000, peer_fee_ppm=10)

    def decided(out_sat: int) -> RebalancePlan:
        item = ChannelInput(shop, metrics(shop, out_sat=out_sat, in_sat=1_000))
        made = RebalanceInputs(NOW, (item,), Spending(0, 0, 0), 100_000_000_000)
        return plan(replace(made, swap_offer=OFFER), settings)

    assert len(decided(300_000).swap_orders) == 1  # earns 6,000 sat
    refused = decided(100_000)  # earns 3,000 sat
    assert refused.swap_orders == []
    assert refused.decisions[0].reason == (
        "swap in: refill would not pay for itself: earns 3,000 sat (30000 ppm on 100,000 sat, "
        "the outflow of 7d) against a cost of up to 2,960 sat + 25% margin"
    )
