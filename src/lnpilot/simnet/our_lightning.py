"""LND's Lightning service on our simulated node: the node and its chain wallet, channels
(list, pending, closed, open, close, policies, enable/disable), static channel backups, the
fee report, peers, and the forwarding history, with the channel-change stream."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from lnpilot.simnet import scb
from lnpilot.simnet.model import Channel, ChannelState
from lnpilot.simnet.network import FUNDING_TX_VBYTES
from lnpilot.simnet.our_state import OurNodeState
from lnpilot.simnet.our_views import (
    ChannelBalance,
    ChannelFee,
    ChannelView,
    ClosedChannelView,
    FeeReport,
    ForceClosingView,
    HtlcView,
    NodeInfo,
    PeerView,
    PendingChannels,
    SimNodeError,
)
from lnpilot.simnet.records import Forward

DAY_NS = 86_400 * 1_000_000_000


class LightningService(OurNodeState):
    """GetInfo, balances, channels, policies, backups, peers, forwards (LND's Lightning)."""

    def on_forward(self, forward: Forward) -> None:
        self.forwards.append(forward)

    def on_channel_change(self, chan: Channel) -> None:
        for listener in list(self._channel_listeners):
            listener(chan)

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
