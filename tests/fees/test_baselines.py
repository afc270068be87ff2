"""The baselines operators run today, against their published rules, on hand-computed cases.

charge-lnd (``proportional``, ``cost``, ``static`` with ``min_fee_ppm_delta``) from its
``strategy.py`` and ``charge_lnd.py``; LNDg's AutoFees from its ``af.py``; CLBOSS's fee
manager with its balance modifier from ``ChannelFeeManager.cpp`` and
``FeeModderByBalance.cpp``. Every expected value below is worked out by hand in the comment
beside it, from those rules, not by running the code under test.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lnpilot.base.domain import Initiator, PolicyUpdate
from lnpilot.fees.inputs import ChannelInputs, PlanInputs, WindowStats
from lnpilot.fees.planner import Action, plan
from lnpilot.fees.policy import RuleSettings, load_policy
from lnpilot.fees.strategies import OUTBOUND, StrategyContext
from lnpilot.fees.strategies.clboss import bins_for
from lnpilot.rebalance.settings import load_settings
from lnpilot.store.records import FlowStats

from .factories import DAY_S, NOW, PEER_B, channel, inputs, plan_inputs, policy, window

WEEK_S = 7 * DAY_S


def run(
    name: str, chan: ChannelInputs, settings: dict[str, object], plan: PlanInputs | None = None
) -> int | None:
    assert chan.channel.local_policy is not None
    ctx = StrategyContext(
        chan,
        plan or plan_inputs(chan),
        RuleSettings.model_validate(settings),
        chan.channel.local_policy,
    )
    return OUTBOUND[name](ctx).fee_rate_ppm


# --- charge-lnd -------------------------------------------------------------------------

# README example all-channels-proportional.config: min_fee_ppm 100, max_fee_ppm 300.
PROPORTIONAL = {"proportional": {"fee_rate_ppm_full": 100, "fee_rate_ppm_empty": 300}}


@pytest.mark.parametrize(
    ("local_sat", "expected_ppm"),
    [
        (1_000_000, 100),  # ratio 1: min_fee_ppm
        (0, 300),  # ratio 0: max_fee_ppm
        (300_000, 240),  # 100 + (1 - 0.3) × 200 = 240
        (333_333, 233),  # 100 + 0.666667 × 200 = 233.33 → int() 233
        (999_999, 100),  # 100 + 0.000001 × 200 = 100.0002 → 100
    ],
)
def test_charge_lnd_proportional(local_sat: int, expected_ppm: int) -> None:
    assert run("proportional", inputs(channel(local_sat=local_sat)), PROPORTIONAL) == expected_ppm


def test_charge_lnd_proportional_sum_peer_chans_uses_the_peer_total() -> None:
    # 200k + 600k local of 2M with the peer: ratio 0.4 → 100 + 0.6 × 200 = 220 on both
    one = inputs(channel(1, local_sat=200_000))
    two = inputs(channel(2, local_sat=600_000))
    other = inputs(channel(3, local_sat=0, peer=PEER_B))
    settings = {"proportional": {**PROPORTIONAL["proportional"], "per_peer": True}}
    both = plan_inputs(one, two, other)
    assert run("proportional", one, settings, both) == 220
    assert run("proportional", two, settings, both) == 220
    assert run("proportional", other, settings, both) == 300


@pytest.mark.parametrize(
    ("initiator", "expected_ppm"),
    [
        # cost_factor 1.5, opening fee 2,000 sat, 1M sat: 1.5 × 10⁶ × 2000 / 10⁶ = 3000
        (Initiator.LOCAL, 3000),
        (Initiator.REMOTE, 1),  # the opening tx is not ours: charge-lnd sets 1 ppm
        (Initiator.UNKNOWN, 1),
    ],
)
def test_charge_lnd_cost(initiator: Initiator, expected_ppm: int) -> None:
    chan = inputs(channel(initiator=initiator))
    settings = {"cost": {"open_cost_sat": 2000, "cost_factor_pct": 150}}
    assert run("cost", chan, settings) == expected_ppm


def test_charge_lnd_cost_truncates() -> None:
    # 1.0 × 10⁶ × 1,234 / 3,000,000 = 411.33 → 411
    chan = inputs(channel(capacity_sat=3_000_000, local_sat=1_000_000))
    assert run("cost", chan, {"cost": {"open_cost_sat": 1234}}) == 411


@pytest.mark.parametrize(
    ("current_ppm", "target_ppm", "sent"),
    [
        (200, 209, None),  # |209 − 200| = 9 < 10: kept
        (200, 210, 210),  # 10 ≥ 10: sent
        (200, 191, None),
        (200, 190, 190),
    ],
)
def test_min_fee_ppm_delta_holds_small_changes(
    current_ppm: int, target_ppm: int, sent: int | None
) -> None:
    body = (
        '[[rule]]\nname = "default"\nstrategy = "static"\n'
        f"static.fee_rate_ppm = {target_ppm}\nmin_fee_ppm_delta = 10\n"
    )
    chan = inputs(channel(fee_rate_ppm=current_ppm))
    decision = plan(policy(body), plan_inputs(chan)).decisions[0]
    if sent is None:
        assert decision.action is Action.NONE
        assert f"min_fee_ppm_delta 10: a change of {abs(target_ppm - current_ppm)} ppm" in (
            decision.reason
        )
    else:
        assert decision.action is Action.UPDATE
        assert decision.proposal == PolicyUpdate(fee_rate_ppm=sent)


# --- LNDg AutoFees ----------------------------------------------------------------------


def lndg(
    *,
    local_sat: int = 500_000,
    fee_rate_ppm: int = 100,
    day: tuple[int, int] = (0, 0),
    week: tuple[int, int] = (0, 0),
    failures: int = 0,
    fees_7d_msat: tuple[int, int] = (0, 0),
    changed_ago_s: int | None = None,
    settings: dict[str, object] | None = None,
) -> int | None:
    """One channel (1M sat) alone with its peer; flows (in, out) in sat."""
    flow_week = WindowStats(
        FlowStats(
            volume_in_msat=week[0] * 1000,
            volume_out_msat=week[1] * 1000,
            fee_in_msat=fees_7d_msat[0],
            fee_out_msat=fees_7d_msat[1],
        ),
        liquidity_failures=failures,
    )
    chan = inputs(
        channel(local_sat=local_sat, fee_rate_ppm=fee_rate_ppm),
        windows={
            DAY_S: window(volume_in_sat=day[0], volume_out_sat=day[1], failures=failures),
            WEEK_S: flow_week,
        },
        last_change_at=NOW - timedelta(seconds=changed_ago_s) if changed_ago_s else None,
    )
    return run("lndg_autofees", chan, {"lndg_autofees": settings or {}})


def test_lndg_low_liquidity_with_failures_and_no_inflow_raises_5m() -> None:
    # out% 10 ≤ 15, 26 failed > 25, nothing in over 1d: +5 × 5 = +25
    assert lndg(local_sat=100_000, failures=26) == 125
    assert lndg(local_sat=100_000, failures=25) == 100  # not more than 25: 0
    assert lndg(local_sat=100_000, failures=26, day=(1, 0)) == 100  # inflow in 1d: 0


def test_lndg_idle_channel_lowers_3m_and_with_excess_5m() -> None:
    assert lndg() == 85  # out% 50, no flow in 7d: −3 × 5
    assert lndg(local_sat=960_000) == 75  # out% 96 ≥ 95, no flow in 7d: −5 × 5


def test_lndg_net_outflow_raises_by_its_size_rounded_half_to_even() -> None:
    # out 2.5M, in 1M over 7d on 1M capacity: net7 1.5 → 2 × 5 × 2.5 = 25 → 125
    assert lndg(week=(1_000_000, 2_500_000)) == 125
    # net7 1.25 → 10 × 2.25 = 22.5 → 122.5 / 5 = 24.5 → round half to even 24 → 120
    assert lndg(week=(1_000_000, 2_250_000)) == 120
    # net7 exactly 1 is not > 1: 0, and the fee snaps to a multiple of 5: 102 → 100
    assert lndg(fee_rate_ppm=102, week=(0, 1_000_000)) == 100


def test_lndg_excess_with_net_inflow_assisting_revenue_lowers_5m() -> None:
    # out% 96, in 7d 300k in and 100k out (net7 −0.2 < 0), assist 11,000 > 10 × 1,000
    found = lndg(local_sat=960_000, week=(300_000, 100_000), fees_7d_msat=(11_000, 1_000))
    assert found == 75
    # assist 10,000 is not > 10 × 1,000: 0
    assert lndg(local_sat=960_000, week=(300_000, 100_000), fees_7d_msat=(10_000, 1_000)) == 100


def test_lndg_clips_to_its_rates_and_waits_for_update_hours() -> None:
    # 2490 + 25 = 2515 → clipped to AF-MaxRate 2500
    assert lndg(local_sat=100_000, failures=26, fee_rate_ppm=2490) == 2500
    assert lndg(settings={"min_rate_ppm": 90}) == 90  # 100 − 15 = 85 → clipped to 90
    assert lndg(changed_ago_s=12 * 3600) is None  # changed 12h ago, eligible after 24h
    assert lndg(changed_ago_s=24 * 3600) is None  # LNDg: strictly more than AF-UpdateHours
    assert lndg(changed_ago_s=24 * 3600 + 1) == 85


def test_lndg_sums_the_peer_channels() -> None:
    # two channels with the peer, 100k + 100k local of 2M: out% 10; 26 failures on one
    windows = {DAY_S: window(), WEEK_S: window()}
    one = inputs(
        channel(1, local_sat=100_000),
        windows={DAY_S: window(failures=26), WEEK_S: window(failures=26)},
    )
    two = inputs(channel(2, local_sat=100_000), windows=windows)
    both = plan_inputs(one, two)
    assert run("lndg_autofees", two, {}, both) == 125  # +25 on the channel without failures


# --- CLBOSS -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity_sat", "bins"),
    [(100_000, 4), (1_000_000, 5), (1_100_000, 6), (20_000_000, 50), (900_000, 5)],
)
def test_clboss_bins_are_capacity_over_200k_sat_within_4_to_50(
    capacity_sat: int, bins: int
) -> None:
    # 0.5 → 4 (minimum); 5; 5.5 → round half up 6; 100 → 50 (maximum); 4.5 → 5
    assert bins_for(capacity_sat) == bins


@pytest.mark.parametrize(
    ("local_sat", "expected_ppm"),
    [
        (500_000, 100),  # bin 3 of 5, centre 0.5: 50^0 = 1 → 100
        (0, 478),  # bin 1, centre 0.1: 50^0.4 = 4.7818 → 478
        (1_000_000, 21),  # all ours: last bin, centre 0.9: 50^−0.4 = 0.2091 → 21
        (399_999, 219),  # bin 2, centre 0.3: 50^0.2 = 2.1867 → 218.67 → 219
    ],
)
def test_clboss_scales_the_competitors_median_by_balance(local_sat: int, expected_ppm: int) -> None:
    chan = inputs(channel(local_sat=local_sat), peer_fee_rates_ppm=(90, 100, 100, 400))
    assert run("clboss", chan, {}) == expected_ppm


def test_charge_lnd_ignore_keeps_the_fee_rate() -> None:
    assert run("ignore", inputs(channel(fee_rate_ppm=321)), {}) is None


ARMS = Path(__file__).parents[2] / "bench" / "league" / "arms"


@pytest.mark.parametrize("arm", sorted(p.name for p in ARMS.glob("*.toml")))
def test_every_league_arm_is_a_valid_policy_naming_a_baseline(arm: str) -> None:
    found = load_policy(ARMS / arm)
    assert found.rule[-1].strategy in OUTBOUND
    assert found.safety.max_step_pct == 1000  # the tool's rules decide, not lnpilot's limits
    rebalancing = load_settings(ARMS / arm).section
    # only the arm that turns LNDg's auto-rebalancer on rebalances; fee-only tools do not
    assert rebalancing.enabled is (arm == "lndg_autofees_ar.toml")


def test_the_league_has_an_arm_per_baseline() -> None:
    names = {load_policy(path).rule[-1].strategy for path in ARMS.glob("*.toml")}
    assert names == {"proportional", "static", "cost", "lndg_autofees", "clboss"}


# --- properties over generated channels -------------------------------------------------


@given(
    capacity_sat=st.integers(20_000, 50_000_000),
    share=st.integers(0, 1000),
    full=st.integers(0, 5_000),
    empty=st.integers(0, 5_000),
)
def test_proportional_stays_between_its_ends_and_moves_against_the_balance(
    capacity_sat: int, share: int, full: int, empty: int
) -> None:
    settings = {"proportional": {"fee_rate_ppm_full": full, "fee_rate_ppm_empty": empty}}
    local_sat = capacity_sat * share // 1000

    def fee_at(local: int) -> int | None:
        return run(
            "proportional", inputs(channel(capacity_sat=capacity_sat, local_sat=local)), settings
        )

    fee, more = fee_at(local_sat), fee_at(min(capacity_sat, local_sat + 1))
    assert fee is not None and more is not None
    assert min(full, empty) <= fee <= max(full, empty)
    assert (more - fee) * (full - empty) >= 0  # more of the balance ours: toward `full`


@given(
    fee=st.integers(0, 3_000),
    share=st.integers(0, 1000),
    failures=st.integers(0, 60),
    week_in=st.integers(0, 3_000_000),
    week_out=st.integers(0, 3_000_000),
    increment=st.integers(1, 50),
)
def test_lndg_lands_on_its_increment_within_its_rates(
    fee: int, share: int, failures: int, week_in: int, week_out: int, increment: int
) -> None:
    settings = {"increment_ppm": increment, "min_rate_ppm": 10, "max_rate_ppm": 2500}
    found = lndg(
        local_sat=share * 1000,
        fee_rate_ppm=fee,
        failures=failures,
        week=(week_in, week_out),
        settings=settings,
    )
    assert found is not None
    assert 10 <= found <= 2500
    assert found % increment == 0 or found in (10, 2500)


@given(
    rates=st.lists(st.integers(0, 5_000), min_size=1, max_size=7),
    capacity_sat=st.integers(20_000, 50_000_000),
    share=st.integers(0, 999),
)
def test_clboss_never_charges_less_for_less_of_the_balance(
    rates: list[int], capacity_sat: int, share: int
) -> None:
    local_sat = capacity_sat * share // 1000

    def fee(local: int) -> int:
        chan = inputs(
            channel(capacity_sat=capacity_sat, local_sat=local), peer_fee_rates_ppm=tuple(rates)
        )
        found = run("clboss", chan, {})
        assert found is not None
        return found

    median = sorted(rates)[(len(rates) - 1) // 2]
    assert fee(local_sat) >= fee(capacity_sat) and fee(0) >= fee(local_sat)
    assert round(median * 0.14) <= fee(local_sat) <= round(median * 7.08)
