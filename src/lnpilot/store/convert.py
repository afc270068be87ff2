"""Domain objects to table rows and back, field for field, so what is stored reads back equal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from lnpilot.base.domain import (
    Channel,
    ChannelPolicy,
    ChannelState,
    ClosedChannel,
    CloseType,
    FailedForward,
    Forward,
    Initiator,
    Peer,
)
from lnpilot.store.levels import time_from_ns
from lnpilot.store.records import Direction, PolicyRecord, PolicySource
from lnpilot.store.tables import POLICY_FIELDS

Row = RowMapping
POLICY_NAMES = tuple(name for name, _ in POLICY_FIELDS)


def channel_row(node_id: int, channel: Channel, at: datetime) -> dict[str, Any]:
    """The ``channels`` row of an open or pending channel as listed at ``at``."""
    return {
        "node_id": node_id,
        "channel_point": channel.channel_point,
        "scid": channel.scid,
        "chan_id": channel.chan_id,
        "peer_pubkey": channel.peer_pubkey,
        "peer_alias": channel.peer_alias,
        "state": channel.state.value,
        "capacity_sat": channel.capacity_sat,
        "local_balance_msat": channel.local_balance_msat,
        "remote_balance_msat": channel.remote_balance_msat,
        "unsettled_balance_msat": channel.unsettled_balance_msat,
        "num_pending_htlcs": channel.num_pending_htlcs,
        "private": channel.private,
        "open_initiator": channel.initiator.value,
        "local_reserve_sat": channel.local_reserve_sat,
        "remote_reserve_sat": channel.remote_reserve_sat,
        "total_sent_msat": channel.total_sent_msat,
        "total_received_msat": channel.total_received_msat,
        "uptime_s": channel.uptime_s,
        "lifetime_s": channel.lifetime_s,
        "opened_at_height": channel.opened_at_height,
        "first_seen_at": at,
        "last_seen_at": at,
    }


#: The ``channels`` columns :func:`channel_from_row` reads (not the bookkeeping times).
CHANNEL_COLUMNS = (
    "scid",
    "chan_id",
    "channel_point",
    "peer_pubkey",
    "capacity_sat",
    "local_balance_msat",
    "remote_balance_msat",
    "state",
    "peer_alias",
    "private",
    "open_initiator",
    "local_reserve_sat",
    "remote_reserve_sat",
    "unsettled_balance_msat",
    "num_pending_htlcs",
    "total_sent_msat",
    "total_received_msat",
    "uptime_s",
    "lifetime_s",
    "opened_at_height",
)


def channel_from_row(
    row: Row, local_policy: ChannelPolicy | None, remote_policy: ChannelPolicy | None
) -> Channel:
    return Channel(
        scid=row["scid"],
        chan_id=row["chan_id"],
        channel_point=row["channel_point"],
        peer_pubkey=row["peer_pubkey"],
        capacity_sat=row["capacity_sat"],
        local_balance_msat=row["local_balance_msat"],
        remote_balance_msat=row["remote_balance_msat"],
        state=ChannelState(row["state"]),
        peer_alias=row["peer_alias"],
        private=row["private"],
        initiator=Initiator(row["open_initiator"]),
        local_reserve_sat=row["local_reserve_sat"],
        remote_reserve_sat=row["remote_reserve_sat"],
        unsettled_balance_msat=row["unsettled_balance_msat"],
        num_pending_htlcs=row["num_pending_htlcs"],
        total_sent_msat=row["total_sent_msat"],
        total_received_msat=row["total_received_msat"],
        uptime_s=row["uptime_s"],
        lifetime_s=row["lifetime_s"],
        local_policy=local_policy,
        remote_policy=remote_policy,
        opened_at_height=row["opened_at_height"],
    )


def closed_channel_row(node_id: int, closed: ClosedChannel, at: datetime) -> dict[str, Any]:
    """The ``channels`` row of a closed channel: nothing left in it, the close recorded."""
    return {
        "node_id": node_id,
        "channel_point": closed.channel_point,
        "scid": closed.scid,
        "chan_id": closed.chan_id,
        "peer_pubkey": closed.peer_pubkey,
        "state": ChannelState.CLOSED.value,
        "capacity_sat": closed.capacity_sat,
        "local_balance_msat": 0,
        "remote_balance_msat": 0,
        "unsettled_balance_msat": 0,
        "num_pending_htlcs": 0,
        "private": False,
        "open_initiator": closed.open_initiator.value,
        "close_type": closed.close_type.value,
        "close_initiator": closed.close_initiator.value,
        "closing_txid": closed.closing_txid,
        "close_height": closed.close_height,
        "settled_balance_sat": closed.settled_balance_sat,
        "first_seen_at": at,
        "last_seen_at": at,
        "closed_seen_at": at,
    }


def closed_channel_from_row(row: Row) -> ClosedChannel:
    return ClosedChannel(
        scid=row["scid"],
        chan_id=row["chan_id"],
        channel_point=row["channel_point"],
        peer_pubkey=row["peer_pubkey"],
        capacity_sat=row["capacity_sat"],
        settled_balance_sat=row["settled_balance_sat"],
        close_type=CloseType(row["close_type"]),
        open_initiator=Initiator(row["open_initiator"]),
        close_initiator=Initiator(row["close_initiator"]),
        closing_txid=row["closing_txid"],
        close_height=row["close_height"],
    )


def policy_columns(policy: ChannelPolicy | None, prefix: str = "") -> dict[str, Any]:
    """The policy fields as columns (``local_fee_rate_ppm`` with prefix ``local_``)."""
    return {f"{prefix}{name}": getattr(policy, name, None) for name in POLICY_NAMES}


def snapshot_row(node_id: int, channel: Channel, at: datetime) -> dict[str, Any]:
    """A ``channel_snapshots`` row; the channel must have its chan_id (be confirmed)."""
    return {
        "node_id": node_id,
        "chan_id": channel.chan_id,
        "at": at,
        "local_balance_msat": channel.local_balance_msat,
        "remote_balance_msat": channel.remote_balance_msat,
        "capacity_sat": channel.capacity_sat,
        "active": channel.state is ChannelState.ACTIVE,
        "num_pending_htlcs": channel.num_pending_htlcs,
        "unsettled_balance_msat": channel.unsettled_balance_msat,
        **policy_columns(channel.local_policy, "local_"),
        **policy_columns(channel.remote_policy, "remote_"),
    }


def policy_record_row(node_id: int, record: PolicyRecord) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "chan_id": record.chan_id,
        "direction": record.direction.value,
        "source": record.source.value,
        "at": record.at,
        **policy_columns(record.policy),
        "last_update": record.policy.last_update,
    }


def policy_from_row(row: Row) -> ChannelPolicy:
    return ChannelPolicy(
        **{name: row[name] for name in POLICY_NAMES}, last_update=row["last_update"]
    )


def policy_record_from_row(row: Row) -> PolicyRecord:
    return PolicyRecord(
        chan_id=row["chan_id"],
        direction=Direction(row["direction"]),
        source=PolicySource(row["source"]),
        at=row["at"],
        policy=policy_from_row(row),
    )


def forward_row(node_id: int, forward: Forward) -> dict[str, Any]:
    """The ``forwards`` row; its time is ``timestamp_ns`` alone, so ``timestamp`` must be
    that instant (to the microsecond, as the node backends derive it)."""
    if forward.timestamp != time_from_ns(forward.timestamp_ns):
        raise ValueError(f"forward timestamp disagrees with its timestamp_ns: {forward!r}")
    return {
        "node_id": node_id,
        "timestamp_ns": forward.timestamp_ns,
        "chan_id_in": forward.chan_id_in,
        "chan_id_out": forward.chan_id_out,
        "amt_in_msat": forward.amt_in_msat,
        "amt_out_msat": forward.amt_out_msat,
        "fee_msat": forward.fee_msat,
        "incoming_htlc_id": forward.incoming_htlc_id,
        "outgoing_htlc_id": forward.outgoing_htlc_id,
    }


def forward_from_row(row: Row) -> Forward:
    return Forward(
        timestamp=time_from_ns(row["timestamp_ns"]),
        timestamp_ns=row["timestamp_ns"],
        chan_id_in=row["chan_id_in"],
        chan_id_out=row["chan_id_out"],
        amt_in_msat=row["amt_in_msat"],
        amt_out_msat=row["amt_out_msat"],
        fee_msat=row["fee_msat"],
        incoming_htlc_id=row["incoming_htlc_id"],
        outgoing_htlc_id=row["outgoing_htlc_id"],
    )


def failed_forward_row(node_id: int, failed: FailedForward) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "at": failed.timestamp,
        "chan_id_in": failed.chan_id_in,
        "chan_id_out": failed.chan_id_out,
        "amt_in_msat": failed.amt_in_msat,
        "amt_out_msat": failed.amt_out_msat,
        "failure": failed.failure,
        "event_type": failed.event_type,
        "incoming_htlc_id": failed.incoming_htlc_id,
        "outgoing_htlc_id": failed.outgoing_htlc_id,
    }


def failed_forward_from_row(row: Row) -> FailedForward:
    return FailedForward(
        timestamp=row["at"],
        chan_id_in=row["chan_id_in"],
        chan_id_out=row["chan_id_out"],
        amt_in_msat=row["amt_in_msat"],
        amt_out_msat=row["amt_out_msat"],
        failure=row["failure"],
        event_type=row["event_type"],
        incoming_htlc_id=row["incoming_htlc_id"],
        outgoing_htlc_id=row["outgoing_htlc_id"],
    )


def peer_row(node_id: int, peer: Peer, at: datetime) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "pubkey": peer.pubkey,
        "alias": peer.alias,
        "address": peer.address,
        "connected": peer.connected,
        "ping_time_us": peer.ping_time_us,
        "flap_count": peer.flap_count,
        "last_flap_at": peer.last_flap_at,
        "first_seen_at": at,
        "last_seen_at": at,
    }


def peer_from_row(row: Row) -> Peer:
    return Peer(
        pubkey=row["pubkey"],
        alias=row["alias"],
        address=row["address"],
        connected=row["connected"],
        ping_time_us=row["ping_time_us"],
        flap_count=row["flap_count"],
        last_flap_at=row["last_flap_at"],
    )
