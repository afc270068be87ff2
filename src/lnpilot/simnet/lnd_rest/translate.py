"""From the simulation's records (msat, ns, hex) to LND's REST messages, and routes back.

Everything here is a pure function of its arguments so the mapping can be read, and tested,
one LND message at a time. The simulation counts time in ns from its own start
(`NetworkConfig.start`); LND speaks Unix time, so functions that write a time take
`start_ns`, the Unix time of the simulation's zero (`NetworkConfig.start_unix_ns`).

Fields LND reports that the simulation does not model (commitment fees and weights, byte
counters, ping times, HTLC lists of a channel) are left at their zero value rather than
invented; `docs/simnet.md` lists them.
"""

from __future__ import annotations

from lnpilot.simnet.lnd_rest import messages as m
from lnpilot.simnet.model import Channel, CloseType, Policy
from lnpilot.simnet.network import DUST_LIMIT_SAT, FORCE_CLOSE_CSV_BLOCKS
from lnpilot.simnet.our_node import (
    ChannelBalance,
    ChannelView,
    ClosedChannelView,
    FeeReport,
    ForceClosingView,
    GraphNodeView,
    NodeInfo,
    PeerView,
)
from lnpilot.simnet.records import (
    Forward,
    HtlcAttempt,
    HtlcEvent,
    HtlcEventKind,
    HtlcStatus,
    Invoice,
    InvoiceState,
    Payment,
)
from lnpilot.simnet.routing import Route

NS_PER_S = 1_000_000_000
#: What LND prints for the preimage of a payment that has none (yet): 32 zero bytes in hex.
ZERO_PREIMAGE_HEX = "00" * 32
#: The label LND puts in `version`; says plainly that this is not a real LND.
VERSION = "0.18.5-beta simnet"
#: LND's channel status flag string for a channel in its normal state.
CHAN_STATUS_DEFAULT = "ChanStatusDefault"

#: Genesis block hashes (display order) LND reports as `chain_hash` of closed channels.
GENESIS_HASH = {
    "mainnet": "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    "testnet": "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    "signet": "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    "regtest": "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
}

# Feature bits as LND names them: what a node advertises, and what its invoices carry
# (the same bits `lnpilot.simnet.bolt11` writes).
_NODE_FEATURES = {
    0: ("data-loss-protect", True),
    9: ("tlv-onion", False),
    12: ("static-remote-key", True),
    14: ("payment-addr", True),
    17: ("multi-path-payments", False),
    23: ("anchors-zero-fee-htlc-tx", False),
}
_INVOICE_FEATURES = {
    8: ("tlv-onion", True),
    14: ("payment-addr", True),
    17: ("multi-path-payments", False),
}


def _features(bits: dict[int, tuple[str, bool]]) -> dict[str, m.Feature]:
    return {
        str(bit): m.Feature(name=name, is_required=required, is_known=True)
        for bit, (name, required) in bits.items()
    }


def txid_bytes(txid_hex: str) -> bytes:
    """A txid in LND's internal byte order (`funding_txid_bytes`): the display hex reversed."""
    return bytes.fromhex(txid_hex)[::-1]


def txid_hex(raw: bytes) -> str:
    """The display hex of a txid given in internal byte order."""
    return raw[::-1].hex()


def channel_point_message(channel_point: str) -> m.ChannelPoint:
    """`txid:index` as LND's `ChannelPoint` in its byte form (how LND answers)."""
    txid, index = channel_point.split(":")
    return m.ChannelPoint(funding_txid_bytes=txid_bytes(txid), output_index=int(index))


def channel_point_text(point: m.ChannelPoint) -> str:
    """A request's `ChannelPoint` (string or byte form) as `txid:index`."""
    if point.funding_txid_str:
        return f"{point.funding_txid_str}:{point.output_index}"
    return f"{txid_hex(point.funding_txid_bytes or b'')}:{point.output_index}"


