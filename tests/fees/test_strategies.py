"""Each strategy's formula, on hand-made inputs."""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

import pytest

from lnpilot.base.domain import Initiator
from lnpilot.fees.inputs import ChannelInputs, ControllerMemory, PlanInputs, WindowStats
from lnpilot.fees.policy import InboundStrategy, OutboundStrategy, RuleSettings
from lnpilot.fees.strategies import INBOUND, OUTBOUND, StrategyContext, liquidity_cost
from lnpilot.fees.strategies.flow_adaptive import flow_adaptive
from lnpilot.fees.strategies.inbound import inbound_discount
from lnpilot.fees.strategies.peer_aware import peer_aware
from lnpilot.fees.strategies.proportional import proportional

from .factories import DAY_S, NOW, channel, inputs, plan_inputs, window

WEEK_S = 7 * DAY_S
FLOW = {"window": "7d", "idle_after": "2d", "step_pct": 10, "ramp": "1d", "max_ramp": 3}


def context(
    chan: ChannelInputs, settings: dict[str, object], plan: PlanInputs | None = None
) -> StrategyContext:
    assert chan.channel.local_policy is not None
    return StrategyContext(
        chan,
        plan or plan_inputs(chan),
        RuleSettings.model_validate(settings),
        chan.channel.local_policy,
    )


def test_every_strategy_name_the_policy_accepts_is_registered() -> None:
    assert set(OUTBOUND) == set(get_args(OutboundStrategy))
    assert set(INBOUND) == set(get_args(InboundStrategy)) - {"keep"}


def test_static_and_inbound_static() -> None:
    chan = inputs(channel())
    target = OUTBOUND["static"](context(chan, {"static": {"fee_rate_ppm": 420}}))
    assert (target.fee_rate_ppm, target.reason) == (420, "static 420 ppm")
    inbound = INBOUND["static"](
        context(chan, {"inbound_static": {"fee_rate_ppm": -30, "base_fee_msat": -100}})
    )
    assert (inbound.fee_rate_ppm, inbound.base_fee_msat) == (-30, -100)


@pytest.mark.parametrize(
    ("local_sat", "expected_ppm"), [(0, 1000), (250_000, 775), (1_000_000, 100)]
)
def test_proportional_is_linear_in_the_local_ratio(local_sat: int, expected_ppm: int) -> None:
    chan = inputs(channel(local_sat=local_sat))
    settings = {"proportional": {"fee_rate_ppm_full": 100, "fee_rate_ppm_empty": 1000}}
    assert proportional(context(chan, settings)).fee_rate_ppm == expected_ppm


def test_proportional_per_peer_sums_the_peers_channels() -> None:
    drained = inputs(channel(1, local_sat=0))
    full = inputs(channel(2, local_sat=1_000_000))
    settings = {
        "proportional": {"fee_rate_ppm_full": 0, "fee_rate_ppm_empty": 1000, "per_peer": True}
    }
    target = proportional(context(drained, settings, plan_inputs(drained, full)))
    assert target.fee_rate_ppm == 500
    assert "peer local ratio 0.5" in target.reason


def flow(chan: ChannelInputs, **params: object) -> tuple[int | None, str | None, str]:
    target = flow_adaptive(context(chan, {"flow_adaptive": {**FLOW, **params}}))
    return target.fee_rate_ppm, target.state, target.reason


def test_flow_adaptive_holds_while_the_history_is_too_short() -> None:
    chan = inputs(channel(), windows={2 * DAY_S: window(3, 1000)})
    assert flow(chan)[:2] == (None, "learning")


@pytest.mark.parametrize(
    ("local_sat", "week", "two_days", "expected"),
    [
        # scarce: below band and demanded (forwards, or failures for lack of liquidity)
        (100_000, window(2, 10_000), window(1, 5_000), (110, "scarce")),
        (100_000, window(0, 0, failures=3, failed_sat=90_000), window(0), (110, "scarce")),
        # drained: below band, nobody asking: raising would sell nothing
        (100_000, window(0), window(0), (None, "drained")),
        # idle: no forward out for idle_after
        (500_000, window(5, 300_000), window(0), (90, "idle")),
        # surplus: above band and demand below target (20% of 1M = 200k sat)
        (800_000, window(5, 100_000), window(1, 1_000), (90, "surplus")),
        # busy: demand above target × 1.5 (failed volume counts as demand)
        (500_000, window(9, 250_000, failures=1, failed_sat=60_000), window(1, 1), (110, "busy")),
        # slow: demand below target × 0.5
        (500_000, window(3, 90_000), window(1, 1), (90, "slow")),
        (500_000, window(5, 200_000), window(1, 1), (None, "on-target")),
    ],
)
def test_flow_adaptive_states(
    local_sat: int, week: WindowStats, two_days: WindowStats, expected: tuple[int | None, str]
) -> None:
    chan = inputs(channel(local_sat=local_sat), windows={WEEK_S: week, 2 * DAY_S: two_days})
    assert flow(chan)[:2] == expected


