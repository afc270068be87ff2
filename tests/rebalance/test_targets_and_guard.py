"""Bands and directions, the economic guard and the budget's room: the planner's parts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lnpilot.base.domain import ChannelPolicy
from lnpilot.rebalance.budget import Spending, periods, room
from lnpilot.rebalance.economics import guard, hop_fee_msat, sat_text
from lnpilot.rebalance.settings import Budget
from lnpilot.rebalance.targets import Band, FlowDirection, band_for, learn_direction, ratio_permille
from lnpilot.store.metrics import WindowFlow

from .conftest import DEFAULTS, WEEK, channel, metrics


def _flow(out_sat: int, in_sat: int) -> WindowFlow:
    return metrics(channel(1, local_pct=50), out_sat=out_sat, in_sat=in_sat).window(WEEK)


@pytest.mark.parametrize(
    ("out_sat", "in_sat", "direction", "why"),
    [
        (80_000, 20_000, FlowDirection.SOURCE, "80% of 7d volume left through it"),
        (20_000, 80_000, FlowDirection.SINK, "80% of 7d volume arrived through it"),
        (60_000, 40_000, FlowDirection.BALANCED, "60% of 7d volume left through it"),
        (65_000, 35_000, FlowDirection.SOURCE, "65% of 7d volume left through it"),
        (9_000, 0, FlowDirection.BALANCED, "too little flow in 7d to tell"),
    ],
)
def test_direction_is_learned_from_the_share_of_volume(
    out_sat: int, in_sat: int, direction: FlowDirection, why: str
) -> None:
    assert learn_direction(_flow(out_sat, in_sat), 1_000_000, 65) == (direction, why)


def test_no_history_is_balanced() -> None:
    assert learn_direction(None, 1_000_000, 65) == (FlowDirection.BALANCED, "no flow history")


def test_the_band_moves_with_the_direction_and_stays_inside_the_channel() -> None:
    target = DEFAULTS.for_channel(channel(1, local_pct=50))
    assert band_for(target, FlowDirection.BALANCED, 15) == Band(300, 500, 700)
    assert band_for(target, FlowDirection.SOURCE, 15) == Band(450, 650, 850)
    assert band_for(target, FlowDirection.SINK, 15) == Band(150, 350, 550)
    assert band_for(replace(target, target_pct=90), FlowDirection.SOURCE, 15) == Band(
        600, 800, 1000
    )
    assert str(Band(450, 650, 850)) == "45–85%"


def test_ratio_is_per_mille_rounded_down() -> None:
    assert ratio_permille(channel(1, local_pct=33)) == 330
    empty = replace(channel(1, local_pct=0), remote_balance_msat=0)
    assert ratio_permille(empty) == 0


def test_guard_pays_at_most_the_margin_times_the_factor() -> None:
    target = channel(1, local_pct=10, fee_ppm=900, peer_fee_ppm=10)
    source = channel(2, local_pct=90, fee_ppm=100)
    verdict = guard(target, source, 100_000_000, fee_factor_pct=50, cap_ppm=2000)
    assert (verdict.max_fee_ppm, verdict.last_hop_fee_msat, verdict.refusal) == (400, 1000, None)
    capped = guard(target, source, 100_000_000, fee_factor_pct=50, cap_ppm=300)
    assert capped.max_fee_ppm == 300


def test_the_target_fee_guard_pays_a_share_of_the_targets_fee_as_lndg_does() -> None:
    # LNDg's AR-MaxCost% 65 of the target's 100 ppm: 65 ppm, whatever the source charges
    target = channel(1, local_pct=10, fee_ppm=100, peer_fee_ppm=10)
    source = channel(2, local_pct=90, fee_ppm=100)
    margin = guard(target, source, 10**8, fee_factor_pct=65, cap_ppm=500)
    assert margin.refusal is not None  # lnpilot's own guard: no margin, no rebalance
    lndg = guard(target, source, 10**8, fee_factor_pct=65, cap_ppm=500, of="target_fee")
    assert (lndg.max_fee_ppm, lndg.refusal) == (65, None)
    dear = replace(target, local_policy=replace(target.local_policy, fee_rate_ppm=1000))
    assert guard(
        dear, source, 10**8, fee_factor_pct=65, cap_ppm=500, of="target_fee"
    ).max_fee_ppm == (
        500  # AR-MaxFeeRate caps it
    )


@pytest.mark.parametrize(
    ("target_ppm", "source_ppm", "peer_ppm", "refusal"),
    [
        (100, 100, 10, "target's fee (100 ppm) does not cover the source's forgone fee (100 ppm)"),
        (900, 100, 500, "max fee 400 ppm below peer's inbound cost 500 ppm"),
    ],
)
def test_guard_refuses_what_cannot_pay(
    target_ppm: int, source_ppm: int, peer_ppm: int, refusal: str
) -> None:
    target = channel(1, local_pct=10, fee_ppm=target_ppm, peer_fee_ppm=peer_ppm)
    source = channel(2, local_pct=90, fee_ppm=source_ppm)
    verdict = guard(target, source, 100_000_000, fee_factor_pct=50, cap_ppm=2000)
    assert verdict.refusal == refusal


def test_an_explicit_limit_replaces_the_margin_but_not_the_last_hop() -> None:
    target = channel(1, local_pct=10, fee_ppm=100, peer_fee_ppm=50)
    source = channel(2, local_pct=90, fee_ppm=500)
    assert (
        guard(target, source, 10**8, fee_factor_pct=50, cap_ppm=9, override_ppm=80).refusal is None
    )
    refused = guard(target, source, 10**8, fee_factor_pct=50, cap_ppm=9, override_ppm=40)
    assert refused.refusal == "max fee 40 ppm below peer's inbound cost 50 ppm"


def test_guard_needs_the_peers_policy() -> None:
    target = replace(channel(1, local_pct=10, fee_ppm=900), remote_policy=None)
    source = channel(2, local_pct=90)
    verdict = guard(target, source, 10**8, fee_factor_pct=50, cap_ppm=2000)
    assert verdict.refusal == "the peer's fee toward us on the target is unknown"
    disabled = replace(target, remote_policy=ChannelPolicy(0, 1, disabled=True))
    assert "disabled" in (
        guard(disabled, source, 10**8, fee_factor_pct=50, cap_ppm=9).refusal or ""
    )


def test_hop_fee_is_lnds_formula() -> None:
    assert hop_fee_msat(ChannelPolicy(base_fee_msat=1000, fee_rate_ppm=250), 3_999_999) == 1999
    assert sat_text(1_234_500) == "1,234.5" and sat_text(7_000) == "7"


def test_room_is_the_smallest_of_the_three_limits() -> None:
    limits = Budget(daily_sat=1000, monthly_sat=10_000, earned_share_pct=50, earned_window_days=30)
    spent = Spending(day_msat=200_000, month_msat=9_500_000, window_msat=1_000_000)
    left = room(limits, spent, earned_msat=10_000_000)
    assert (left.msat, left.binding) == (500_000, "monthly: 9,500 of 10,000 sat spent")
    poor = room(limits, Spending(0, 0, 0), earned_msat=0)
    assert poor.msat == 0 and poor.binding.startswith("earnings share: 0 of 50% of 0 sat earned")
    over = room(limits, Spending(2_000_000, 0, 0), earned_msat=10**9)
    assert over.msat == 0 and over.binding.startswith("daily")


def test_periods_are_utc_day_month_and_the_trailing_window() -> None:
    now = datetime(2026, 3, 17, 15, 4, 5, tzinfo=UTC)
    day, month, window = periods(now, timedelta(days=30))
    assert day == datetime(2026, 3, 17, tzinfo=UTC)
    assert month == datetime(2026, 3, 1, tzinfo=UTC)
    assert window == datetime(2026, 2, 15, 15, 4, 5, tzinfo=UTC)
