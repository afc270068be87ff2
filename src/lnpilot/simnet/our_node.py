"""Our node: the one node of the simulation that is managed, seen the way LND shows a node.

`OurNode` is the facade the LND REST face calls. It speaks LND's concepts (local/remote
balances, pending and closed channels, invoices with add/settle indexes, payments with HTLC
attempts, forwarding events, HTLC events, fee reports) in lnpilot's units (msat, ns, hex) and
leaves JSON, base64 and string-encoded int64 to the face. Every method is synchronous and
cheap: the simulation is in memory and payments complete in zero virtual time (a payment to
a hold invoice stays IN_FLIGHT until that invoice is settled or canceled).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from lnpilot.simnet import scb
from lnpilot.simnet.failures import PaymentFailureReason
from lnpilot.simnet.invoices import InvoiceRequest
from lnpilot.simnet.model import Channel, ChannelState, CloseType, Node, Policy
from lnpilot.simnet.network import FUNDING_TX_VBYTES, AttemptStatus, SimNetwork, WatchObserver
from lnpilot.simnet.payments import Payer, PaymentOutcome
from lnpilot.simnet.records import (
    Forward,
    HtlcAttempt,
    HtlcEvent,
    HtlcStatus,
    Invoice,
    InvoiceState,
    Payment,
    PaymentStatus,
)
from lnpilot.simnet.routing import NoRouteError, Route, SearchLimits, build_route

DAY_NS = 86_400 * 1_000_000_000
#: How many routes our node tries per payment (LND bounds by time; we bound by count).
OUR_MAX_ATTEMPTS = 20


class SimNodeError(Exception):
    """A request LND would refuse; the message is LND-like and safe to show."""


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What `GetInfo` reports."""

    identity_pubkey: str
    alias: str
    color: str
    num_peers: int
    num_active_channels: int
    num_inactive_channels: int
    num_pending_channels: int
    block_height: int
    block_hash: str
    best_header_timestamp_s: int
    synced_to_chain: bool
    synced_to_graph: bool
    network: str
    uris: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HtlcView:
    """An HTLC in flight on one of our channels (LND's ``Channel.pending_htlcs`` entry).

    Only HTLCs held by a hold invoice stay in flight in the simulation: every other HTLC
    settles or fails within the step that sent it."""

    incoming: bool
    amount_msat: int
    hash_lock: str
    expiration_height: int
    htlc_index: int


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel from our side (LND's `Channel`/`PendingChannel`), balances in msat."""

    chan_id: int
    scid: str
    channel_point: str
    remote_pubkey: str
    capacity_sat: int
    local_balance_msat: int
    remote_balance_msat: int
    local_reserve_sat: int
    remote_reserve_sat: int
    unsettled_balance_msat: int
    pending_htlcs: int
    total_sent_msat: int
    total_received_msat: int
    num_updates: int
    active: bool
    private: bool
    initiator: bool
    state: ChannelState
    local_policy: Policy
    remote_policy: Policy
    htlcs: tuple[HtlcView, ...] = ()


@dataclass(frozen=True, slots=True)
class ForceClosingView:
    """A force-closed channel whose own output is still time-locked."""

    channel: ChannelView
    closing_txid: str
    limbo_balance_sat: int
    maturity_height: int
    blocks_til_maturity: int


@dataclass(frozen=True, slots=True)
class PendingChannels:
    """LND's `PendingChannels`: opening, waiting for close confirmation, force closing."""

    pending_open: list[ChannelView]
    waiting_close: list[ChannelView]
    pending_force_closing: list[ForceClosingView]


@dataclass(frozen=True, slots=True)
class ClosedChannelView:
    """LND's `ChannelCloseSummary`; initiators are LOCAL or REMOTE."""

    chan_id: int
    channel_point: str
    remote_pubkey: str
    capacity_sat: int
    close_height: int
    closing_txid: str
    settled_balance_sat: int
    close_type: CloseType
    open_initiator: str
    close_initiator: str


@dataclass(frozen=True, slots=True)
class PeerView:
    """A connected peer (LND's `Peer`)."""

    pubkey: str
    address: str
    inbound: bool


@dataclass(frozen=True, slots=True)
class GraphNodeView:
    """LND's `NodeInfo` of the graph: the node and its public channels."""

    pubkey: str
    alias: str
    color: str
    last_update_s: int
    addresses: tuple[str, ...]
    num_channels: int
    total_capacity_sat: int
    #: The public open channels counted above, for ``include_channels`` answers.
    chan_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelFee:
    """One row of LND's `FeeReport.channel_fees`, inbound fees included."""

    chan_id: int
    channel_point: str
    base_fee_msat: int
    fee_rate_ppm: int
    inbound_base_fee_msat: int
    inbound_fee_rate_ppm: int


@dataclass(frozen=True, slots=True)
class FeeReport:
    """LND's `FeeReport`: policies and forwarding fee income over the last day/week/month."""

    channel_fees: list[ChannelFee]
    day_fee_sum_msat: int
    week_fee_sum_msat: int
    month_fee_sum_msat: int


@dataclass(frozen=True, slots=True)
class ChannelBalance:
    """LND's `ChannelBalanceResponse` in msat."""

    local_balance_msat: int
    remote_balance_msat: int
    pending_open_local_balance_msat: int
    pending_open_remote_balance_msat: int
    unsettled_local_balance_msat: int


class OurNode(WatchObserver):
    """The managed node of a `SimNetwork`, with LND's operations."""

    def __init__(self, network: SimNetwork, payer: Payer, pubkey: str) -> None:
        if pubkey not in network.nodes:
            raise ValueError(f"our node {pubkey} is not in the network")
        self.network = network
        self.payer = payer
        self.pubkey = pubkey
        self.forwards: list[Forward] = []
        self.htlc_events: list[HtlcEvent] = []
        self.payments: dict[str, Payment] = {}
        self._payment_order: list[str] = []
        self._connected: set[str] = set()
        self._htlc_listeners: list[Callable[[HtlcEvent], None]] = []
        self._channel_listeners: list[Callable[[Channel], None]] = []
        self._attempt_ids = 0
        network.watched = pubkey
        network.observer = self
        network.invoices.subscribe(self._on_invoice)

    @property
    def node(self) -> Node:
        return self.network.nodes[self.pubkey]

    # --- observer hooks (called by the network) --------------------------------------

    def on_forward(self, forward: Forward) -> None:
        self.forwards.append(forward)

    def on_htlc_event(self, event: HtlcEvent) -> None:
        self.htlc_events.append(event)
        for listener in list(self._htlc_listeners):
            listener(event)

    def on_channel_change(self, chan: Channel) -> None:
        for listener in list(self._channel_listeners):
            listener(chan)

    def _on_invoice(self, invoice: Invoice) -> None:
        """Payments to a hold invoice of another node resolve when that invoice does."""
        payment = self.payments.get(invoice.payment_hash)
        if payment is None or payment.status is not PaymentStatus.IN_FLIGHT:
            return
        if invoice.state is InvoiceState.SETTLED:
            payment.status = PaymentStatus.SUCCEEDED
            payment.preimage = invoice.preimage or ""
            for htlc in payment.htlcs:
                if htlc.status is HtlcStatus.IN_FLIGHT:
                    htlc.status = HtlcStatus.SUCCEEDED
                    htlc.resolve_ns = self.network.now_ns
        elif invoice.state is InvoiceState.CANCELED:
            payment.status = PaymentStatus.FAILED
            payment.fee_msat = 0
            payment.failure_reason = PaymentFailureReason.FAILURE_REASON_INCORRECT_PAYMENT_DETAILS
            for htlc in payment.htlcs:
                if htlc.status is HtlcStatus.IN_FLIGHT:
                    htlc.status = HtlcStatus.FAILED
                    htlc.resolve_ns = self.network.now_ns

    # --- node and chain --------------------------------------------------------------

    def get_info(self) -> NodeInfo:
        net = self.network
        views = self.channels()
        active = sum(1 for c in views if c.active)
        pending = self.pending_channels()
        height = net.chain.block_height
        return NodeInfo(
            identity_pubkey=self.pubkey,
            alias=self.node.alias,
            color=self.node.color,
            num_peers=len(self.peers()),
            num_active_channels=active,
            num_inactive_channels=len(views) - active,
            num_pending_channels=len(pending.pending_open),
            block_height=height,
            block_hash=hashlib.sha256(f"block-{height}".encode()).hexdigest(),
            best_header_timestamp_s=net.now_ns // 1_000_000_000,
            synced_to_chain=True,
            synced_to_graph=True,
            network=net.config.network_name,
            uris=(f"{self.pubkey}@{self.node.address}",),
        )

    def wallet_balance(self) -> tuple[int, int]:
        """(total_sat, confirmed_sat) on chain; everything here is confirmed."""
        balance = self.node.onchain_balance_sat
        return balance, balance

    def estimate_fee(self, amount_sat: int) -> tuple[int, int]:
        """(fee_sat, sat_per_vbyte) of a transaction paying ``amount_sat`` from the wallet:
        a funding transaction's size at the chain's one fee rate (no target is modelled)."""
        rate = self.network.chain.fee_rate_sat_per_vbyte
        fee_sat = FUNDING_TX_VBYTES * rate
        if self.node.onchain_balance_sat < amount_sat + fee_sat:
            raise SimNodeError("insufficient funds available to construct transaction")
        return fee_sat, rate

    def channel_balance(self) -> ChannelBalance:
        local = remote = pending_local = pending_remote = unsettled = 0
        for view in self._all_views():
            if view.state is ChannelState.OPEN:
                local += view.local_balance_msat
                remote += view.remote_balance_msat
                unsettled += view.unsettled_balance_msat
            elif view.state is ChannelState.PENDING_OPEN:
                pending_local += view.local_balance_msat
                pending_remote += view.remote_balance_msat
        return ChannelBalance(local, remote, pending_local, pending_remote, unsettled)

    # --- channels --------------------------------------------------------------------

    def _view(self, chan: Channel) -> ChannelView:
        side = chan.side_of(self.pubkey)
        other = 1 - side
        return ChannelView(
            chan_id=chan.chan_id,
            scid=chan.scid,
            channel_point=chan.channel_point,
            remote_pubkey=chan.peer_of(self.pubkey),
            capacity_sat=chan.capacity_sat,
            local_balance_msat=chan.balance_msat[side],
            remote_balance_msat=chan.balance_msat[other],
            local_reserve_sat=chan.reserve_sat_of(side),
            remote_reserve_sat=chan.reserve_sat_of(other),
            unsettled_balance_msat=chan.in_flight_msat[0] + chan.in_flight_msat[1],
            pending_htlcs=chan.in_flight_count[0] + chan.in_flight_count[1],
            total_sent_msat=chan.sent_msat[side],
            total_received_msat=chan.sent_msat[other],
            num_updates=chan.num_updates,
            active=self.network.is_active(chan),
            private=chan.private,
            initiator=chan.opener == self.pubkey,
            state=chan.state,
            local_policy=chan.policies[side].copy(),
            remote_policy=chan.policies[other].copy(),
            htlcs=self._held_htlcs(chan) if chan.in_flight_count != [0, 0] else (),
        )

    def _held_htlcs(self, chan: Channel) -> tuple[HtlcView, ...]:
        """The held HTLCs crossing `chan`: incoming when they cross it toward us."""
        found = []
        for payment_hash, items in self.network.held.items():
            for item in items:
                route = item.route
                for i, crossed in enumerate(route.channels):
                    if crossed.chan_id != chan.chan_id:
                        continue
                    toward = crossed.node2 if route.directions[i] == 0 else crossed.node1
                    found.append(
                        HtlcView(
                            incoming=toward == self.pubkey,
                            amount_msat=route.amounts_msat[i],
                            hash_lock=payment_hash,
                            expiration_height=route.expiries[i],
                            htlc_index=item.htlc_ids[i],
                        )
                    )
        return tuple(found)

    def _our_channels(self) -> list[Channel]:
        net = self.network
        return sorted(
            (c for c in net.channels.values() if self.pubkey in (c.node1, c.node2)),
            key=lambda c: c.chan_id,
        )

    def _all_views(self) -> list[ChannelView]:
        return [self._view(c) for c in self._our_channels()]

    def channels(
        self, *, active_only: bool = False, inactive_only: bool = False, peer: str | None = None
    ) -> list[ChannelView]:
        """Open channels (LND's ListChannels), optionally filtered."""
        views = [v for v in self._all_views() if v.state is ChannelState.OPEN]
        if active_only:
            views = [v for v in views if v.active]
        if inactive_only:
            views = [v for v in views if not v.active]
        if peer is not None:
            views = [v for v in views if v.remote_pubkey == peer]
        return views

    def channel(self, chan_id: int) -> Channel:
        """One of our channels by LND id, or SimNodeError."""
        chan = self.network.channels.get(chan_id)
        if chan is None or self.pubkey not in (chan.node1, chan.node2):
            raise SimNodeError(f"unable to find channel {chan_id}")
        return chan

    def channel_by_point(self, channel_point: str) -> Channel:
        chan = self.network.by_point.get(channel_point)
        if chan is None or self.pubkey not in (chan.node1, chan.node2):
            raise SimNodeError(f"unable to find channel with point {channel_point}")
        return chan

    def pending_channels(self) -> PendingChannels:
        height = self.network.chain.block_height
        opening: list[ChannelView] = []
        waiting: list[ChannelView] = []
        forcing: list[ForceClosingView] = []
        for chan in self._our_channels():
            if chan.state is ChannelState.PENDING_OPEN:
                opening.append(self._view(chan))
            elif chan.state is ChannelState.CLOSING:
                waiting.append(self._view(chan))
            elif chan.state is ChannelState.CLOSED and chan.maturity_height > height:
                view = self._view(chan)
                forcing.append(
                    ForceClosingView(
                        view,
                        chan.closing_txid,
                        view.local_balance_msat // 1000,
                        chan.maturity_height,
                        chan.maturity_height - height,
                    )
                )
        return PendingChannels(opening, waiting, forcing)

    def closed_channels(self) -> list[ClosedChannelView]:
        closed: list[ClosedChannelView] = []
        for chan in self._our_channels():
            if chan.state is not ChannelState.CLOSED or chan.close_type is None:
                continue
            side = chan.side_of(self.pubkey)
            closed.append(
                ClosedChannelView(
                    chan_id=chan.chan_id,
                    channel_point=chan.channel_point,
                    remote_pubkey=chan.peer_of(self.pubkey),
                    capacity_sat=chan.capacity_sat,
                    close_height=chan.close_height + 1,
                    closing_txid=chan.closing_txid,
                    settled_balance_sat=chan.balance_msat[side] // 1000,
                    close_type=chan.close_type,
                    open_initiator="LOCAL" if chan.opener == self.pubkey else "REMOTE",
                    close_initiator="LOCAL" if chan.close_initiator == self.pubkey else "REMOTE",
                )
            )
        return closed

    def open_channel(
        self,
        peer_pubkey: str,
        local_funding_amount_sat: int,
        push_sat: int = 0,
        *,
        private: bool = False,
        remote_reserve_sat: int | None = None,
    ) -> Channel:
        """Fund a channel; it is pending until the network's confirmation count is mined."""
        if peer_pubkey not in self.network.nodes:
            raise SimNodeError(f"peer {peer_pubkey} is not online")
        try:
            chan = self.network.open_channel(
                self.pubkey,
                peer_pubkey,
                local_funding_amount_sat,
                push_sat * 1000,
                private=private,
                acceptor_reserve_sat=remote_reserve_sat,
            )
        except ValueError as exc:
            raise SimNodeError(str(exc)) from exc
        self._connected.add(peer_pubkey)
        return chan

    def close_channel(self, channel_point: str, *, force: bool = False) -> str:
        """Start closing one of our channels; returns the closing txid."""
        chan = self.channel_by_point(channel_point)
        try:
            self.network.close_channel(chan.chan_id, self.pubkey, force=force)
        except ValueError as exc:
            raise SimNodeError(str(exc)) from exc
        return chan.closing_txid

    def update_channel_policy(
        self,
        channel_point: str | None = None,
        *,
        base_fee_msat: int | None = None,
        fee_rate_ppm: int | None = None,
        time_lock_delta: int | None = None,
        min_htlc_msat: int | None = None,
        max_htlc_msat: int | None = None,
        inbound_base_fee_msat: int | None = None,
        inbound_fee_rate_ppm: int | None = None,
    ) -> list[str]:
        """LND's UpdateChannelPolicy for one channel or, with no point, all of ours.

        Fields left as None keep their value: omitting the inbound fee does not reset it.
        Returns the channel points that could not be updated (LND's `failed_updates`).
        """
        changes: dict[str, int | bool] = {}
        for name, value in (
            ("base_fee_msat", base_fee_msat),
            ("fee_rate_ppm", fee_rate_ppm),
            ("cltv_delta", time_lock_delta),
            ("min_htlc_msat", min_htlc_msat),
            ("max_htlc_msat", max_htlc_msat),
            ("inbound_base_fee_msat", inbound_base_fee_msat),
            ("inbound_fee_rate_ppm", inbound_fee_rate_ppm),
        ):
            if value is not None:
                changes[name] = value
        if fee_rate_ppm is not None and fee_rate_ppm < 0:
            raise SimNodeError("fee rate must not be negative")
        if base_fee_msat is not None and base_fee_msat < 0:
            raise SimNodeError("base fee must not be negative")
        targets = (
            [self.channel_by_point(channel_point)]
            if channel_point is not None
            else [c for c in self._our_channels() if c.state is ChannelState.OPEN]
        )
        failed: list[str] = []
        for chan in targets:
            if max_htlc_msat is not None and max_htlc_msat > chan.capacity_sat * 1000:
                failed.append(chan.channel_point)
                continue
            if chan.state not in (ChannelState.OPEN, ChannelState.PENDING_OPEN):
                failed.append(chan.channel_point)
                continue
            self.network.update_policy(chan.chan_id, self.pubkey, **changes)
        return failed

    def set_channel_enabled(self, channel_point: str, enabled: bool) -> None:
        """LND's UpdateChanStatus ENABLE/DISABLE: our direction's disabled flag."""
        chan = self.channel_by_point(channel_point)
        if chan.state is not ChannelState.OPEN:
            raise SimNodeError(f"channel {channel_point} is not open")
        self.network.update_policy(chan.chan_id, self.pubkey, disabled=not enabled)

    def channel_backup(self, channel_point: str | None = None) -> dict[str, bytes]:
        """Static backup blobs per channel point (LND's ExportChannelBackup): every channel
        not closed yet, pending ones included, as LND's backups do."""
        key = scb.node_key(self.pubkey)
        blobs: dict[str, bytes] = {}
        for chan in self._our_channels():
            if chan.state is ChannelState.CLOSED:
                continue
            if channel_point is not None and chan.channel_point != channel_point:
                continue
            blobs[chan.channel_point] = scb.pack_single(
                key, chan.channel_point, chan.peer_of(self.pubkey)
            )
        if channel_point is not None and not blobs:
            raise SimNodeError(f"unable to find channel with point {channel_point}")
        return blobs

    def multi_channel_backup(self, blobs: dict[str, bytes]) -> bytes:
        """The multi-channel backup of `blobs` (from :meth:`channel_backup`)."""
        return scb.pack_multi(scb.node_key(self.pubkey), list(blobs.values()))

    def verify_channel_backup(self, *, multi: bytes | None, single: bytes | None) -> list[str]:
        """LND's VerifyChanBackup: the channel points a backup covers, or SimNodeError when
        this node cannot read it."""
        key = scb.node_key(self.pubkey)
        try:
            if multi is not None:
                return scb.unpack_multi(key, multi)
            if single is not None:
                return [scb.unpack_single(key, single)]
        except scb.BackupInvalid as exc:
            raise SimNodeError(str(exc)) from exc
        raise SimNodeError("either a Single or Multi channel backup must be specified")

    def fee_report(self) -> FeeReport:
        rows: list[ChannelFee] = []
        for chan in self._our_channels():
            if chan.state is not ChannelState.OPEN:
                continue
            policy = chan.policies[chan.side_of(self.pubkey)]
            rows.append(
                ChannelFee(
                    chan.chan_id,
                    chan.channel_point,
                    policy.base_fee_msat,
                    policy.fee_rate_ppm,
                    policy.inbound_base_fee_msat,
                    policy.inbound_fee_rate_ppm,
                )
            )
        now = self.network.now_ns
        day = week = month = 0
        for fwd in reversed(self.forwards):
            age = now - fwd.timestamp_ns
            if age > 30 * DAY_NS:
                break
            month += fwd.fee_msat
            if age <= 7 * DAY_NS:
                week += fwd.fee_msat
            if age <= DAY_NS:
                day += fwd.fee_msat
        return FeeReport(rows, day, week, month)

    def subscribe_channels(self, listener: Callable[[Channel], None]) -> Callable[[], None]:
        """Call `listener` when one of our channels changes state; returns the unsubscriber."""
        self._channel_listeners.append(listener)
        return lambda: self._channel_listeners.remove(listener)

    # --- peers and graph -------------------------------------------------------------

    def peers(self) -> list[PeerView]:
        """Online channel peers plus nodes connected by hand, sorted by pubkey."""
        net = self.network
        pubkeys = set(self._connected)
        for chan in self._our_channels():
            if chan.state in (ChannelState.OPEN, ChannelState.PENDING_OPEN):
                pubkeys.add(chan.peer_of(self.pubkey))
        return [
            PeerView(p, net.nodes[p].address, inbound=p not in self._connected)
            for p in sorted(pubkeys)
            if net.online.get(p, False)
        ]

    def connect_peer(self, pubkey: str) -> None:
        if pubkey == self.pubkey:
            raise SimNodeError("cannot make connection to self")
        if pubkey not in self.network.nodes or not self.network.online[pubkey]:
            raise SimNodeError(f"dial tcp: unable to reach peer {pubkey}")
        if pubkey in self._connected:
            raise SimNodeError(f"already connected to peer: {pubkey}")
        self._connected.add(pubkey)

    def disconnect_peer(self, pubkey: str) -> None:
        if pubkey not in {p.pubkey for p in self.peers()}:
            raise SimNodeError(f"peer {pubkey} is not connected")
        self._connected.discard(pubkey)

    def graph_node(self, pubkey: str) -> GraphNodeView:
        node = self.network.nodes.get(pubkey)
        if node is None:
            raise SimNodeError("unable to find node")
        chans = [
            self.network.channels[i]
            for i in node.channel_ids
            if self.network.channels[i].state is ChannelState.OPEN
            and not self.network.channels[i].private
        ]
        return GraphNodeView(
            pubkey=pubkey,
            alias=node.alias,
            color=node.color,
            last_update_s=node.last_update_ns // 1_000_000_000,
            addresses=(node.address,),
            num_channels=len(chans),
            total_capacity_sat=sum(c.capacity_sat for c in chans),
            chan_ids=tuple(c.chan_id for c in chans),
        )

    def graph(self) -> tuple[list[GraphNodeView], list[Channel]]:
        """The whole public graph as gossip knows it (LND's DescribeGraph): every node, and
        every public open channel (read their `policies`, do not mutate)."""
        nodes = [self.graph_node(pubkey) for pubkey in sorted(self.network.nodes)]
        edges = [
            c
            for _, c in sorted(self.network.channels.items())
            if c.state is ChannelState.OPEN and not c.private
        ]
        return nodes, edges

    def graph_edge(self, chan_id: int) -> Channel:
        """A channel of the graph as gossip knows it (read its `policies`, do not mutate)."""
        chan = self.network.channels.get(chan_id)
        if chan is None or chan.state is not ChannelState.OPEN:
            raise SimNodeError("edge not found")
        return chan

    # --- invoices --------------------------------------------------------------------

    def add_invoice(
        self,
        value_msat: int,
        memo: str = "",
        *,
        preimage: bytes | None = None,
        payment_hash: bytes | None = None,
        description_hash: bytes | None = None,
        expiry_s: int = 86400,
        cltv_expiry: int = 18,
        private: bool = False,
        hold: bool = False,
    ) -> Invoice:
        """A new invoice of ours (LND AddInvoice; `hold=True` or a hash alone: AddHoldInvoice)."""
        net = self.network
        entropy = hashlib.sha256(
            f"{net.seed}:{self.pubkey}:{len(net.invoices.of_node(self.pubkey))}".encode()
        ).digest()
        request = InvoiceRequest(
            value_msat,
            memo,
            preimage,
            payment_hash,
            description_hash,
            expiry_s,
            cltv_expiry,
            private,
            hold,
        )
        try:
            return net.invoices.create(self.node, request, net.now_ns, entropy)
        except ValueError as exc:
            raise SimNodeError(str(exc)) from exc

    def lookup_invoice(self, payment_hash: str) -> Invoice:
        invoice = self.network.invoices.by_hash(payment_hash)
        if invoice is None or invoice.node != self.pubkey:
            raise SimNodeError("unable to locate invoice")
        self._expire(invoice)
        return invoice

    def list_invoices(
        self,
        index_offset: int = 0,
        num_max_invoices: int = 100,
        *,
        reversed_order: bool = False,
        pending_only: bool = False,
    ) -> list[Invoice]:
        """LND's ListInvoices window by add_index (exclusive offset; reversed pages back)."""
        invoices = self.network.invoices.of_node(self.pubkey)
        for invoice in invoices:
            self._expire(invoice)
        if pending_only:
            invoices = [
                i for i in invoices if i.state in (InvoiceState.OPEN, InvoiceState.ACCEPTED)
            ]
        if reversed_order:
            upper = index_offset if index_offset else len(invoices) + 1
            chosen = [i for i in invoices if i.add_index < upper][-num_max_invoices:]
        else:
            chosen = [i for i in invoices if i.add_index > index_offset][:num_max_invoices]
        return chosen

    def settle_invoice(self, preimage: bytes) -> None:
        """Settle an accepted hold invoice of ours with its preimage."""
        payment_hash = hashlib.sha256(preimage).hexdigest()
        self.lookup_invoice(payment_hash)
        try:
            self.network.settle_held(payment_hash, preimage.hex())
        except ValueError as exc:
            raise SimNodeError(str(exc)) from exc

    def cancel_invoice(self, payment_hash: str) -> None:
        self.lookup_invoice(payment_hash)
        try:
            self.network.cancel_held(payment_hash)
        except ValueError as exc:
            raise SimNodeError(str(exc)) from exc

    def subscribe_invoices(self, listener: Callable[[Invoice], None]) -> Callable[[], None]:
        """Call `listener` whenever one of our invoices is added or changes state."""

        def ours(invoice: Invoice) -> None:
            if invoice.node == self.pubkey:
                listener(invoice)

        return self.network.invoices.subscribe(ours)

    async def invoice_updates(self) -> AsyncIterator[Invoice]:
        """Our invoice changes as an async stream (for LND's streaming subscribe endpoint)."""
        queue: asyncio.Queue[Invoice] = asyncio.Queue()
        unsubscribe = self.subscribe_invoices(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    def decode_payment_request(self, payment_request: str) -> Invoice:
        """The invoice behind a payment request issued in this network (LND's DecodePayReq)."""
        invoice = self.network.invoices.by_request(payment_request)
        if invoice is None:
            raise SimNodeError("invoice not for current active network or unknown")
        return invoice

    def _expire(self, invoice: Invoice) -> None:
        if invoice.state is InvoiceState.OPEN and invoice.expired(self.network.now_ns):
            self.network.invoices.cancel(invoice)

    # --- payments --------------------------------------------------------------------

    def send_payment(
        self,
        payment_request: str | None = None,
        *,
        dest: str | None = None,
        amt_msat: int | None = None,
        fee_limit_msat: int | None = None,
        outgoing_chan_ids: list[int] | None = None,
        last_hop_pubkey: str | None = None,
        allow_self_payment: bool = False,
        max_attempts: int = OUR_MAX_ATTEMPTS,
    ) -> Payment:
        """Pay a BOLT 11 request of this network, or spontaneously to `dest` (keysend).

        Routed over the simulated network with retries; the returned Payment is final unless
        the receiver holds it (IN_FLIGHT until its hold invoice resolves). Requests LND would
        reject before sending (unknown/expired invoice, already paid, no amount) raise.
        """
        net = self.network
        final_cltv = 18
        if payment_request is not None:
            invoice = net.invoices.by_request(payment_request)
            if invoice is None:
                raise SimNodeError("invoice not for current active network")
            if invoice.expired(net.now_ns):
                raise SimNodeError("invoice expired")
            destination = invoice.node
            payment_hash = invoice.payment_hash
            value_msat = invoice.value_msat or (amt_msat or 0)
            final_cltv = invoice.cltv_expiry
            if amt_msat and invoice.value_msat and amt_msat != invoice.value_msat:
                raise SimNodeError("amount must not be specified when paying a non-zero invoice")
        else:
            if dest is None or not amt_msat:
                raise SimNodeError("a destination and an amount are needed without an invoice")
            destination = dest
            preimage = hashlib.sha256(f"keysend:{net.now_ns}:{len(self.payments)}".encode())
            payment_hash = hashlib.sha256(preimage.digest()).hexdigest()
            value_msat = amt_msat
        if value_msat <= 0:
            raise SimNodeError("amount must be specified when paying a zero amount invoice")
        if destination == self.pubkey and not allow_self_payment:
            raise SimNodeError("no self-payments allowed")
        existing = self.payments.get(payment_hash)
        if existing is not None and existing.status is not PaymentStatus.FAILED:
            raise SimNodeError(
                "invoice is already paid"
                if existing.status is PaymentStatus.SUCCEEDED
                else "payment is in transition"
            )
        payment = Payment(
            payment_hash=payment_hash,
            value_msat=value_msat,
            creation_ns=net.now_ns,
            payment_index=len(self._payment_order) + 1,
            payment_request=payment_request or "",
            destination=destination,
        )
        self._remember(payment)
        limits = SearchLimits(
            fee_limit_msat=fee_limit_msat,
            outgoing_chan_ids=frozenset(outgoing_chan_ids) if outgoing_chan_ids else None,
            last_hop_pubkey=last_hop_pubkey,
        )
        outcome = self.payer.pay(
            self.pubkey,
            destination,
            value_msat,
            payment_hash if payment_request is not None else None,
            limits,
            max_attempts,
            final_cltv,
        )
        self._record_outcome(payment, outcome)
        return payment

    def _remember(self, payment: Payment) -> None:
        if payment.payment_hash not in self.payments:
            self._payment_order.append(payment.payment_hash)
        self.payments[payment.payment_hash] = payment

    def _record_outcome(self, payment: Payment, outcome: PaymentOutcome) -> None:
        now = self.network.now_ns
        for route, failure in outcome.attempts:
            self._attempt_ids += 1
            htlc = HtlcAttempt(
                attempt_id=self._attempt_ids,
                route=route,
                status=HtlcStatus.FAILED if failure is not None else HtlcStatus.SUCCEEDED,
                attempt_ns=now,
                resolve_ns=now,
            )
            if failure is not None:
                htlc.failure_wire = failure.wire
                htlc.failure_detail = failure.detail
                htlc.failure_source_index = failure.hop_index
                htlc.failure_chan_id = failure.chan_id
            payment.htlcs.append(htlc)
        if outcome.status is AttemptStatus.SETTLED:
            payment.status = PaymentStatus.SUCCEEDED
            payment.fee_msat = outcome.fee_msat
            invoice = self.network.invoices.by_hash(payment.payment_hash)
            payment.preimage = invoice.preimage or "" if invoice is not None else ""
        elif outcome.status is AttemptStatus.HELD:
            payment.status = PaymentStatus.IN_FLIGHT
            payment.fee_msat = outcome.fee_msat
            payment.htlcs[-1].status = HtlcStatus.IN_FLIGHT
        else:
            payment.status = PaymentStatus.FAILED
            payment.failure_reason = outcome.failure_reason

    def lookup_payment(self, payment_hash: str) -> Payment:
        payment = self.payments.get(payment_hash)
        if payment is None:
            raise SimNodeError("payment isn't initiated")
        return payment

    def list_payments(
        self,
        index_offset: int = 0,
        max_payments: int = 100,
        *,
        include_incomplete: bool = True,
        reversed_order: bool = False,
    ) -> list[Payment]:
        """LND's ListPayments window by payment_index (exclusive offset)."""
        payments = [self.payments[h] for h in self._payment_order]
        if not include_incomplete:
            payments = [p for p in payments if p.status is PaymentStatus.SUCCEEDED]
        if reversed_order:
            upper = index_offset if index_offset else len(self._payment_order) + 1
            return [p for p in payments if p.payment_index < upper][-max_payments:]
        return [p for p in payments if p.payment_index > index_offset][:max_payments]

    def query_routes(
        self,
        dest: str,
        amt_msat: int,
        *,
        fee_limit_msat: int | None = None,
        outgoing_chan_ids: list[int] | None = None,
        last_hop_pubkey: str | None = None,
        ignored_pairs: list[tuple[str, str]] | None = None,
        final_cltv_delta: int = 18,
    ) -> list[Route]:
        """The route our node would try now (LND's QueryRoutes returns one)."""
        limits = SearchLimits(
            fee_limit_msat,
            frozenset(outgoing_chan_ids) if outgoing_chan_ids else None,
            last_hop_pubkey,
            frozenset(ignored_pairs or ()),
        )
        try:
            return [self.payer.find_route(self.pubkey, dest, amt_msat, limits, final_cltv_delta)]
        except NoRouteError as exc:
            raise SimNodeError(f"unable to find a path to destination: {exc}") from exc

    def build_route(
        self,
        amt_msat: int,
        hop_pubkeys: list[str],
        *,
        outgoing_chan_id: int | None = None,
        final_cltv_delta: int = 18,
    ) -> Route:
        """LND's BuildRoute: fees and time locks for a given node sequence.

        Between two hops the open channel with the most capacity is used (our first hop:
        `outgoing_chan_id` if given).
        """
        net = self.network
        path: list[tuple[Channel, int]] = []
        previous = self.pubkey
        for i, pubkey in enumerate(hop_pubkeys):
            candidates = (
                [
                    c
                    for c in (net.channels[cid] for cid in net.nodes[previous].channel_ids)
                    if c.state is ChannelState.OPEN and c.peer_of(previous) == pubkey
                ]
                if previous in net.nodes
                else []
            )
            if i == 0 and outgoing_chan_id is not None:
                candidates = [c for c in candidates if c.chan_id == outgoing_chan_id]
            if not candidates:
                raise SimNodeError(f"no channel from {previous} to {pubkey}")
            chan = max(candidates, key=lambda c: (c.capacity_sat, c.chan_id))
            path.append((chan, chan.side_of(previous)))
            previous = pubkey
        try:
            return build_route(
                self.pubkey, path, amt_msat, net.chain.block_height, final_cltv_delta
            )
        except NoRouteError as exc:
            raise SimNodeError(str(exc)) from exc

    def send_to_route(
        self, payment_hash: str, route: Route, *, keysend_preimage: bytes | None = None
    ) -> HtlcAttempt:
        """One HTLC along a given route (LND's SendToRouteV2); no retry, no route search.

        As on LND, the final node settles only a hash it has an invoice for (ours too: a
        circular rebalance pays our own invoice) or a keysend whose preimage the last hop
        carries; any other hash fails there with INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS.
        """
        net = self.network
        keysend = None
        if keysend_preimage and hashlib.sha256(keysend_preimage).hexdigest() == payment_hash:
            keysend = keysend_preimage.hex()
        if route.source != self.pubkey:
            raise SimNodeError("route does not start at our node")
        payment = self.payments.get(payment_hash)
        if payment is None or payment.status is PaymentStatus.FAILED:
            payment = Payment(
                payment_hash=payment_hash,
                value_msat=route.amounts_msat[-1],
                creation_ns=net.now_ns,
                payment_index=len(self._payment_order) + 1,
                destination=route.destination,
            )
            self._remember(payment)
        elif payment.status is PaymentStatus.SUCCEEDED:
            raise SimNodeError("invoice is already paid")
        status, failure = net.execute(route, None if keysend is not None else payment_hash)
        outcome = PaymentOutcome(status, [(route, failure)])
        if failure is not None:
            outcome.failure_reason = PaymentFailureReason.FAILURE_REASON_ERROR
        self._record_outcome(payment, outcome)
        if keysend is not None and status is AttemptStatus.SETTLED:
            payment.preimage = keysend
        return payment.htlcs[-1]

    # --- forwards and HTLC events ----------------------------------------------------

    def forwarding_history(
        self,
        start_time_ns: int = 0,
        end_time_ns: int | None = None,
        index_offset: int = 0,
        num_max_events: int = 100,
    ) -> tuple[list[Forward], int]:
        """LND's ForwardingHistory: a window of forwards in time, paged by offset.

        Returns the events and `last_offset_index` to pass as the next `index_offset`.
        """
        end = end_time_ns if end_time_ns is not None else self.network.now_ns + 1
        in_window = [f for f in self.forwards if start_time_ns <= f.timestamp_ns < end]
        page = in_window[index_offset : index_offset + num_max_events]
        return page, index_offset + len(page)

    def subscribe_htlc_events(self, listener: Callable[[HtlcEvent], None]) -> Callable[[], None]:
        """Call `listener` for each new HTLC event of our node; returns the unsubscriber."""
        self._htlc_listeners.append(listener)
        return lambda: self._htlc_listeners.remove(listener)

    async def htlc_event_stream(self) -> AsyncIterator[HtlcEvent]:
        """HTLC events as an async stream (for LND's `SubscribeHtlcEvents`)."""
        queue: asyncio.Queue[HtlcEvent] = asyncio.Queue()
        unsubscribe = self.subscribe_htlc_events(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()
