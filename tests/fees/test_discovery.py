"""Price discovery on hand-computed cases: each expected fee is worked out in the comment
beside it from the rules in the module's docstring, not by running the code under test."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lnpilot.fees.default import DEFAULT_POLICY_TOML
from lnpilot.fees.inputs import ChannelInputs, ControllerMemory, WindowStats
from lnpilot.fees.planner import Action, plan
from lnpilot.fees.policy import RuleSettings, load_policy, parse_policy
from lnpilot.fees.strategies import OUTBOUND, StrategyContext, Target
from lnpilot.fees.strategies.discovery import moved_ppm
from lnpilot.store.records import FlowStats

from .factories import DAY_S, NOW, channel, inputs, plan_inputs, policy

EXAMPLE = Path(__file__).parents[2] / "examples" / "fees.toml"
SETTINGS = {"price_discovery": {"window": "1d", "step_pct": 50, "min_step_pct": 10}}


def stats(
    fee_out_sat: int = 0,
    forwards_out: int = 0,
    *,
    out_sat: int = 0,
    in_sat: int = 0,
    failures: int = 0,
) -> WindowStats:
    return WindowStats(
        FlowStats(
            forwards_out=forwards_out,
            volume_out_msat=out_sat * 1000,
            volume_in_msat=in_sat * 1000,
            fee_out_msat=fee_out_sat * 1000,
        ),
        liquidity_failures=failures,
        liquidity_failed_msat=0,
    )


def decide(
    last: WindowStats | None,
    both: WindowStats | None,
    *,
    fee_rate_ppm: int = 100,
    local_sat: int = 500_000,
    changed_h: float | None = 25,
    state: str | None = None,
    competitors: tuple[int, ...] = (),
    settings: dict[str, object] | None = None,
) -> Target:
    windows = {}
    if last is not None and both is not None:
        windows = {DAY_S: last, 2 * DAY_S: both}
    chan: ChannelInputs = inputs(
        channel(fee_rate_ppm=fee_rate_ppm, local_sat=local_sat),
        windows=windows,
        memory=None if state is None else ControllerMemory(state, NOW - timedelta(days=1)),
        last_change_at=None if changed_h is None else NOW - timedelta(hours=changed_h),
        peer_fee_rates_ppm=competitors,
    )
    assert chan.channel.local_policy is not None
    ctx = StrategyContext(
        chan,
        plan_inputs(chan),
        RuleSettings.model_validate(settings or SETTINGS),
        chan.channel.local_policy,
    )
    return OUTBOUND["price_discovery"](ctx)


def test_steps_are_multiplicative_and_symmetric() -> None:
    assert moved_ppm(100, 1, 50, 10) == 150  # 100 × 1.5
    assert moved_ppm(150, -1, 50, 10) == 100  # 150 ÷ 1.5
    assert moved_ppm(0, 1, 50, 10) == 10  # 0 × 1.5 = 0: the 10 ppm floor moves it
    assert moved_ppm(5, -1, 50, 10) == 0  # 5 − 10 < 0: never below 0


def test_without_two_windows_of_history_it_holds() -> None:
    target = decide(None, None)
    assert (target.fee_rate_ppm, target.state) == (None, "learning")


def test_a_fee_is_held_for_a_whole_window_and_the_climb_remembered() -> None:
    # changed 10 h ago, judged after max(1d, 24h / 2) = 1d: wait, keep the state "up50"
    target = decide(stats(500, 5), stats(900, 9), changed_h=10, state="up50")
    assert (target.fee_rate_ppm, target.state) == (None, "up50")
    assert "judged after 1d" in target.reason


def test_a_better_window_keeps_the_direction_and_grows_the_step_back() -> None:
    # last 1d earned 2,000 sat, the day before 3,000 − 2,000 = 1,000 sat: better, so keep
    # going up with the step doubled from 25 % to 50 %: 100 × 1.5 = 150
    target = decide(stats(2_000, 20), stats(3_000, 30), state="up25")
    assert (target.fee_rate_ppm, target.state) == (150, "up50")
    assert "not worse" in target.reason


def test_a_worse_window_turns_back_to_the_fee_before_and_halves_the_step() -> None:
    # last 1d 500 sat, the day before 1,500 − 500 = 1,000 sat: worse; undo the 50 % step up:
    # 100 ÷ 1.5 = 66 (and at least 10 ppm down: 66 ≤ 90); the next steps are 50 / 2 = 25 %
    target = decide(stats(500, 5), stats(1_500, 15), state="up50")
    assert (target.fee_rate_ppm, target.state) == (66, "down25")
    assert "worse" in target.reason and "undo the last 50% step" in target.reason


def test_the_step_never_shrinks_below_its_minimum() -> None:
    # down10 turns back: 10 / 2 = 5 < min 10, so up 10 %: 100 × 1.1 = 110
    target = decide(stats(500, 5), stats(1_500, 15), state="down10")
    assert (target.fee_rate_ppm, target.state) == (110, "up10")


def test_an_unchanged_fee_is_probed_upward_at_first() -> None:
    # no change for 3 days, no memory: nothing to compare, probe up 50 %: 150
    target = decide(stats(500, 5), stats(1_000, 10), changed_h=72)
    assert (target.fee_rate_ppm, target.state) == (150, "up50")
    assert "probe" in target.reason
    # never changed at all (a fresh node): the same
    assert decide(stats(500, 5), stats(1_000, 10), changed_h=None).fee_rate_ppm == 150


def test_a_probe_at_the_maximum_goes_the_other_way() -> None:
    # at 2,500 = max, the last move was up and nothing changed since: up is blocked, so
    # down 50 %: 2,500 ÷ 1.5 = 1,666
    settings = {**SETTINGS, "max_fee_rate_ppm": 2500}
    target = decide(
        stats(500, 5),
        stats(1_000, 10),
        fee_rate_ppm=2500,
        changed_h=72,
        state="up50",
        settings=settings,
    )
    assert (target.fee_rate_ppm, target.state) == (1666, "down50")


def test_a_drained_channel_that_is_asked_gets_dearer_and_teaches_nothing() -> None:
    # 50k of 1M sat local = 0.05 < 0.1, 3 forwards out: scarce, up 50 %: 150, even though
    # the last window earned less than the one before (a dry window is not learnt from)
    target = decide(stats(100, 3), stats(1_000, 10), local_sat=50_000, state="up50")
    assert (target.fee_rate_ppm, target.state) == (150, "scarce")


def test_a_channel_that_ran_dry_during_the_window_counts_as_drained() -> None:
    # 500k local now, but 480k came in over the last day and nothing left: at its start it
    # held 500k − 480k = 20k = 0.02 of the capacity; 2 forwards failed for lack of it
    target = decide(stats(0, 0, in_sat=480_000, failures=2), stats(300, 3, in_sat=480_000))
    assert (target.fee_rate_ppm, target.state) == (150, "scarce")
    # nobody asking (no forward out, no failure in the last day): hold
    quiet = decide(stats(0, 0, in_sat=480_000), stats(300, 3, in_sat=480_000))
    assert (quiet.fee_rate_ppm, quiet.state) == (None, "drained")


@pytest.mark.parametrize(
    ("fee_rate_ppm", "competitors", "expected"),
    [
        (1000, (300, 500, 900), 666),  # median 500; 1,000 ÷ 1.5 = 666 ≥ 500
        (600, (300, 500, 900), 500),  # 600 ÷ 1.5 = 400, not below the median 500
        (400, (300, 500, 900), None),  # already below the median: lowering buys nothing
        (400, (), 266),  # nobody to compare with: 400 ÷ 1.5 = 266
    ],
)
def test_an_idle_channel_comes_down_toward_its_competitors(
    fee_rate_ppm: int, competitors: tuple[int, ...], expected: int | None
) -> None:
    target = decide(stats(), stats(), fee_rate_ppm=fee_rate_ppm, competitors=competitors)
    assert (target.fee_rate_ppm, target.state) == (expected, "idle")


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="min_step_pct must not be above step_pct"):
        policy(
            '[[rule]]\nname = "d"\nstrategy = "price_discovery"\n'
            "price_discovery = { step_pct = 10, min_step_pct = 20 }\n"
        )


def test_the_example_file_runs_the_default_policy() -> None:
    """examples/fees.toml shows more of the language, but prices as the built-in default
    does: the same safety limits and the same last rule."""
    example, default = load_policy(EXAMPLE), parse_policy(DEFAULT_POLICY_TOML)
    assert example.safety == default.safety
    assert example.rule[-1].model_dump() == default.rule[-1].model_dump()


def test_the_default_policy_discovers_prices_within_two_updates_a_day() -> None:
    """What a new user starts from: the planner moves a never-changed busy channel one
    probe up, and a channel changed 10 h ago waits (the default holds a fee for 12 h)."""
    example = parse_policy(DEFAULT_POLICY_TOML)
    assert example.rule[-1].strategy == "price_discovery"
    windows = {DAY_S // 2: stats(2_000, 20), DAY_S: stats(4_000, 40)}  # its 12 h windows
    fresh = inputs(channel(1, fee_rate_ppm=400), windows=windows)
    recent = inputs(
        channel(2, fee_rate_ppm=400), windows=windows, last_change_at=NOW - timedelta(hours=10)
    )
    result = plan(example, plan_inputs(fresh, recent))
    by_scid = {d.scid: d for d in result.decisions}
    # 400 × 1.5 = 600: within the example's max_step_pct = 50 (the policy sets no cost
    # floor; 20 forwards out in each 12 h window, not thin: 20 ≥ min_forwards 4)
    assert by_scid["800000x1x0"].action is Action.UPDATE
    assert by_scid["800000x1x0"].proposal.fee_rate_ppm == 600
    assert by_scid["800000x2x0"].action is not Action.UPDATE


def test_the_windows_it_reads_are_declared_in_its_registration() -> None:
    # the gatherer reads one window and two (the last and the one before, by difference)
    assert OUTBOUND["price_discovery"].windows_s() == {DAY_S, 2 * DAY_S}
    settings = RuleSettings.model_validate({"price_discovery": {"window": "12h"}})
    assert OUTBOUND["price_discovery"].windows_s(settings) == {DAY_S // 2, DAY_S}


@pytest.mark.parametrize(
    ("last", "both", "state", "expected_state"),
    [
        # last day: 3 forwards out; the day before: 5 − 3 = 2; both < 4: too few to compare
        (stats(600, 3), stats(1_000, 5), None, "thin"),
        # the day before holds 3 − 3 = 0 forwards, the last 3: thin too, and a climb's
        # memory survives the hold
        (stats(600, 3), stats(600, 3), "down25", "down25"),
    ],
)
def test_a_thin_window_holds_the_fee(
    last: WindowStats, both: WindowStats, state: str | None, expected_state: str
) -> None:
    settings = {"price_discovery": {"window": "1d", "min_forwards": 4}}
    target = decide(last, both, state=state, settings=settings)
    assert (target.fee_rate_ppm, target.state) == (None, expected_state)
    assert "both fewer than 4" in target.reason


def test_a_probe_that_lost_the_traffic_is_undone() -> None:
    # raised 50 % to 150 ppm a day ago; the day before carried 20 forwards (2,000 sat), the
    # last day none: the last window is empty but the one before is not, so this is learnt
    # from (not thin): worse, back to 150 ÷ 1.5 = 100 ppm, next steps 25 %
    settings = {"price_discovery": {"window": "1d", "min_forwards": 4}}
    target = decide(
        stats(0, 0), stats(2_000, 20), fee_rate_ppm=150, state="up50", settings=settings
    )
    assert (target.fee_rate_ppm, target.state) == (100, "down25")


def test_enough_forwards_in_both_windows_are_learnt_from() -> None:
    # 4 forwards in the last day, 8 − 4 = 4 in the day before: not thin; 400 sat against
    # 800 − 400 = 400 sat is not worse, so "up25" keeps going up with the step doubled to
    # 50 %: 100 × 1.5 = 150
    settings = {"price_discovery": {"window": "1d", "min_forwards": 4}}
    target = decide(stats(400, 4), stats(800, 8), state="up25", settings=settings)
    assert (target.fee_rate_ppm, target.state) == (150, "up50")


def test_an_idle_channel_with_no_competitor_in_view_can_be_told_to_hold() -> None:
    # no forward in 2 days and nobody to compare with: by default 400 ÷ 1.5 = 266 (above);
    # with idle_lowers_blind = false it holds, since a quiet day is no proof of a high price
    settings = {"price_discovery": {"window": "1d", "idle_lowers_blind": False}}
    held = decide(stats(), stats(), fee_rate_ppm=400, settings=settings)
    assert (held.fee_rate_ppm, held.state) == (None, "idle")
    assert "no competitor's fee in view" in held.reason
    # with a competitor in view it still comes down toward their median: 400 ÷ 1.5 = 266
    lowered = decide(stats(), stats(), fee_rate_ppm=400, competitors=(100,), settings=settings)
    assert (lowered.fee_rate_ppm, lowered.state) == (266, "idle")
