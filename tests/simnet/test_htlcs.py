"""HTLCs along a route: LND's checks and failure reasons, reserves, retries that learn."""

from __future__ import annotations

from simnet_helpers import Line, make_node, policy

from lnpilot.simnet.failures import FailureDetail, PaymentFailureReason, WireFailure
from lnpilot.simnet.network import AttemptStatus, SimNetwork
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.records import HtlcEventKind
from lnpilot.simnet.routing import build_route


def two_hop(line: Line, amt_msat: int):
    ab, bc = line.ours._our_channels()
    return build_route(
        line.alice, [(ab, ab.side_of(line.alice)), (bc, bc.side_of(line.bob))], amt_msat, 800_000
    )


def test_settled_forward_moves_balances_and_is_recorded(line: Line) -> None:
    status, failure = line.net.execute(two_hop(line, 10_000_000))
    assert (status, failure) == (AttemptStatus.SETTLED, None)
    [fwd] = line.ours.forwards
    assert (fwd.amt_in_msat, fwd.amt_out_msat, fwd.fee_msat) == (10_001_000, 10_000_000, 1000)
    ab, bc = line.ours._our_channels()
    assert ab.balance_msat[ab.side_of(line.bob)] == 510_001_000
    assert bc.balance_msat[bc.side_of(line.bob)] == 490_000_000
    assert [e.kind for e in line.ours.htlc_events] == [HtlcEventKind.FORWARD, HtlcEventKind.SETTLE]


def test_reserve_is_kept(line: Line) -> None:
    # bob has 400_000 sat toward carol and must keep 1% of 1M sat (10_000 sat)
    bc = line.ours._our_channels()[1]
    bob = bc.side_of(line.bob)
    bc.balance_msat[bob], bc.balance_msat[1 - bob] = 400_000_000, 600_000_000
    status, failure = line.net.execute(two_hop(line, 395_000_000))
    assert status is AttemptStatus.FAILED and failure is not None
    assert failure.wire is WireFailure.TEMPORARY_CHANNEL_FAILURE
    assert failure.detail is FailureDetail.INSUFFICIENT_BALANCE
    assert failure.failing_node == line.bob
    [event] = line.ours.htlc_events
    assert event.kind is HtlcEventKind.LINK_FAIL and event.outgoing_htlc_id == 0
    # everything locked on the first hop was given back
    ab = line.ours._our_channels()[0]
    assert ab.balance_msat == [500_000_000, 500_000_000] and ab.in_flight_count == [0, 0]


def test_disabled_and_offline_and_fee(line: Line) -> None:
    bc = line.ours._our_channels()[1]
    line.net.update_policy(bc.chan_id, line.bob, disabled=True)
    _, failure = line.net.execute(two_hop(line, 1_000_000))
    assert failure is not None and failure.wire is WireFailure.CHANNEL_DISABLED
    line.net.update_policy(bc.chan_id, line.bob, disabled=False)
    line.net.set_online(line.carol, False)
    _, failure = line.net.execute(two_hop(line, 1_000_000))
    assert failure is not None and failure.wire is WireFailure.UNKNOWN_NEXT_PEER
    line.net.set_online(line.carol, True)
    stale = two_hop(line, 1_000_000)
    line.net.update_policy(bc.chan_id, line.bob, base_fee_msat=5000)
    _, failure = line.net.execute(stale)
    assert failure is not None and failure.wire is WireFailure.FEE_INSUFFICIENT


def test_amount_below_minimum(line: Line) -> None:
    bc = line.ours._our_channels()[1]
    line.net.update_policy(bc.chan_id, line.bob, min_htlc_msat=5_000_000)
    _, failure = line.net.execute(two_hop(line, 1_000_000))
    assert failure is not None and failure.wire is WireFailure.AMOUNT_BELOW_MINIMUM


def test_unknown_and_underpaid_invoice(line: Line) -> None:
    _, failure = line.net.execute(two_hop(line, 1_000_000), payment_hash="00" * 32)
    assert failure is not None
    assert failure.wire is WireFailure.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS
    assert failure.detail is FailureDetail.UNKNOWN_INVOICE
    outcome = line.payer.pay(line.alice, line.carol, 1_000_000, payment_hash="11" * 32)
    assert outcome.failure_reason is PaymentFailureReason.FAILURE_REASON_INCORRECT_PAYMENT_DETAILS
    assert len(outcome.attempts) == 1  # final: no retry


def test_retry_learns_and_takes_another_route() -> None:
    net = SimNetwork(seed=9)
    s, x, y, t = (make_node(net, k, a) for k, a in ((21, "s"), (22, "x"), (23, "y"), (24, "t")))
    half = 1_000_000_000
    net.add_channel(s, x, 2_000_000, half, policy(), policy(), scid="700002x1x0")
    net.add_channel(s, y, 2_000_000, half, policy(), policy(), scid="700002x2x0")
    # x looks cheap but has nothing toward t; y is dearer and has the money
    net.add_channel(x, t, 2_000_000, 0, policy(fee_rate_ppm=1), policy(), scid="700002x3x0")
    net.add_channel(y, t, 2_000_000, half, policy(fee_rate_ppm=3000), policy(), scid="700002x4x0")
    payer = Payer(net)
    outcome = payer.pay(s, t, 50_000_000)
    assert outcome.status is AttemptStatus.SETTLED
    assert [f.wire if f else None for _, f in outcome.attempts] == [
        WireFailure.TEMPORARY_CHANNEL_FAILURE,
        None,
    ]
    # the sender remembers: the next payment goes via y at once
    again = payer.pay(s, t, 50_000_000)
    assert len(again.attempts) == 1 and again.route is not None
    assert again.route.hops[0].pubkey == y


def test_max_htlcs_in_flight(line: Line) -> None:
    bc = line.ours._our_channels()[1]
    bc.max_accepted_htlcs = 0
    _, failure = line.net.execute(two_hop(line, 1_000_000))
    assert failure is not None and failure.wire is WireFailure.TEMPORARY_CHANNEL_FAILURE
