"""Domain objects for store tests, valid and varied enough to catch mix-ups of fields."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from lnpilot.base.domain import (
    Channel,
    ChannelPolicy,
    ChannelState,
    FailedForward,
    Forward,
    Initiator,
    NodeInfo,
    Peer,
    scid_from_chan_id,
)
from lnpilot.store import Store
from lnpilot.store.levels import EPOCH

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_pubkeys = itertools.count(1)


def pubkey(n: int | None = None) -> str:
    """A distinct, well-formed compressed pubkey per call (or per ``n``)."""
    return f"02{(next(_pubkeys) if n is None else n):064x}"


def chan_id(block: int, tx: int = 1, out: int = 0) -> int:
    return block << 40 | tx << 16 | out


async def new_node(store: Store, at: datetime = T0) -> int:
    """A node of its own, so tests and hypothesis examples never share rows."""
    async with store.transaction() as tx:
        return await tx.upsert_node(
            NodeInfo(pubkey=pubkey(), alias="ours", block_height=800_000, synced_to_chain=True),
            at,
        )


def policy(fee_rate_ppm: int = 100, **fields: object) -> ChannelPolicy:
    return ChannelPolicy(base_fee_msat=1000, fee_rate_ppm=fee_rate_ppm, **fields)  # type: ignore[arg-type]


def channel(
    cid: int,
    *,
    local_msat: int = 600_000_000,
    capacity_sat: int = 1_000_000,
    state: ChannelState = ChannelState.ACTIVE,
    local_policy: ChannelPolicy | None = None,
    remote_policy: ChannelPolicy | None = None,
    peer: str | None = None,
) -> Channel:
    return Channel(
        scid=scid_from_chan_id(cid),
        chan_id=cid,
        channel_point=f"{cid:064x}:1",
        peer_pubkey=peer or pubkey(cid % 1000),
        capacity_sat=capacity_sat,
        local_balance_msat=local_msat,
        remote_balance_msat=capacity_sat * 1000 - local_msat - 3_000_000,
        state=state,
        peer_alias=f"peer-{cid % 1000}",
        initiator=Initiator.LOCAL,
        local_reserve_sat=10_000,
        remote_reserve_sat=10_000,
        unsettled_balance_msat=0,
        num_pending_htlcs=cid % 3,
        total_sent_msat=5_000_000,
        total_received_msat=7_000_000,
        uptime_s=3600,
        lifetime_s=7200,
        local_policy=local_policy,
        remote_policy=remote_policy,
        opened_at_height=cid >> 40,
    )


def forward(
    at: datetime,
    cin: int,
    cout: int,
    amt_out_msat: int = 100_000,
    fee_msat: int = 10,
    htlc: int = 0,
) -> Forward:
    ns = (at - EPOCH) // timedelta(microseconds=1) * 1000
    return Forward(
        timestamp=at,
        timestamp_ns=ns,
        chan_id_in=cin,
        chan_id_out=cout,
        amt_in_msat=amt_out_msat + fee_msat,
        amt_out_msat=amt_out_msat,
        fee_msat=fee_msat,
        incoming_htlc_id=htlc,
        outgoing_htlc_id=htlc + 7,
    )


def failed(at: datetime, cin: int | None, cout: int | None) -> FailedForward:
    return FailedForward(
        timestamp=at,
        chan_id_in=cin,
        chan_id_out=cout,
        amt_in_msat=1_000_010,
        amt_out_msat=1_000_000,
        failure="INSUFFICIENT_BALANCE",
        incoming_htlc_id=1,
        outgoing_htlc_id=None,
    )


def peer(n: int, *, connected: bool = True) -> Peer:
    return Peer(
        pubkey=pubkey(n), alias=f"peer-{n}", address=f"10.0.0.{n}:9735", connected=connected
    )
