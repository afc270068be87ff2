"""The planner: one explained decision per channel, and the properties no plan may break."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lnpilot.base.domain import Channel, ChannelPolicy, ChannelState
from lnpilot.rebalance import (
    RebalanceAction,
    RebalanceInputs,
    RebalancePlan,
    Request,
    Role,
    parse_settings,
    plan,
)
from lnpilot.rebalance.budget import Spending
from lnpilot.rebalance.candidates import ChannelInput
from lnpilot.rebalance.economics import PPM
from lnpilot.store.rebalances import LastRebalance

from .conftest import DEFAULTS, NOW, channel, metrics

RICH = Spending(0, 0, 0)
EARNED_MSAT = 100_000_000  # 100k sat earned: the earnings share is no limit here
SHOP = channel(1, local_pct=10, fee_ppm=900, peer_fee_ppm=10)  # drained, routes out
WALLET = channel(2, local_pct=90, fee_ppm=100)  # full
SPARE = channel(3, local_pct=50)


def _inputs(
    *items: ChannelInput, spent: Spending = RICH, request: Request = Request()
) -> RebalanceInputs:
    return RebalanceInputs(NOW, tuple(items), spent, EARNED_MSAT, request)


def _routing(chan: Channel, **flows: int) -> ChannelInput:
    return ChannelInput(chan, metrics(chan, **flows))


def _by_scid(decided: RebalancePlan) -> dict[str, tuple[Role, RebalanceAction, str]]:
    return {d.channel.scid or "": (d.role, d.action, d.reason) for d in decided.decisions}


def test_a_drained_channel_that_routes_out_is_refilled_from_a_full_one() -> None:
    decided = plan(
        _inputs(
            _routing(SHOP, out_sat=300_000, in_sat=10_000, earned_msat=270_000),
            _routing(WALLET, in_sat=300_000),
            _routing(SPARE),
        ),
        DEFAULTS,
    )
    (order,) = decided.orders
    # The shop channel is a source of payments: its centre moves up to 65%; the wallet's
    # down to 35%. 200k sat (20% of capacity) is the first amount.
    assert (order.target, order.source, order.amount_msat) == (SHOP, WALLET, 200_000_000)
    assert (order.max_fee_ppm, order.fee_limit_msat, order.min_amount_msat) == (
        400,
        80_000,
        20_000_000,
    )
    assert _by_scid(decided) == {
        "800000x1x0": (
            Role.TARGET,
            RebalanceAction.REBALANCE,
            "10% below band 45–85%: 200,000 sat from 800000x2x0 at most 400 ppm (80 sat)",
        ),
        "800000x2x0": (
            Role.SOURCE,
            RebalanceAction.REBALANCE,
            "source for 800000x1x0: 90% above band 15–55%",
        ),
        "800000x3x0": (Role.NONE, RebalanceAction.NONE, "50% in band 30–70%"),
    }
    assert decided.summary() == "1 rebalance(s) planned, 200,000 sat to move"


def test_every_skip_says_why() -> None:
    settings = parse_settings("[rebalance]\ndirection_shift_pct = 0\n")
    cases = {
        "no source above band; 10% below band 30–70%": (_routing(SHOP, out_sat=50_000),),
        "only sources to the same peer": (
            _routing(SHOP, out_sat=50_000),
            _routing(replace(WALLET, peer_pubkey=SHOP.peer_pubkey)),
        ),
        "does not route outbound: 0 forwards out in 7d (min_forwards_out = 1); 10% below band "
        "30–70%": (_routing(SHOP), _routing(WALLET)),
        "max fee 400 ppm below peer's inbound cost 500 ppm (source 800000x2x0)": (
            _routing(replace(SHOP, remote_policy=ChannelPolicy(0, 500)), out_sat=50_000),
            _routing(WALLET),
        ),
        "a rebalance on this channel is already in flight": (
            replace(_routing(SHOP, out_sat=50_000), busy=True),
            _routing(WALLET),
        ),
    }
    for reason, items in cases.items():
        decided = plan(_inputs(*items), settings)
        shop = decided.decisions[0]
        assert (shop.role, shop.action, shop.reason) == (Role.TARGET, RebalanceAction.SKIP, reason)
        assert decided.orders == []


def test_sources_above_their_centre_when_asked() -> None:
    half_full = channel(2, local_pct=52, fee_ppm=100)  # in its band (15–55%): above its centre
    items = (_routing(SHOP, out_sat=50_000), _routing(half_full, in_sat=50_000))
    strict = plan(_inputs(*items), DEFAULTS)
    assert strict.decisions[0].reason == "no source above band; 10% below band 45–85%"
    settings = parse_settings('[rebalance]\nsources = "above_centre"\n')
    (order,) = plan(_inputs(*items), settings).orders
    assert (order.source, order.amount_msat) == (half_full, 170_000_000)  # down to its centre
    alone = plan(_inputs(items[0]), settings)
    assert alone.decisions[0].reason == "no source above its centre; 10% below band 45–85%"


def test_the_budget_is_shared_out_and_then_exhausted() -> None:
    settings = parse_settings("[rebalance.budget]\ndaily_sat = 50\n")
    a = channel(1, local_pct=10, fee_ppm=900)
    b = channel(4, local_pct=10, fee_ppm=900)
    decided = plan(
        _inputs(
            _routing(a, out_sat=50_000, earned_msat=2),
            _routing(b, out_sat=50_000, earned_msat=1),
            _routing(WALLET),
            spent=Spending(day_msat=10_000, month_msat=10_000, window_msat=10_000),
        ),
        settings,
    )
    (order,) = decided.orders
    assert order.target == a and order.fee_limit_msat == 40_000  # all that is left today
    reason = decided.decisions[1].reason
    assert reason == "budget exhausted (daily: 10 of 50 sat spent)"


def test_nothing_at_all_to_spend_skips_every_target() -> None:
    decided = plan(
        RebalanceInputs(NOW, (_routing(SHOP, out_sat=50_000), _routing(WALLET)), RICH, 0),
        DEFAULTS,
    )
    assert decided.decisions[0].reason.startswith("budget exhausted (earnings share: 0 of 50%")
    assert decided.summary().startswith("nothing to do: 1 target(s) skipped")


def test_the_channels_that_earn_most_are_refilled_first_up_to_the_run_limit() -> None:
    settings = parse_settings("[rebalance]\nmax_per_run = 1\n")
    low = channel(1, local_pct=10, fee_ppm=900)
    high = channel(4, local_pct=10, fee_ppm=900)
    decided = plan(
        _inputs(
            _routing(low, out_sat=50_000, earned_msat=1_000),
            _routing(high, out_sat=50_000, earned_msat=9_000),
            _routing(WALLET),
        ),
        settings,
    )
    assert [o.target for o in decided.orders] == [high]
    assert decided.decisions[0].reason == "run limit reached (max_per_run = 1)"


def test_amounts_adapt_to_the_last_outcome() -> None:
    big_source = _routing(channel(2, local_pct=90, capacity_sat=5_000_000))

    def first_amount(last: LastRebalance | None) -> int:
        item = replace(_routing(SHOP, out_sat=50_000), last=last)
        return plan(_inputs(item, big_source), DEFAULTS).orders[0].amount_msat

    long_ago = NOW - timedelta(days=1)
    assert first_amount(None) == 200_000_000
    assert first_amount(LastRebalance("succeeded", 60_000_000, 60_000_000, None, long_ago)) == (
        120_000_000
    )
    assert first_amount(LastRebalance("partial", 200_000_000, 50_000_000, None, long_ago)) == (
        50_000_000
    )
    failed = LastRebalance("failed", 200_000_000, 0, 50_000_000, long_ago)
    assert first_amount(failed) == 25_000_000
    big = LastRebalance("succeeded", 900_000_000, 900_000_000, None, long_ago)
    assert first_amount(big) == 500_000_000  # max_amount_pct = 50


def test_a_failure_is_not_retried_before_retry_after() -> None:
    failed = LastRebalance("failed", 100_000_000, 0, 25_000_000, NOW - timedelta(minutes=10))
    item = replace(_routing(SHOP, out_sat=50_000), last=failed)
    decided = plan(_inputs(item, _routing(WALLET)), DEFAULTS)
    assert decided.decisions[0].reason == "last rebalance failed; retry after 2026-03-01 12:50 UTC"


def test_unmanaged_and_inactive_channels_are_left_alone() -> None:
    settings = parse_settings('[rebalance.channel."800000x1x0"]\nenabled = false\n')
    decided = plan(
        _inputs(
            _routing(SHOP, out_sat=50_000), _routing(replace(WALLET, state=ChannelState.INACTIVE))
        ),
        settings,
    )
    assert [(d.role, d.reason) for d in decided.decisions] == [
        (Role.NONE, "unmanaged (enabled = false)"),
        (Role.NONE, "not active (inactive)"),
    ]


def test_an_operator_request_names_the_target_amount_and_fee_limit() -> None:
    in_band = channel(1, local_pct=40, fee_ppm=100)  # no outbound history, cheap: no guard pass
    decided = plan(
        _inputs(
            _routing(in_band),
            _routing(WALLET),
            _routing(channel(5, local_pct=45)),
            request=Request(chan_id=in_band.chan_id, amount_msat=70_000_000, max_fee_ppm=50),
        ),
        DEFAULTS,
    )
    (order,) = decided.orders
    assert (order.target, order.source, order.amount_msat) == (in_band, WALLET, 70_000_000)
    assert (order.max_fee_ppm, order.fee_limit_msat) == (50, 3_500)
    assert decided.decisions[2].reason == "45% in band 30–70%"
    above = plan(
        _inputs(_routing(WALLET), _routing(SHOP), request=Request(chan_id=WALLET.chan_id)),
        DEFAULTS,
    )
    assert above.decisions[0].reason.startswith("already at or above its centre")


# --- properties --------------------------------------------------------------------------------

_channels = st.lists(
    st.tuples(
        st.integers(0, 100),  # local pct
        st.integers(0, 2000),  # our fee ppm
        st.integers(0, 1500),  # the peer's fee ppm toward us
        st.integers(1, 4),  # peer: several channels may share one
        st.integers(0, 400_000),  # sat out over the window
        st.integers(0, 400_000),  # sat in
        st.sampled_from([1_000_000, 3_000_000, 16_777_215]),
    ),
    min_size=1,
    max_size=8,
)


def _random_inputs(
    rows: list[tuple[int, ...]], spent: tuple[int, int, int], earned_sat: int
) -> RebalanceInputs:
    items = []
    for n, (pct, fee, peer_fee, peer, out_sat, in_sat, capacity) in enumerate(rows, start=1):
        chan = channel(
            n, local_pct=pct, fee_ppm=fee, peer_fee_ppm=peer_fee, peer=peer, capacity_sat=capacity
        )
        items.append(ChannelInput(chan, metrics(chan, out_sat=out_sat, in_sat=in_sat)))
    day, month, window = spent
    return RebalanceInputs(NOW, tuple(items), Spending(day, month, window), earned_sat * 1000)


@settings(max_examples=300, deadline=None)
@given(
    _channels,
    st.tuples(*(st.integers(0, 3_000_000),) * 3),
    st.integers(0, 50_000),
    st.integers(0, 100),
    st.integers(0, 3000),
)
def test_no_plan_breaks_a_limit(
    rows: list[tuple[int, ...]],
    spent: tuple[int, int, int],
    earned_sat: int,
    factor_pct: int,
    cap_ppm: int,
) -> None:
    settings_ = parse_settings(
        f"[rebalance]\nfee_factor_pct = {factor_pct}\nmax_fee_ppm = {cap_ppm}\n"
        "[rebalance.budget]\ndaily_sat = 2000\nmonthly_sat = 3000\n"
    )
    inputs = _random_inputs(rows, spent, earned_sat)
    decided = plan(inputs, settings_)
    assert [d.channel for d in decided.decisions] == [i.channel for i in inputs.channels]
    assert sum(o.fee_limit_msat for o in decided.orders) <= decided.room.msat
    bands = {d.channel.scid: d.band for d in decided.decisions}
    lent: dict[str | None, int] = {}
    for order in decided.orders:
        target, source = order.target, order.source
        assert target.peer_pubkey != source.peer_pubkey
        assert target.local_policy is not None and source.local_policy is not None
        margin_ppm = target.local_policy.fee_rate_ppm - source.local_policy.fee_rate_ppm
        assert order.max_fee_ppm <= min(margin_ppm * factor_pct // 100, cap_ppm)
        assert order.fee_limit_msat <= order.amount_msat * order.max_fee_ppm // PPM
        assert order.amount_msat >= order.min_amount_msat
        lent[source.scid] = lent.get(source.scid, 0) + order.amount_msat
        band = bands[source.scid]
        assert band is not None
        total_msat = source.local_balance_msat + source.remote_balance_msat
        centre_msat = total_msat * band.target_permille // 1000
        assert lent[source.scid] <= source.local_balance_msat - centre_msat  # never below centre
    assert plan(inputs, settings_) == decided  # deterministic
    shuffled = replace(inputs, channels=inputs.channels[::-1])
    assert {
        (o.target.scid, o.source.scid, o.amount_msat) for o in plan(shuffled, settings_).orders
    } == {(o.target.scid, o.source.scid, o.amount_msat) for o in decided.orders}
