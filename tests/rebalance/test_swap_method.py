"""Swaps in as the planner's second way to refill a channel: priced beside the circular
rebalance (and an inbound discount, as advice), the cheapest usable chosen, every method's
price or refusal kept in the decision's detail.

The pair's fees are those of the recorded Boltz backend (0.1 % and 1,360 sat of miner fee for
a swap in); hand computation for 200,000 sat: Boltz 200 + miners 1,360 + our funding
10 sat/vB × 140 vB = 1,400, so 2,960 sat = 14,800 ppm.
"""

from __future__ import annotations

from dataclasses import replace

from lnpilot.lnbits.extension_models import BoltzPair
from lnpilot.rebalance import RebalanceAction, RebalanceInputs, Request, parse_settings, plan
from lnpilot.rebalance.budget import Spending
from lnpilot.rebalance.candidates import ChannelInput
from lnpilot.rebalance.methods import SwapOffer

from .conftest import NOW, channel, metrics

PAIR = BoltzPair.model_validate(
    {
        "hash": "recorded",
        "rate": 1,
        "limits": {"maximal": 10_000_000, "minimal": 50_000},
        "fees": {
            "percentage": 0.5,
            "percentageSwapIn": 0.1,
            "minerFees": {
                "baseAsset": {"normal": 1360, "reverse": {"claim": 1104, "lockup": 1224}}
            },
        },
    }
)
SWAPS = parse_settings(
    """
[rebalance.budget]
daily_sat = 100000
monthly_sat = 1000000
[rebalance.swap]
enabled = true
refund_address = "bcrt1qq09wgpk83fvzjdwuamvch03tjd76f0xfasze0z"
"""
)
OFFER = SwapOffer("BTC/BTC", PAIR, SWAPS.section.swap.funding_fee_sat)
SHOP = channel(1, local_pct=10, fee_ppm=900, peer_fee_ppm=10)  # drained, routes out
WALLET = channel(2, local_pct=90, fee_ppm=100)  # full: the circular source
SWAP_COST_MSAT = 2_960_000


def _inputs(*items: ChannelInput, request: Request = Request(), **more: object) -> RebalanceInputs:
    made = RebalanceInputs(NOW, tuple(items), Spending(0, 0, 0), 100_000_000, request)
    return replace(made, swap_offer=OFFER, **more)  # type: ignore[arg-type]


def _shop() -> ChannelInput:
    return ChannelInput(SHOP, metrics(SHOP, out_sat=300_000, in_sat=10_000, earned_msat=270_000))


def _wallet() -> ChannelInput:
    return ChannelInput(WALLET, metrics(WALLET, in_sat=300_000))


def _methods(decision_detail: dict[str, object]) -> dict[str, dict[str, object]]:
    listed = decision_detail["methods"]
    assert isinstance(listed, list)
    return {m["method"]: m for m in listed}


def test_circular_wins_when_the_swap_costs_more_than_the_target_earns_back() -> None:
    decided = plan(_inputs(_shop(), _wallet()), SWAPS)
    shop = decided.decisions[0]
    assert shop.order is not None and shop.swap is None
    methods = _methods(shop.detail)
    assert shop.detail["method"] == "circular"
    assert methods["circular"]["usable"] is True
    swap = methods["swap_in"]
    assert (swap["usable"], swap["cost_msat"], swap["cost_ppm"]) == (False, SWAP_COST_MSAT, 14_800)
    # The swap forgoes no source's fee: its limit is 900 ppm x 50 %.
    assert "above the 450 ppm the target earns back" in str(swap["reason"])


def test_a_target_without_a_source_is_served_by_a_swap_when_allowed() -> None:
    decided = plan(_inputs(_shop(), request=Request(max_fee_ppm=20_000)), SWAPS)
    (swap,) = decided.swap_orders
    assert (swap.amount_sat, swap.cost_msat, swap.quote.onchain_sat) == (
        200_000,
        SWAP_COST_MSAT,
        201_560,
    )
    shop = decided.decisions[0]
    assert shop.action is RebalanceAction.REBALANCE and shop.order is None
    assert "swap in 200,000 sat" in shop.reason and "circular: no source above band" in shop.reason
    assert decided.summary() == "0 rebalance(s) and 1 swap(s) planned, 200,000 sat to move"


def test_the_cheaper_per_million_wins_and_the_source_keeps_its_liquidity() -> None:
    # An operator's 20,000 ppm limit makes the circular one cost up to 4,000 sat for
    # 200,000 sat: the swap's 2,960 sat is cheaper.
    decided = plan(_inputs(_shop(), _wallet(), request=Request(max_fee_ppm=20_000)), SWAPS)
    shop, wallet = decided.decisions
    assert shop.swap is not None and decided.orders == []
    assert _methods(shop.detail)["circular"]["cost_msat"] == 4_000_000
    assert wallet.action is RebalanceAction.NONE and "not needed" in wallet.reason


