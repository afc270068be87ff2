"""The verdict on paired seeds, with cases computed by hand."""

from __future__ import annotations

import pytest

from lnpilot.backtest import judge


def test_every_seed_better_gives_the_range_of_relative_gains() -> None:
    # 1,000 → 1,120 (+12%), 2,000 → 2,600 (+30%), 500 → 600 (+20%), in msat.
    v = judge([1_000, 2_000, 500], [1_120, 2_600, 600])
    assert v.outcome == "better"
    assert v.differences_msat == (120, 600, 100)
    assert v.differences_pct == pytest.approx((12.0, 30.0, 20.0))
    assert v.text.startswith("better by 12–30% on 3 seeds")
    assert "too few seeds" in v.text


def test_five_seeds_that_agree_need_no_warning() -> None:
    v = judge([100_000] * 5, [90_000, 80_000, 85_000, 70_000, 95_000])
    assert v.outcome == "worse"
    assert v.text == "worse by 5–30% on 5 seeds"


def test_seeds_that_disagree_give_no_clear_difference() -> None:
    # +10% on one seed, -20% on the other.
    v = judge([1_000, 1_000], [1_100, 800])
    assert v.outcome == "no clear difference"
    assert v.text == "no clear difference on 2 seeds (per-seed differences -20% to +10%)"


def test_a_gain_below_one_percent_is_no_clear_difference() -> None:
    v = judge([100_000, 100_000, 100_000, 100_000, 100_000], [100_500] * 5)
    assert v.outcome == "no clear difference"


def test_identical_results_say_so() -> None:
    v = judge([5, 0, -3], [5, 0, -3])
    assert v.outcome == "identical"
    assert v.text == "no difference on 3 seeds: identical results"


def test_a_zero_base_gives_the_range_in_sats() -> None:
    # The current policy netted 0 on the first seed: no percentage exists there.
    v = judge([0, 10_000, 10_000, 10_000, 10_000], [3_000, 12_000, 11_000, 15_000, 20_000])
    assert v.outcome == "better"
    assert v.text == "better by 1–10 sat on 5 seeds"


def test_a_loss_is_measured_against_its_size() -> None:
    # -1,000 → -500 halves the loss: +50% relative to |current|.
    v = judge([-1_000], [-500])
    assert v.outcome == "better"
    assert v.differences_pct == (50.0,)


def test_seed_counts_must_match() -> None:
    with pytest.raises(ValueError, match="same, non-zero number of seeds"):
        judge([1, 2], [1])
    with pytest.raises(ValueError, match="same, non-zero number of seeds"):
        judge([], [])