def get_info(info: NodeInfo, start_ns: int) -> m.GetInfoResponse:
    return m.GetInfoResponse(
        version=VERSION,
        identity_pubkey=info.identity_pubkey,
        alias=info.alias,
        color=info.color,
        num_pending_channels=info.num_pending_channels,
        num_active_channels=info.num_active_channels,
        num_inactive_channels=info.num_inactive_channels,
        num_peers=info.num_peers,
        block_height=info.block_height,
        block_hash=info.block_hash,
        best_header_timestamp=start_ns // NS_PER_S + info.best_header_timestamp_s,
        synced_to_chain=info.synced_to_chain,
        synced_to_graph=info.synced_to_graph,
        testnet=info.network == "testnet",
        chains=[m.Chain(chain="bitcoin", network=info.network)],
        uris=list(info.uris),
        features=_features(_NODE_FEATURES),
        wallet_synced=True,
        graph_cache_status=m.GraphCacheStatus.GRAPH_CACHE_STATUS_LOADED,
    )


def _amount(msat: int) -> m.Amount:
    return m.Amount(sat=msat // 1000, msat=msat)


def channel_balance(balance: ChannelBalance) -> m.ChannelBalanceResponse:
    return m.ChannelBalanceResponse(
        balance=balance.local_balance_msat // 1000,
        pending_open_balance=balance.pending_open_local_balance_msat // 1000,
        local_balance=_amount(balance.local_balance_msat),
        remote_balance=_amount(balance.remote_balance_msat),
        unsettled_local_balance=_amount(balance.unsettled_local_balance_msat),
        unsettled_remote_balance=_amount(0),
        pending_open_local_balance=_amount(balance.pending_open_local_balance_msat),
        pending_open_remote_balance=_amount(balance.pending_open_remote_balance_msat),
    )


def wallet_balance(total_sat: int, confirmed_sat: int) -> m.WalletBalanceResponse:
    return m.WalletBalanceResponse(
        total_balance=total_sat,
        confirmed_balance=confirmed_sat,
        unconfirmed_balance=total_sat - confirmed_sat,
        account_balance={
            "default": m.WalletAccountBalance(
                confirmed_balance=confirmed_sat, unconfirmed_balance=total_sat - confirmed_sat
            )
        },
    )


def _constraints(view: ChannelView, policy: Policy, reserve_sat: int) -> m.ChannelConstraints:
    return m.ChannelConstraints(
        csv_delay=FORCE_CLOSE_CSV_BLOCKS,
        chan_reserve_sat=reserve_sat,
        dust_limit_sat=DUST_LIMIT_SAT,
        max_pending_amt_msat=view.capacity_sat * 1000,
        min_htlc_msat=policy.min_htlc_msat,
        max_accepted_htlcs=483,
    )


def channel(view: ChannelView) -> m.Channel:
    """An open channel as `ListChannels` shows it (balances in sat, rounded down as LND)."""
    return m.Channel(
        active=view.active,
        remote_pubkey=view.remote_pubkey,
        channel_point=view.channel_point,
        chan_id=view.chan_id,
        capacity=view.capacity_sat,
        local_balance=view.local_balance_msat // 1000,
        remote_balance=view.remote_balance_msat // 1000,
        unsettled_balance=view.unsettled_balance_msat // 1000,
        total_satoshis_sent=view.total_sent_msat // 1000,
        total_satoshis_received=view.total_received_msat // 1000,
        num_updates=view.num_updates,
        csv_delay=FORCE_CLOSE_CSV_BLOCKS,
        private=view.private,
        initiator=view.initiator,
        chan_status_flags=CHAN_STATUS_DEFAULT,
        local_chan_reserve_sat=view.local_reserve_sat,
        remote_chan_reserve_sat=view.remote_reserve_sat,
        static_remote_key=True,
        commitment_type=m.CommitmentType.ANCHORS,
        local_constraints=_constraints(view, view.local_policy, view.local_reserve_sat),
        remote_constraints=_constraints(view, view.remote_policy, view.remote_reserve_sat),
        pending_htlcs=[
            m.HTLC(
                incoming=h.incoming,
                amount=h.amount_msat // 1000,
                hash_lock=bytes.fromhex(h.hash_lock),
                expiration_height=h.expiration_height,
                htlc_index=h.htlc_index,
                locked_in=True,
            )
            for h in view.htlcs
        ],
    )


def _initiator(local: bool) -> m.Initiator:
    return m.Initiator.INITIATOR_LOCAL if local else m.Initiator.INITIATOR_REMOTE


def pending_channel(view: ChannelView) -> m.PendingChannel:
    return m.PendingChannel(
        remote_node_pub=view.remote_pubkey,
        channel_point=view.channel_point,
        capacity=view.capacity_sat,
        local_balance=view.local_balance_msat // 1000,
        remote_balance=view.remote_balance_msat // 1000,
        local_chan_reserve_sat=view.local_reserve_sat,
        remote_chan_reserve_sat=view.remote_reserve_sat,
        initiator=_initiator(view.initiator),
        commitment_type=m.CommitmentType.ANCHORS,
        chan_status_flags=CHAN_STATUS_DEFAULT,
        private=view.private,
    )


def pending_channels(
    opening: list[tuple[ChannelView, Channel]],
    waiting: list[tuple[ChannelView, Channel]],
    forcing: list[ForceClosingView],
    block_height: int,
) -> m.PendingChannelsResponse:
    """`PendingChannels`; the model channels give confirmation and close heights."""
    waiting_msgs = [
        m.WaitingCloseChannel(
            channel=pending_channel(view),
            limbo_balance=view.local_balance_msat // 1000,
            commitments=m.Commitments(local_txid=chan.closing_txid),
            closing_txid=chan.closing_txid,
            blocks_til_close_confirmed=max(0, chan.close_height + 1 - block_height),
            close_height=chan.close_height,
        )
        for view, chan in waiting
    ]
    forcing_msgs = [
        m.ForceClosedChannel(
            channel=pending_channel(f.channel),
            closing_txid=f.closing_txid,
            limbo_balance=f.limbo_balance_sat,
            maturity_height=f.maturity_height,
            blocks_til_maturity=f.blocks_til_maturity,
            anchor=m.ForceClosedChannelAnchorState.RECOVERED,
        )
        for f in forcing
    ]
    return m.PendingChannelsResponse(
        total_limbo_balance=sum(w.limbo_balance for w in waiting_msgs)
        + sum(f.limbo_balance for f in forcing_msgs),
        pending_open_channels=[
            m.PendingOpenChannel(
                channel=pending_channel(view),
                confirmations_until_active=max(
                    0, chan.open_height + chan.confirmations_needed - block_height
                ),
            )
            for view, chan in opening
        ],
        waiting_close_channels=waiting_msgs,
        pending_force_closing_channels=forcing_msgs,
    )


_CLOSE_TYPES = {
    CloseType.COOPERATIVE_CLOSE: m.ClosureType.COOPERATIVE_CLOSE,
    CloseType.LOCAL_FORCE_CLOSE: m.ClosureType.LOCAL_FORCE_CLOSE,
    CloseType.REMOTE_FORCE_CLOSE: m.ClosureType.REMOTE_FORCE_CLOSE,
}


def close_type(kind: CloseType) -> m.ClosureType:
    return _CLOSE_TYPES[kind]


def closed_channel(view: ClosedChannelView, network: str) -> m.ChannelCloseSummary:
    return m.ChannelCloseSummary(
        channel_point=view.channel_point,
        chan_id=view.chan_id,
        chain_hash=GENESIS_HASH.get(network, ""),
        closing_tx_hash=view.closing_txid,
        remote_pubkey=view.remote_pubkey,
        capacity=view.capacity_sat,
        close_height=view.close_height,
        settled_balance=view.settled_balance_sat,
        close_type=close_type(view.close_type),
        open_initiator=_initiator(view.open_initiator == "LOCAL"),
        close_initiator=_initiator(view.close_initiator == "LOCAL"),
    )


def peer(view: PeerView) -> m.Peer:
    return m.Peer(
        pub_key=view.pubkey,
        address=view.address,
        inbound=view.inbound,
        sync_type=m.PeerSyncType.ACTIVE_SYNC,
        features=_features(_NODE_FEATURES),
    )


def graph_node(
    view: GraphNodeView, start_ns: int, edges: list[m.ChannelEdge] | None = None
) -> m.NodeInfo:
    return m.NodeInfo(
        node=m.LightningNode(
            last_update=start_ns // NS_PER_S + view.last_update_s,
            pub_key=view.pubkey,
            alias=view.alias,
            addresses=[m.NodeAddress(network="tcp", addr=a) for a in view.addresses],
            color=view.color,
            features=_features(_NODE_FEATURES),
        ),
        num_channels=view.num_channels,
        total_capacity=view.total_capacity_sat,
        channels=edges or [],
    )


def routing_policy(policy: Policy, start_ns: int) -> m.RoutingPolicy:
    return m.RoutingPolicy(
        time_lock_delta=policy.cltv_delta,
        min_htlc=policy.min_htlc_msat,
        fee_base_msat=policy.base_fee_msat,
        fee_rate_milli_msat=policy.fee_rate_ppm,
        disabled=policy.disabled,
        max_htlc_msat=policy.max_htlc_msat,
        last_update=(start_ns + policy.last_update_ns) // NS_PER_S,
        inbound_fee_base_msat=policy.inbound_base_fee_msat,
        inbound_fee_rate_milli_msat=policy.inbound_fee_rate_ppm,
    )


def channel_edge(chan: Channel, start_ns: int) -> m.ChannelEdge:
    """A graph edge: node1 is the smaller pubkey and `node1_policy` the one it sets."""
    return m.ChannelEdge(
        channel_id=chan.chan_id,
        chan_point=chan.channel_point,
        last_update=(start_ns + max(p.last_update_ns for p in chan.policies)) // NS_PER_S,
        node1_pub=chan.node1,
        node2_pub=chan.node2,
        capacity=chan.capacity_sat,
        node1_policy=routing_policy(chan.policies[0], start_ns),
        node2_policy=routing_policy(chan.policies[1], start_ns),
    )


def fee_report(report: FeeReport) -> m.FeeReportResponse:
    """LND's fee report: policies per channel and income sums in *sat* (LND's unit there)."""
    return m.FeeReportResponse(
        channel_fees=[
            m.ChannelFeeReport(
                chan_id=row.chan_id,
                channel_point=row.channel_point,
                base_fee_msat=row.base_fee_msat,
                fee_per_mil=row.fee_rate_ppm,
                fee_rate=row.fee_rate_ppm / 1_000_000,
                inbound_base_fee_msat=row.inbound_base_fee_msat,
                inbound_fee_per_mil=row.inbound_fee_rate_ppm,
            )
            for row in report.channel_fees
        ],
        day_fee_sum=report.day_fee_sum_msat // 1000,
        week_fee_sum=report.week_fee_sum_msat // 1000,
        month_fee_sum=report.month_fee_sum_msat // 1000,
    )


_INVOICE_STATES = {
    InvoiceState.OPEN: m.InvoiceState.OPEN,
    InvoiceState.SETTLED: m.InvoiceState.SETTLED,
    InvoiceState.CANCELED: m.InvoiceState.CANCELED,
    InvoiceState.ACCEPTED: m.InvoiceState.ACCEPTED,
}


def invoice(inv: Invoice, start_ns: int) -> m.Invoice:
    """An invoice of ours; a hold invoice shows no preimage until it is settled, as in LND."""
    settled = inv.state is InvoiceState.SETTLED
    return m.Invoice(
        memo=inv.memo,
        r_preimage=bytes.fromhex(inv.preimage) if inv.preimage else b"",
        r_hash=bytes.fromhex(inv.payment_hash),
        value=inv.value_msat // 1000,
        value_msat=inv.value_msat,
        settled=settled,
        creation_date=(start_ns + inv.creation_ns) // NS_PER_S,
        settle_date=(start_ns + inv.settle_ns) // NS_PER_S if settled else 0,
        payment_request=inv.payment_request,
        description_hash=inv.description_hash or b"",
        expiry=inv.expiry_s,
        cltv_expiry=inv.cltv_expiry,
        private=inv.private,
        add_index=inv.add_index,
        settle_index=inv.settle_index,
        amt_paid=inv.amt_paid_msat,
        amt_paid_sat=inv.amt_paid_msat // 1000,
        amt_paid_msat=inv.amt_paid_msat,
        state=_INVOICE_STATES[inv.state],
        features=_features(_INVOICE_FEATURES),
        payment_addr=inv.payment_addr,
    )


def route(r: Route, payment_addr: bytes | None = None) -> m.Route:
    """A route as LND lists it; with `payment_addr`, the last hop carries the MPP record."""
    hops = [
        m.Hop(
            chan_id=h.chan_id,
            chan_capacity=h.chan_capacity_sat,
            amt_to_forward=h.amt_to_forward_msat // 1000,
            fee=h.fee_msat // 1000,
            expiry=h.expiry,
            amt_to_forward_msat=h.amt_to_forward_msat,
            fee_msat=h.fee_msat,
            pub_key=h.pubkey,
            tlv_payload=True,
        )
        for h in r.hops
    ]
    if payment_addr:
        hops[-1].mpp_record = m.MPPRecord(
            payment_addr=payment_addr, total_amt_msat=hops[-1].amt_to_forward_msat
        )
    return m.Route(
        total_time_lock=r.total_time_lock,
        total_fees=r.total_fees_msat // 1000,
        total_amt=r.total_amt_msat // 1000,
        hops=hops,
        total_fees_msat=r.total_fees_msat,
        total_amt_msat=r.total_amt_msat,
    )


def route_from_message(msg: m.Route, source: str, channels: dict[int, Channel]) -> Route:
    """The simulation's route for a route a client sent (`SendToRouteV2`), taken verbatim.

    Amounts and time locks are the client's: if they pay a hop too little, that hop refuses
    the HTLC, as a real node would. Raises ValueError naming the first hop that does not
    connect.
    """
    if not msg.hops:
        raise ValueError("route has no hops")
    chans: list[Channel] = []
    directions: list[int] = []
    amounts: list[int] = []
    expiries = [msg.total_time_lock]
    previous = source
    for i, hop in enumerate(msg.hops):
        chan = channels.get(hop.chan_id)
        if chan is None or previous not in (chan.node1, chan.node2):
            raise ValueError(f"hop {i}: channel {hop.chan_id} does not start at {previous}")
        if chan.peer_of(previous) != hop.pub_key:
            raise ValueError(f"hop {i}: channel {hop.chan_id} does not lead to {hop.pub_key}")
        forward_msat = hop.amt_to_forward_msat or hop.amt_to_forward * 1000
        fee_msat = hop.fee_msat or hop.fee * 1000
        chans.append(chan)
        directions.append(chan.side_of(previous))
        amounts.append(forward_msat + fee_msat)
        if i + 1 < len(msg.hops):
            expiries.append(hop.expiry)
        previous = hop.pub_key
    return Route(source, chans, directions, amounts, expiries)


def htlc_attempt(attempt: HtlcAttempt, preimage_hex: str, start_ns: int) -> m.HTLCAttempt:
    """One attempt; a failure names the failing node by its index in the route (0 = us)."""
    failure = None
    if attempt.failure_wire is not None:
        failure = m.Failure(
            code=m.FailureCode(attempt.failure_wire.value),
            failure_source_index=attempt.failure_source_index,
        )
    succeeded = attempt.status is HtlcStatus.SUCCEEDED
    return m.HTLCAttempt(
        attempt_id=attempt.attempt_id,
        status=m.HTLCStatus(attempt.status.value),
        route=route(attempt.route),
        attempt_time_ns=start_ns + attempt.attempt_ns,
        resolve_time_ns=start_ns + attempt.resolve_ns
        if attempt.status is not HtlcStatus.IN_FLIGHT
        else 0,
        failure=failure,
        preimage=bytes.fromhex(preimage_hex) if succeeded and preimage_hex else b"",
    )


def payment(p: Payment, start_ns: int) -> m.Payment:
    return m.Payment(
        payment_hash=p.payment_hash,
        value=p.value_msat // 1000,
        creation_date=(start_ns + p.creation_ns) // NS_PER_S,
        fee=p.fee_msat // 1000,
        payment_preimage=p.preimage or ZERO_PREIMAGE_HEX,
        value_sat=p.value_msat // 1000,
        value_msat=p.value_msat,
        payment_request=p.payment_request,
        status=m.PaymentStatus(p.status.value),
        fee_sat=p.fee_msat // 1000,
        fee_msat=p.fee_msat,
        creation_time_ns=start_ns + p.creation_ns,
        htlcs=[htlc_attempt(a, p.preimage, start_ns) for a in p.htlcs],
        payment_index=p.payment_index,
        failure_reason=m.PaymentFailureReason(p.failure_reason.value),
    )


def forwarding_event(fwd: Forward, start_ns: int) -> m.ForwardingEvent:
    return m.ForwardingEvent(
        timestamp=(start_ns + fwd.timestamp_ns) // NS_PER_S,
        chan_id_in=fwd.chan_id_in,
        chan_id_out=fwd.chan_id_out,
        amt_in=fwd.amt_in_msat // 1000,
        amt_out=fwd.amt_out_msat // 1000,
        fee=fwd.fee_msat // 1000,
        fee_msat=fwd.fee_msat,
        amt_in_msat=fwd.amt_in_msat,
        amt_out_msat=fwd.amt_out_msat,
        timestamp_ns=start_ns + fwd.timestamp_ns,
        incoming_htlc_id=fwd.incoming_htlc_id,
        outgoing_htlc_id=fwd.outgoing_htlc_id,
    )


def htlc_event(event: HtlcEvent, start_ns: int) -> m.HtlcEvent:
    """An HTLC event with exactly one of LND's event members set."""
    msg = m.HtlcEvent(
        incoming_channel_id=event.incoming_channel_id,
        outgoing_channel_id=event.outgoing_channel_id,
        incoming_htlc_id=event.incoming_htlc_id,
        outgoing_htlc_id=event.outgoing_htlc_id,
        timestamp_ns=start_ns + event.timestamp_ns,
        event_type=m.HtlcEventType(event.event_type.value),
    )
    info = m.HtlcInfo(
        incoming_amt_msat=event.incoming_amt_msat, outgoing_amt_msat=event.outgoing_amt_msat
    )
    if event.kind is HtlcEventKind.FORWARD:
        msg.forward_event = m.ForwardEvent(info=info)
    elif event.kind is HtlcEventKind.FORWARD_FAIL:
        msg.forward_fail_event = m.ForwardFailEvent()
    elif event.kind is HtlcEventKind.SETTLE:
        msg.settle_event = m.SettleEvent()
    else:
        msg.link_fail_event = m.LinkFailEvent(
            info=info,
            wire_failure=m.FailureCode(
                event.wire_failure.value if event.wire_failure else "TEMPORARY_CHANNEL_FAILURE"
            ),
            failure_detail=m.FailureDetail(
                event.failure_detail.value if event.failure_detail else "NO_DETAIL"
            ),
            failure_string=event.failure_string,
        )
    return msg


def channel_backups(blobs: dict[str, bytes], multi: bytes) -> m.ChanBackupSnapshot:
    """Per-channel backups and the multi-channel one that packs them all."""
    points = [channel_point_message(point) for point in blobs]
    return m.ChanBackupSnapshot(
        single_chan_backups=m.ChannelBackups(
            chan_backups=[
                m.ChannelBackup(chan_point=channel_point_message(point), chan_backup=blob)
                for point, blob in blobs.items()
            ]
        ),
        multi_chan_backup=m.MultiChanBackup(chan_points=points, multi_chan_backup=multi),
    )