def test_a_swap_the_budget_cannot_pay_is_not_chosen() -> None:
    tight = parse_settings(
        "[rebalance.budget]\ndaily_sat = 2000\n[rebalance.swap]\nenabled = true\n"
    )
    decided = plan(_inputs(_shop(), request=Request(max_fee_ppm=20_000)), tight)
    shop = decided.decisions[0]
    assert shop.swap is None and shop.action is RebalanceAction.SKIP
    assert "exceeds the budget left (2,000 sat)" in str(_methods(shop.detail)["swap_in"]["reason"])


def test_an_inbound_discount_is_priced_as_advice_and_never_chosen() -> None:
    advice = parse_settings(
        "[rebalance.budget]\ndaily_sat = 100000\n[rebalance.swap]\nenabled = true\n"
        "inbound_discount_ppm = 50\n"
    )
    decided = plan(_inputs(_shop(), _wallet()), advice)
    discount = _methods(decided.decisions[0].detail)["inbound_discount"]
    assert (discount["cost_msat"], discount["usable"]) == (10_000, False)  # 50 ppm of 200k sat
    assert "the fee engine's to set" in str(discount["reason"])
    assert decided.decisions[0].detail["method"] == "circular"


def test_without_a_circular_path_an_unaffordable_refill_is_skipped_with_every_reason() -> None:
    decided = plan(
        _inputs(_shop(), _wallet(), circular_unavailable="no executor: LNbits alone"), SWAPS
    )
    shop = decided.decisions[0]
    assert shop.action is RebalanceAction.SKIP and shop.order is None and shop.swap is None
    assert shop.reason.startswith("no usable method (circular: no executor: LNbits alone; ")
    assert "swap_in:" in shop.reason


def test_swaps_off_leave_the_plan_as_it_was() -> None:
    off = parse_settings("[rebalance.budget]\ndaily_sat = 100000\n")
    decided = plan(_inputs(_shop(), _wallet(), request=Request(max_fee_ppm=20_000)), off)
    assert decided.swap_orders == [] and "methods" not in decided.decisions[0].detail


def test_a_full_channel_no_target_needs_gets_a_priced_swap_out_offer_or_why_not() -> None:
    # WALLET is 90 % local; it takes in more than it sends, so its centre moves down to
    # 35 %: 550,000 sat to drain. Reverse swap on the recorded pair: Boltz 0.5 % = 2,750 +
    # miners (lockup 1,224 + claim 1,104) = 5,078 sat, 9,232 ppm; its limit is its 100 ppm
    # fee rate x 50 % = 50 ppm: not offered.
    wallet = plan(_inputs(_wallet()), SWAPS).decisions[0]
    assert wallet.action is RebalanceAction.NONE and wallet.swap is None
    out = _methods(wallet.detail)["swap_out"]
    assert (out["usable"], out["amount_msat"], out["cost_msat"], out["cost_ppm"]) == (
        False,
        550_000_000,
        5_078_000,
        9_232,
    )
    assert wallet.detail["offer"] is False
    assert "swap out 550,000 sat not offered" in wallet.reason
    assert "above the 50 ppm the channel earns back" in wallet.reason

    # A channel that earns 30,000 ppm, with the operator's cap at 20,000 ppm: the swap
    # out is worth it and offered with the command that makes it.
    dear = channel(3, local_pct=90, fee_ppm=30_000)
    generous = parse_settings(
        "[rebalance]\nmax_fee_ppm = 20000\n[rebalance.budget]\ndaily_sat = 100000\n"
        "[rebalance.swap]\nenabled = true\n"
    )
    offered = plan(_inputs(ChannelInput(dear, metrics(dear, in_sat=300_000))), generous)
    decision = offered.decisions[0]
    assert decision.action is RebalanceAction.NONE and offered.swap_orders == []
    assert decision.detail["offer"] is True
    assert "offer: swap out 550,000 sat to drain it (Boltz 2,750 + miners 2,328 sat" in (
        decision.reason
    )
    assert "lnpilot swap out 550000 --channel " in decision.reason


def test_a_full_channel_that_lends_to_a_target_is_not_offered_a_swap_out() -> None:
    shop, wallet = plan(_inputs(_shop(), _wallet()), SWAPS).decisions
    assert shop.order is not None
    assert wallet.reason.startswith("source for ") and "swap out" not in wallet.reason


def test_without_swaps_a_full_channel_is_only_not_needed() -> None:
    no_swaps = parse_settings("[rebalance.budget]\ndaily_sat = 100000\n")
    wallet = plan(_inputs(_wallet()), no_swaps).decisions[0]
    assert wallet.reason.endswith("not needed") and "methods" not in wallet.detail
