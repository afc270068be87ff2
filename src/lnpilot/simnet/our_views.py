"""What our simulated node answers, in LND's shapes: the views its services return.

`OurNode` (`lnpilot.simnet.our_node`) speaks LND's concepts in lnpilot's units (msat, ns,
hex); these are its answers, which the LND REST face turns into LND's JSON. They live apart
from the services so that the face and the tests read the types without the behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

from lnpilot.simnet.model import ChannelState, CloseType, Policy


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