def test_flow_adaptive_steps_grow_with_time_in_state_up_to_max_ramp() -> None:
    windows = {WEEK_S: window(5, 300_000), 2 * DAY_S: window(0)}
    moves = []
    for days_idle in (0, 1, 2, 10):
        memory = ControllerMemory("idle", NOW - timedelta(days=days_idle))
        moves.append(flow(inputs(channel(fee_rate_ppm=1000), windows=windows, memory=memory))[0])
    assert moves == [900, 800, 700, 700]
    # another state's memory does not count
    other = ControllerMemory("busy", NOW - timedelta(days=5))
    assert flow(inputs(channel(fee_rate_ppm=1000), windows=windows, memory=other))[0] == 900


def test_flow_adaptive_moves_at_least_min_step_and_never_below_zero() -> None:
    windows = {WEEK_S: window(5, 300_000), 2 * DAY_S: window(0)}
    assert flow(inputs(channel(fee_rate_ppm=3), windows=windows), min_step_ppm=2)[0] == 1
    assert flow(inputs(channel(fee_rate_ppm=1), windows=windows), min_step_ppm=5)[0] == 0


def test_liquidity_cost_from_the_peers_fee_the_opening_or_a_measured_rebalance() -> None:
    chan = inputs(channel(remote_fee_rate_ppm=300))
    cost = liquidity_cost(context(chan, {}))
    assert (cost.cost_ppm, cost.floor_ppm) == (300, 330)
    assert cost.explanation == "the peer charges 300 ppm to send liquidity back, +10% = 330 ppm"
    opening = {"cost": {"open_cost_sat": 2000, "amortise_turns": 2, "markup_pct": 0}}
    assert liquidity_cost(context(chan, opening)).cost_ppm == 1000  # 2000 sat over 2 × 1M sat
    theirs = inputs(channel(remote_fee_rate_ppm=300, initiator=Initiator.REMOTE))
    assert liquidity_cost(context(theirs, opening)).cost_ppm == 300
    measured = inputs(channel(remote_fee_rate_ppm=300), rebalance_cost_ppm=120)
    assert liquidity_cost(context(measured, {})).source == "rebalancing paid 120 ppm"
    blind = {"cost": {"peer_fee_estimate": False}}
    assert liquidity_cost(context(chan, blind)).cost_ppm == 0


def test_cost_floor_strategy_prices_at_the_floor() -> None:
    target = OUTBOUND["cost_floor"](context(inputs(channel(remote_fee_rate_ppm=200)), {}))
    assert target.fee_rate_ppm == 220


def test_peer_aware_follows_the_median_of_the_other_channels() -> None:
    chan = inputs(channel(), peer_fee_rates_ppm=(900, 100, 300, 500))
    target = peer_aware(context(chan, {"peer_aware": {"ratio_pct": 90, "offset_ppm": 5}}))
    assert target.fee_rate_ppm == 275  # lower median 300 × 90% + 5
    assert peer_aware(context(inputs(channel()), {})).fee_rate_ppm is None


@pytest.mark.parametrize(
    ("local_sat", "remote_ppm", "max_discount", "expected"),
    [
        (300_000, 400, 200, 0),  # not below 0.3: no discount
        (0, 400, 200, -200),  # fully drained: the whole bound, max_discount_ppm here
        (150_000, 400, 200, -100),  # half way below: half the bound
        (0, 80, 200, -80),  # the rebalancing cost bounds it
    ],
)
def test_inbound_discount_scales_with_depletion_and_never_exceeds_its_bound(
    local_sat: int, remote_ppm: int, max_discount: int, expected: int
) -> None:
    chan = inputs(channel(local_sat=local_sat, remote_fee_rate_ppm=remote_ppm))
    settings = {"inbound_discount": {"below_ratio": 0.3, "max_discount_ppm": max_discount}}
    assert inbound_discount(context(chan, settings)).fee_rate_ppm == expected


def test_each_registration_gives_the_policy_its_table_and_its_required_keys() -> None:
    for registered in (*OUTBOUND.values(), *INBOUND.values()):
        assert registered.table in RuleSettings.model_fields
        assert RuleSettings.model_fields[registered.table].default is None
    settings = RuleSettings.model_validate({"flow_adaptive": {"window": "3d", "idle_after": "1d"}})
    assert OUTBOUND["flow_adaptive"].windows_s(settings) == {3 * DAY_S, DAY_S}
    assert OUTBOUND["flow_adaptive"].windows_s() == {WEEK_S, 2 * DAY_S}
    assert OUTBOUND["static"].needs == ("fee_rate_ppm",)
