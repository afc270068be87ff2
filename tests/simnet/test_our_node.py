"""The OurNode facade: LND's operations over the simulation, as the REST face calls them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from simnet_helpers import Line, policy

from lnpilot.lnbits.bolt11 import decode
from lnpilot.simnet.failures import WireFailure
from lnpilot.simnet.model import ChannelState, CloseType
from lnpilot.simnet.our_node import SimNodeError
from lnpilot.simnet.records import InvoiceState, PaymentStatus


def test_policy_update_without_inbound_keeps_inbound(line: Line) -> None:
    point = line.ours.channels()[0].channel_point
    line.ours.update_channel_policy(point, inbound_fee_rate_ppm=-40, inbound_base_fee_msat=-10)
    line.ours.update_channel_policy(point, base_fee_msat=0, fee_rate_ppm=321, time_lock_delta=40)
    policy = line.ours.channel_by_point(point).policies[
        line.ours.channel_by_point(point).side_of(line.bob)
    ]
    assert (policy.fee_rate_ppm, policy.cltv_delta) == (321, 40)
    assert (policy.inbound_fee_rate_ppm, policy.inbound_base_fee_msat) == (-40, -10)
    assert (
        line.ours.graph_edge(line.ours.channels()[0].chan_id).policies
        == line.ours.channel_by_point(point).policies
    )


def test_disable_and_enable(line: Line) -> None:
    point = line.ours.channels()[1].channel_point
    line.ours.set_channel_enabled(point, False)
    assert line.ours.channels()[1].local_policy.disabled
    line.ours.set_channel_enabled(point, True)
    assert not line.ours.channels()[1].local_policy.disabled


def test_invoice_paid_by_simulated_sender_notifies(line: Line) -> None:
    seen: list[InvoiceState] = []
    line.ours.subscribe_invoices(lambda inv: seen.append(inv.state))
    invoice = line.ours.add_invoice(20_000_000, "coffee", expiry_s=600)
    decoded = decode(invoice.payment_request)
    assert decoded.amount_msat == 20_000_000 and decoded.payment_hash == invoice.payment_hash
    assert decoded.payee_pubkey == line.bob and decoded.network_prefix == "bcrt"
    outcome = line.payer.pay(line.alice, line.bob, 20_000_000, invoice.payment_hash)
    assert outcome.route is not None
    assert line.ours.lookup_invoice(invoice.payment_hash).state is InvoiceState.SETTLED
    assert seen == [InvoiceState.OPEN, InvoiceState.SETTLED]
    assert [i.add_index for i in line.ours.list_invoices()] == [1]


def test_invoice_timestamp_is_unix_time(line: Line) -> None:
    """BOLT 11 carries Unix time: `start` plus virtual time, never time since the start."""
    line.net.now_ns = 3_600 * 1_000_000_000
    invoice = line.ours.add_invoice(1_000_000, "later")
    decoded = decode(invoice.payment_request)
    assert decoded.created_at == line.net.config.start + timedelta(hours=1) == line.net.now()
    assert not decoded.is_expired(line.net.now())


def test_hold_invoice_settles_with_preimage(line: Line) -> None:
    preimage = b"\x07" * 32
    invoice = line.ours.add_invoice(
        5_000_000, payment_hash=hashlib.sha256(preimage).digest(), hold=True
    )
    line.payer.pay(line.carol, line.bob, 5_000_000, invoice.payment_hash)
    assert invoice.state is InvoiceState.ACCEPTED
    assert line.ours.channel_balance().unsettled_local_balance_msat == 5_000_000
    line.ours.settle_invoice(preimage)
    assert invoice.state is InvoiceState.SETTLED and invoice.preimage == preimage.hex()


def test_send_payment_to_simulated_invoice_with_fee(line: Line) -> None:
    from lnpilot.simnet.invoices import InvoiceRequest

    carol = line.net.nodes[line.carol]
    invoice = line.net.invoices.create(carol, InvoiceRequest(1_000_000, "tea"), 0, b"\x01" * 32)
    payment = line.ours.send_payment(invoice.payment_request, fee_limit_msat=10_000)
    assert payment.status is PaymentStatus.SUCCEEDED and payment.fee_msat == 0  # one hop
    assert payment.preimage == invoice.preimage
    with pytest.raises(SimNodeError, match="already paid"):
        line.ours.send_payment(invoice.payment_request)
    assert [p.payment_index for p in line.ours.list_payments()] == [1]


def test_keysend_through_two_hops_charges_fee(line: Line) -> None:
    payment = line.ours.send_payment(dest=line.carol, amt_msat=2_000_000)
    assert payment.status is PaymentStatus.SUCCEEDED
    back = line.payer.pay(line.carol, line.alice, 2_000_000)
    assert back.fee_msat == 200  # bob's 100 ppm
    assert line.ours.fee_report().day_fee_sum_msat == 200


def test_forwarding_history_pages(line: Line) -> None:
    for _ in range(5):
        line.payer.pay(line.alice, line.carol, 1_000_000)
    page, offset = line.ours.forwarding_history(num_max_events=2)
    assert len(page) == 2 and offset == 2
    rest, offset = line.ours.forwarding_history(index_offset=offset, num_max_events=10)
    assert len(rest) == 3 and offset == 5
    assert [f.incoming_htlc_id for f in page + rest] == [0, 1, 2, 3, 4]


def test_open_pending_then_active_after_blocks(line: Line) -> None:
    chan = line.ours.open_channel(line.alice, 2_000_000, push_sat=1000)
    assert [v.channel_point for v in line.ours.pending_channels().pending_open] == [
        chan.channel_point
    ]
    for _ in range(2):
        line.net.mine_block()
    assert chan.state is ChannelState.PENDING_OPEN
    line.net.mine_block()
    assert chan.state is ChannelState.OPEN
    view = next(v for v in line.ours.channels() if v.chan_id == chan.chan_id)
    assert view.local_balance_msat == 1_999_000_000 and view.initiator


def test_cooperative_and_force_close(line: Line) -> None:
    first, second = line.ours.channels()
    line.ours.close_channel(first.channel_point)
    assert [v.chan_id for v in line.ours.pending_channels().waiting_close] == [first.chan_id]
    line.ours.close_channel(second.channel_point, force=True)
    line.net.mine_block()
    closed = {c.chan_id: c for c in line.ours.closed_channels()}
    assert closed[first.chan_id].close_type is CloseType.COOPERATIVE_CLOSE
    assert closed[second.chan_id].close_type is CloseType.LOCAL_FORCE_CLOSE
    assert closed[first.chan_id].close_initiator == "LOCAL"
    assert closed[first.chan_id].open_initiator == "REMOTE"
    [forcing] = line.ours.pending_channels().pending_force_closing
    assert forcing.blocks_til_maturity == 144
    assert line.ours.wallet_balance()[0] > 10_000_000


def test_remote_close_shows_remote_initiator(line: Line) -> None:
    chan = line.ours.channel_by_point(line.ours.channels()[0].channel_point)
    line.net.close_channel(chan.chan_id, line.alice)
    line.net.mine_block()
    [closed] = line.ours.closed_channels()
    assert closed.close_initiator == "REMOTE"


def test_peers_graph_and_backup(line: Line) -> None:
    assert [p.pubkey for p in line.ours.peers()] == sorted([line.alice, line.carol])
    line.net.set_online(line.alice, False)
    assert [p.pubkey for p in line.ours.peers()] == [line.carol]
    info = line.ours.get_info()
    assert (info.num_active_channels, info.num_inactive_channels) == (1, 1)
    assert line.ours.graph_node(line.carol).num_channels == 1
    backups = line.ours.channel_backup()
    assert sorted(backups) == sorted(v.channel_point for v in line.ours.channels())


def test_query_build_and_send_to_route(line: Line) -> None:
    [route] = line.ours.query_routes(line.carol, 1_000_000)
    assert route.hops[-1].pubkey == line.carol
    built = line.ours.build_route(1_000_000, [line.alice])
    assert built.total_amt_msat == 1_000_000
    preimage = b"\x05" * 32
    attempt = line.ours.send_to_route(
        hashlib.sha256(preimage).hexdigest(), built, keysend_preimage=preimage
    )
    assert attempt.failure_wire is None
    assert line.ours.lookup_payment(hashlib.sha256(preimage).hexdigest()).preimage == preimage.hex()


def test_send_to_route_with_an_unknown_hash_fails_at_the_destination(line: Line) -> None:
    built = line.ours.build_route(1_000_000, [line.alice])
    before = line.ours.channels()[0].local_balance_msat
    attempt = line.ours.send_to_route("ab" * 32, built)
    assert attempt.failure_wire is WireFailure.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS
    assert attempt.failure_source_index == 1  # alice, the final node
    assert line.ours.channels()[0].local_balance_msat == before  # failed back
    wrong = line.ours.send_to_route("cd" * 32, built, keysend_preimage=b"\x05" * 32)
    assert wrong.failure_wire is WireFailure.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS


def test_send_to_route_pays_our_own_invoice_in_a_circle(line: Line) -> None:
    """A circular rebalance: bob → alice → carol → bob, settling bob's own invoice."""
    line.net.add_channel(line.alice, line.carol, 1_000_000, 500_000_000, policy(), policy())
    invoice = line.ours.add_invoice(100_000_000, "rebalance")
    circle = line.ours.build_route(100_000_000, [line.alice, line.carol, line.bob])
    attempt = line.ours.send_to_route(invoice.payment_hash, circle)
    assert attempt.failure_wire is None
    assert invoice.state is InvoiceState.SETTLED
    out, back = line.ours.channels()
    assert out.local_balance_msat == 500_000_000 - 100_000_000 - circle.total_fees_msat
    assert back.local_balance_msat == 500_000_000 + 100_000_000
