"""The route prior follows LND's capacity factor; shared trees are never built for more than
twice a payment's amount (both fed the ceiling fee's win in the league, issue 13)."""

from __future__ import annotations

import itertools

import pytest

from lnpilot.simnet.mission_control import (
    APRIORI_HOP_PROBABILITY,
    apriori_probability,
    capacity_factor,
)
from lnpilot.simnet.routing import SMALL_AMOUNT_BUCKET_MSAT, amount_bucket_msat

CAPACITY_MSAT = 1_000_000_000


@pytest.mark.parametrize(
    ("share", "factor"),
    # LND's routing/probability_apriori_test.go, TestCapacityCutoff (1M sat channel).
    [(0.1, 0.998), (0.5, 0.924), (0.75, 0.5), (0.8, 0.377), (1.0, 0.076)],
)
def test_capacity_factor_is_lnds(share: float, factor: float) -> None:
    assert capacity_factor(share * CAPACITY_MSAT, CAPACITY_MSAT) == pytest.approx(factor, abs=1e-3)


def test_prior_is_zero_at_or_above_capacity_and_falls_with_the_amount() -> None:
    assert apriori_probability(CAPACITY_MSAT, CAPACITY_MSAT) == 0.0
    assert apriori_probability(CAPACITY_MSAT + 1, CAPACITY_MSAT) == 0.0
    probs = [apriori_probability(CAPACITY_MSAT * k // 20, CAPACITY_MSAT) for k in range(20)]
    assert all(a >= b for a, b in itertools.pairwise(probs))
    assert APRIORI_HOP_PROBABILITY * 0.99 < probs[1] <= APRIORI_HOP_PROBABILITY


@pytest.mark.parametrize(
    "amt_msat",
    [1, 8_000_000, SMALL_AMOUNT_BUCKET_MSAT, SMALL_AMOUNT_BUCKET_MSAT + 1, 300_000_000,
     536_870_912, 536_870_913, 720_000_000, 4_000_000_000, 5_000_000_000_000],
)  # fmt: skip
def test_a_tree_is_built_for_at_most_twice_the_amount(amt_msat: int) -> None:
    ceiling = amount_bucket_msat(amt_msat)
    assert ceiling >= amt_msat
    if amt_msat <= SMALL_AMOUNT_BUCKET_MSAT:
        assert ceiling == SMALL_AMOUNT_BUCKET_MSAT
    else:
        assert ceiling < 2 * amt_msat
        assert ceiling & (ceiling - 1) == 0  # a power of two: few buckets, shared trees
