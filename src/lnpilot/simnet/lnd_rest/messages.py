"""LND's REST messages, encoded exactly as LND's grpc-gateway encodes them.

LND serves its gRPC API over REST through grpc-gateway with protojson (proto field names,
unpopulated fields emitted). Clients such as LNbits' ``LndRestWallet`` index fields directly,
so the simulated node must speak the same dialect or they break in ways that only show up
against a real LND:

- 64-bit integers (``int64``/``uint64``) are JSON strings, 32-bit ones JSON numbers;
- ``bytes`` fields are standard base64 (requests may use the URL-safe alphabet too);
- enums travel by name;
- every scalar, list and map field is present with its zero value when unset. Unset
  sub-messages and unset ``oneof`` members are left out (LND writes ``null`` for the former;
  no client here tells the two apart, and leaving them out keeps one rule for both).

The classes mirror the proto messages named in ``../shared/specs/lnd/*.swagger.json`` (the
``lnrpc``/``routerrpc``/``invoicesrpc`` prefix dropped, a few nested names shortened), field for
field and in proto order. The same classes parse requests: grpc-gateway accepts a 64-bit
integer as a string or a number and a field by its proto name or its lowerCamelCase JSON name,
ignores unknown fields and reads ``null`` as unset; so do these.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic.alias_generators import to_camel


def decode_b64(value: str) -> bytes:
    """Decode base64 the way grpc-gateway does: standard or URL-safe, padding optional."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from exc


def _bytes_in(value: Any) -> Any:
    """Requests carry bytes as base64 text; already-decoded bytes pass through."""
    if isinstance(value, str):
        return decode_b64(value)
    return value


def _bytes_out(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


Int64 = Annotated[int, PlainSerializer(str, return_type=str)]
"""A proto ``int64``: a JSON string on the wire, a string or a number accepted."""

UInt64 = Annotated[int, Field(ge=0), PlainSerializer(str, return_type=str)]
"""A proto ``uint64``: as ``Int64``, never negative."""

Bytes = Annotated[bytes, BeforeValidator(_bytes_in), PlainSerializer(_bytes_out, return_type=str)]
"""A proto ``bytes`` field: standard base64 text on the wire."""


def _validation_aliases(name: str) -> AliasChoices:
    return AliasChoices(name, to_camel(name))


class LndMessage(BaseModel):
    """Base of every message: parsing and encoding rules shared with grpc-gateway."""

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=_validation_aliases),
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        """protojson reads ``null`` as "field not set" (LNbits sends ``sat_per_vbyte: null``)."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    def to_json(self) -> dict[str, Any]:
        """The message as LND's REST API writes it."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Amount(LndMessage):
    sat: UInt64 = 0
    msat: UInt64 = 0


class ChannelBalanceResponse(LndMessage):
    balance: Int64 = 0
    pending_open_balance: Int64 = 0
    local_balance: Amount | None = None
    remote_balance: Amount | None = None
    unsettled_local_balance: Amount | None = None
    unsettled_remote_balance: Amount | None = None
    pending_open_local_balance: Amount | None = None
    pending_open_remote_balance: Amount | None = None
    custom_channel_data: Bytes = b""


class HopHint(LndMessage):
    node_id: str = ""
    chan_id: UInt64 = 0
    fee_base_msat: int = 0
    fee_proportional_millionths: int = 0
    cltv_expiry_delta: int = 0


class RouteHint(LndMessage):
    hop_hints: list[HopHint] = Field(default_factory=list)


class InvoiceState(StrEnum):
    OPEN = "OPEN"
    SETTLED = "SETTLED"
    CANCELED = "CANCELED"
    ACCEPTED = "ACCEPTED"


class InvoiceHTLCState(StrEnum):
    ACCEPTED = "ACCEPTED"
    SETTLED = "SETTLED"
    CANCELED = "CANCELED"


class AMP(LndMessage):
    root_share: Bytes = b""
    set_id: Bytes = b""
    child_index: int = 0
    hash: Bytes = b""
    preimage: Bytes = b""


class InvoiceHTLC(LndMessage):
    chan_id: UInt64 = 0
    htlc_index: UInt64 = 0
    amt_msat: UInt64 = 0
    accept_height: int = 0
    accept_time: Int64 = 0
    resolve_time: Int64 = 0
    expiry_height: int = 0
    state: InvoiceHTLCState = InvoiceHTLCState.ACCEPTED
    custom_records: dict[str, Bytes] = Field(default_factory=dict)
    mpp_total_amt_msat: UInt64 = 0
    amp: AMP | None = None
    custom_channel_data: Bytes = b""


class Feature(LndMessage):
    name: str = ""
    is_required: bool = False
    is_known: bool = False


class AMPInvoiceState(LndMessage):
    state: InvoiceHTLCState = InvoiceHTLCState.ACCEPTED
    settle_index: UInt64 = 0
    settle_time: Int64 = 0
    amt_paid_msat: Int64 = 0


class BlindedPathConfig(LndMessage):
    min_num_real_hops: int = 0
    num_hops: int = 0
    max_num_paths: int = 0
    node_omission_list: list[Bytes] = Field(default_factory=list)
    incoming_channel_list: list[UInt64] = Field(default_factory=list)


class Invoice(LndMessage):
    memo: str = ""
    r_preimage: Bytes = b""
    r_hash: Bytes = b""
    value: Int64 = 0
    value_msat: Int64 = 0
    settled: bool = False
    creation_date: Int64 = 0
    settle_date: Int64 = 0
    payment_request: str = ""
    description_hash: Bytes = b""
    expiry: Int64 = 0
    fallback_addr: str = ""
    cltv_expiry: UInt64 = 0
    route_hints: list[RouteHint] = Field(default_factory=list)
    private: bool = False
    add_index: UInt64 = 0
    settle_index: UInt64 = 0
    amt_paid: Int64 = 0
    amt_paid_sat: Int64 = 0
    amt_paid_msat: Int64 = 0
    state: InvoiceState = InvoiceState.OPEN
    htlcs: list[InvoiceHTLC] = Field(default_factory=list)
    features: dict[str, Feature] = Field(default_factory=dict)
    is_keysend: bool = False
    payment_addr: Bytes = b""
    is_amp: bool = False
    amp_invoice_state: dict[str, AMPInvoiceState] = Field(default_factory=dict)
    is_blinded: bool = False
    blinded_path_config: BlindedPathConfig | None = None


class AddInvoiceResponse(LndMessage):
    r_hash: Bytes = b""
    payment_request: str = ""
    add_index: UInt64 = 0
    payment_addr: Bytes = b""


class ListInvoiceResponse(LndMessage):
    invoices: list[Invoice] = Field(default_factory=list)
    last_index_offset: UInt64 = 0
    first_index_offset: UInt64 = 0


class Chain(LndMessage):
    chain: str = ""
    network: str = ""


class GraphCacheStatus(StrEnum):
    GRAPH_CACHE_STATUS_DISABLED = "GRAPH_CACHE_STATUS_DISABLED"
    GRAPH_CACHE_STATUS_LOADING = "GRAPH_CACHE_STATUS_LOADING"
    GRAPH_CACHE_STATUS_LOADED = "GRAPH_CACHE_STATUS_LOADED"
    GRAPH_CACHE_STATUS_FAILED = "GRAPH_CACHE_STATUS_FAILED"


class GetInfoResponse(LndMessage):
    version: str = ""
    commit_hash: str = ""
    identity_pubkey: str = ""
    alias: str = ""
    color: str = ""
    num_pending_channels: int = 0
    num_active_channels: int = 0
    num_inactive_channels: int = 0
    num_peers: int = 0
    block_height: int = 0
    block_hash: str = ""
    best_header_timestamp: Int64 = 0
    synced_to_chain: bool = False
    synced_to_graph: bool = False
    testnet: bool = False
    chains: list[Chain] = Field(default_factory=list)
    uris: list[str] = Field(default_factory=list)
    features: dict[str, Feature] = Field(default_factory=dict)
    require_htlc_interceptor: bool = False
    store_final_htlc_resolutions: bool = False
    wallet_synced: bool = False
    graph_cache_status: GraphCacheStatus = GraphCacheStatus.GRAPH_CACHE_STATUS_DISABLED


class PeerSyncType(StrEnum):
    UNKNOWN_SYNC = "UNKNOWN_SYNC"
    ACTIVE_SYNC = "ACTIVE_SYNC"
    PASSIVE_SYNC = "PASSIVE_SYNC"
    PINNED_SYNC = "PINNED_SYNC"


class TimestampedError(LndMessage):
    timestamp: UInt64 = 0
    error: str = ""


class Peer(LndMessage):
    pub_key: str = ""
    address: str = ""
    bytes_sent: UInt64 = 0
    bytes_recv: UInt64 = 0
    sat_sent: Int64 = 0
    sat_recv: Int64 = 0
    inbound: bool = False
    ping_time: Int64 = 0
    sync_type: PeerSyncType = PeerSyncType.UNKNOWN_SYNC
    features: dict[str, Feature] = Field(default_factory=dict)
    errors: list[TimestampedError] = Field(default_factory=list)
    flap_count: int = 0
    last_flap_ns: Int64 = 0
    last_ping_payload: Bytes = b""


class ListPeersResponse(LndMessage):
    peers: list[Peer] = Field(default_factory=list)


class LightningAddress(LndMessage):
    pubkey: str = ""
    host: str = ""


class ConnectPeerRequest(LndMessage):
    addr: LightningAddress | None = None
    perm: bool = False
    timeout: UInt64 = 0


class ConnectPeerResponse(LndMessage):
    status: str = ""


class DisconnectPeerResponse(LndMessage):
    status: str = ""


class NodeAddress(LndMessage):
    network: str = ""
    addr: str = ""


class LightningNode(LndMessage):
    last_update: int = 0
    pub_key: str = ""
    alias: str = ""
    addresses: list[NodeAddress] = Field(default_factory=list)
    color: str = ""
    features: dict[str, Feature] = Field(default_factory=dict)
    custom_records: dict[str, Bytes] = Field(default_factory=dict)


class RoutingPolicy(LndMessage):
    time_lock_delta: int = 0
    min_htlc: Int64 = 0
    fee_base_msat: Int64 = 0
    fee_rate_milli_msat: Int64 = 0
    disabled: bool = False
    max_htlc_msat: UInt64 = 0
    last_update: int = 0
    custom_records: dict[str, Bytes] = Field(default_factory=dict)
    inbound_fee_base_msat: int = 0
    inbound_fee_rate_milli_msat: int = 0


class ChannelAuthProof(LndMessage):
    node_sig1: Bytes = b""
    bitcoin_sig1: Bytes = b""
    node_sig2: Bytes = b""
    bitcoin_sig2: Bytes = b""


class ChannelEdge(LndMessage):
    channel_id: UInt64 = 0
    chan_point: str = ""
    last_update: int = 0
    node1_pub: str = ""
    node2_pub: str = ""
    capacity: Int64 = 0
    node1_policy: RoutingPolicy | None = None
    node2_policy: RoutingPolicy | None = None
    custom_records: dict[str, Bytes] = Field(default_factory=dict)
    auth_proof: ChannelAuthProof | None = None


class ChannelGraph(LndMessage):
    nodes: list[LightningNode] = Field(default_factory=list)
    edges: list[ChannelEdge] = Field(default_factory=list)


class NodeInfo(LndMessage):
    node: LightningNode | None = None
    num_channels: int = 0
    total_capacity: Int64 = 0
    channels: list[ChannelEdge] = Field(default_factory=list)


class HTLC(LndMessage):
    incoming: bool = False
    amount: Int64 = 0
    hash_lock: Bytes = b""
    expiration_height: int = 0
    htlc_index: UInt64 = 0
    forwarding_channel: UInt64 = 0
    forwarding_htlc_index: UInt64 = 0
    locked_in: bool = False


class CommitmentType(StrEnum):
    UNKNOWN_COMMITMENT_TYPE = "UNKNOWN_COMMITMENT_TYPE"
    LEGACY = "LEGACY"
    STATIC_REMOTE_KEY = "STATIC_REMOTE_KEY"
    ANCHORS = "ANCHORS"
    SCRIPT_ENFORCED_LEASE = "SCRIPT_ENFORCED_LEASE"
    TAPROOT = "TAPROOT"
    SIMPLE_TAPROOT_FINAL = "SIMPLE_TAPROOT_FINAL"
    SIMPLE_TAPROOT = "SIMPLE_TAPROOT"
    SIMPLE_TAPROOT_OVERLAY = "SIMPLE_TAPROOT_OVERLAY"


class ChannelConstraints(LndMessage):
    csv_delay: int = 0
    chan_reserve_sat: UInt64 = 0
    dust_limit_sat: UInt64 = 0
    max_pending_amt_msat: UInt64 = 0
    min_htlc_msat: UInt64 = 0
    max_accepted_htlcs: int = 0


class Channel(LndMessage):
    active: bool = False
    remote_pubkey: str = ""
    channel_point: str = ""
    chan_id: UInt64 = 0
    capacity: Int64 = 0
    local_balance: Int64 = 0
    remote_balance: Int64 = 0
    commit_fee: Int64 = 0
    commit_weight: Int64 = 0
    fee_per_kw: Int64 = 0
    unsettled_balance: Int64 = 0
    total_satoshis_sent: Int64 = 0
    total_satoshis_received: Int64 = 0
    num_updates: UInt64 = 0
    pending_htlcs: list[HTLC] = Field(default_factory=list)
    csv_delay: int = 0
    private: bool = False
    initiator: bool = False
    chan_status_flags: str = ""
    local_chan_reserve_sat: Int64 = 0
    remote_chan_reserve_sat: Int64 = 0
    static_remote_key: bool = False
    commitment_type: CommitmentType = CommitmentType.UNKNOWN_COMMITMENT_TYPE
    lifetime: Int64 = 0
    uptime: Int64 = 0
    close_address: str = ""
    push_amount_sat: UInt64 = 0
    thaw_height: int = 0
    local_constraints: ChannelConstraints | None = None
    remote_constraints: ChannelConstraints | None = None
    alias_scids: list[UInt64] = Field(default_factory=list)
    zero_conf: bool = False
    zero_conf_confirmed_scid: UInt64 = 0
    peer_alias: str = ""
    peer_scid_alias: UInt64 = 0
    memo: str = ""
    custom_channel_data: Bytes = b""


class ListChannelsResponse(LndMessage):
    channels: list[Channel] = Field(default_factory=list)


class Initiator(StrEnum):
    INITIATOR_UNKNOWN = "INITIATOR_UNKNOWN"
    INITIATOR_LOCAL = "INITIATOR_LOCAL"
    INITIATOR_REMOTE = "INITIATOR_REMOTE"
    INITIATOR_BOTH = "INITIATOR_BOTH"


class PendingChannel(LndMessage):
    remote_node_pub: str = ""
    channel_point: str = ""
    capacity: Int64 = 0
    local_balance: Int64 = 0
    remote_balance: Int64 = 0
    local_chan_reserve_sat: Int64 = 0
    remote_chan_reserve_sat: Int64 = 0
    initiator: Initiator = Initiator.INITIATOR_UNKNOWN
    commitment_type: CommitmentType = CommitmentType.UNKNOWN_COMMITMENT_TYPE
    num_forwarding_packages: Int64 = 0
    chan_status_flags: str = ""
    private: bool = False
    memo: str = ""
    custom_channel_data: Bytes = b""


class PendingOpenChannel(LndMessage):
    channel: PendingChannel | None = None
    commit_fee: Int64 = 0
    commit_weight: Int64 = 0
    fee_per_kw: Int64 = 0
    funding_expiry_blocks: int = 0
    confirmations_until_active: int = 0
    confirmation_height: int = 0


class PendingClosingChannel(LndMessage):
    channel: PendingChannel | None = None
    closing_txid: str = ""


class PendingHTLC(LndMessage):
    incoming: bool = False
    amount: Int64 = 0
    outpoint: str = ""
    maturity_height: int = 0
    blocks_til_maturity: int = 0
    stage: int = 0


class ForceClosedChannelAnchorState(StrEnum):
    LIMBO = "LIMBO"
    RECOVERED = "RECOVERED"
    LOST = "LOST"


class ForceClosedChannel(LndMessage):
    channel: PendingChannel | None = None
    closing_txid: str = ""
    limbo_balance: Int64 = 0
    maturity_height: int = 0
    blocks_til_maturity: int = 0
    recovered_balance: Int64 = 0
    pending_htlcs: list[PendingHTLC] = Field(default_factory=list)
    anchor: ForceClosedChannelAnchorState = ForceClosedChannelAnchorState.LIMBO


class Commitments(LndMessage):
    local_txid: str = ""
    remote_txid: str = ""
    remote_pending_txid: str = ""
    local_commit_fee_sat: UInt64 = 0
    remote_commit_fee_sat: UInt64 = 0
    remote_pending_commit_fee_sat: UInt64 = 0


class WaitingCloseChannel(LndMessage):
    channel: PendingChannel | None = None
    limbo_balance: Int64 = 0
    commitments: Commitments | None = None
    closing_txid: str = ""
    closing_tx_hex: str = ""
    blocks_til_close_confirmed: int = 0
    close_height: int = 0


class PendingChannelsResponse(LndMessage):
    total_limbo_balance: Int64 = 0
    pending_open_channels: list[PendingOpenChannel] = Field(default_factory=list)
    pending_closing_channels: list[PendingClosingChannel] = Field(default_factory=list)
    pending_force_closing_channels: list[ForceClosedChannel] = Field(default_factory=list)
    waiting_close_channels: list[WaitingCloseChannel] = Field(default_factory=list)


class ClosureType(StrEnum):
    COOPERATIVE_CLOSE = "COOPERATIVE_CLOSE"
    LOCAL_FORCE_CLOSE = "LOCAL_FORCE_CLOSE"
    REMOTE_FORCE_CLOSE = "REMOTE_FORCE_CLOSE"
    BREACH_CLOSE = "BREACH_CLOSE"
    FUNDING_CANCELED = "FUNDING_CANCELED"
    ABANDONED = "ABANDONED"


class ResolutionType(StrEnum):
    TYPE_UNKNOWN = "TYPE_UNKNOWN"
    ANCHOR = "ANCHOR"
    INCOMING_HTLC = "INCOMING_HTLC"
    OUTGOING_HTLC = "OUTGOING_HTLC"
    COMMIT = "COMMIT"


class ResolutionOutcome(StrEnum):
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    CLAIMED = "CLAIMED"
    UNCLAIMED = "UNCLAIMED"
    ABANDONED = "ABANDONED"
    FIRST_STAGE = "FIRST_STAGE"
    TIMEOUT = "TIMEOUT"


class OutPoint(LndMessage):
    txid_bytes: Bytes = b""
    txid_str: str = ""
    output_index: int = 0


class Resolution(LndMessage):
    resolution_type: ResolutionType = ResolutionType.TYPE_UNKNOWN
    outcome: ResolutionOutcome = ResolutionOutcome.OUTCOME_UNKNOWN
    outpoint: OutPoint | None = None
    amount_sat: UInt64 = 0
    sweep_txid: str = ""


class ChannelCloseSummary(LndMessage):
    channel_point: str = ""
    chan_id: UInt64 = 0
    chain_hash: str = ""
    closing_tx_hash: str = ""
    remote_pubkey: str = ""
    capacity: Int64 = 0
    close_height: int = 0
    settled_balance: Int64 = 0
    time_locked_balance: Int64 = 0
    close_type: ClosureType = ClosureType.COOPERATIVE_CLOSE
    open_initiator: Initiator = Initiator.INITIATOR_UNKNOWN
    close_initiator: Initiator = Initiator.INITIATOR_UNKNOWN
    resolutions: list[Resolution] = Field(default_factory=list)
    alias_scids: list[UInt64] = Field(default_factory=list)
    zero_conf_confirmed_scid: UInt64 = 0
    custom_channel_data: Bytes = b""


class ClosedChannelsResponse(LndMessage):
    channels: list[ChannelCloseSummary] = Field(default_factory=list)


class OpenChannelRequest(LndMessage):
    sat_per_vbyte: UInt64 = 0
    node_pubkey: Bytes = b""
    node_pubkey_string: str = ""
    local_funding_amount: Int64 = 0
    push_sat: Int64 = 0
    target_conf: int = 0
    sat_per_byte: Int64 = 0
    private: bool = False
    min_htlc_msat: Int64 = 0
    remote_csv_delay: int = 0
    min_confs: int = 0
    spend_unconfirmed: bool = False
    close_address: str = ""
    remote_max_value_in_flight_msat: UInt64 = 0
    remote_max_htlcs: int = 0
    max_local_csv: int = 0
    commitment_type: CommitmentType = CommitmentType.UNKNOWN_COMMITMENT_TYPE
    zero_conf: bool = False
    scid_alias: bool = False
    base_fee: UInt64 = 0
    fee_rate: UInt64 = 0
    use_base_fee: bool = False
    use_fee_rate: bool = False
    remote_chan_reserve_sat: UInt64 = 0
    fund_max: bool = False
    memo: str = ""
    outpoints: list[OutPoint] = Field(default_factory=list)


class ChannelPoint(LndMessage):
    """``funding_txid_bytes`` (internal byte order) and ``funding_txid_str`` are a ``oneof``."""

    funding_txid_bytes: Bytes | None = None
    funding_txid_str: str | None = None
    output_index: int = 0


class PendingUpdate(LndMessage):
    txid: Bytes = b""
    output_index: int = 0
    fee_per_vbyte: Int64 = 0
    local_close_tx: bool = False


class CloseOutput(LndMessage):
    amount_sat: Int64 = 0
    pk_script: Bytes = b""
    is_local: bool = False
    custom_channel_data: Bytes = b""


class ChannelCloseUpdate(LndMessage):
    closing_txid: Bytes = b""
    success: bool = False
    local_close_output: CloseOutput | None = None
    remote_close_output: CloseOutput | None = None
    additional_outputs: list[CloseOutput] = Field(default_factory=list)


class InstantUpdate(LndMessage):
    num_pending_htlcs: int = 0


class CloseStatusUpdate(LndMessage):
    close_pending: PendingUpdate | None = None
    chan_close: ChannelCloseUpdate | None = None
    close_instant: InstantUpdate | None = None


class InboundFee(LndMessage):
    base_fee_msat: int = 0
    fee_rate_ppm: int = 0


class PolicyUpdateRequest(LndMessage):
    global_: bool = Field(alias="global", default=False)
    chan_point: ChannelPoint | None = None
    base_fee_msat: Int64 = 0
    fee_rate: float = 0.0
    fee_rate_ppm: int = 0
    time_lock_delta: int = 0
    max_htlc_msat: UInt64 = 0
    min_htlc_msat: UInt64 = 0
    min_htlc_msat_specified: bool = False
    inbound_fee: InboundFee | None = None
    create_missing_edge: bool = False


class UpdateFailure(StrEnum):
    UPDATE_FAILURE_UNKNOWN = "UPDATE_FAILURE_UNKNOWN"
    UPDATE_FAILURE_PENDING = "UPDATE_FAILURE_PENDING"
    UPDATE_FAILURE_NOT_FOUND = "UPDATE_FAILURE_NOT_FOUND"
    UPDATE_FAILURE_INTERNAL_ERR = "UPDATE_FAILURE_INTERNAL_ERR"
    UPDATE_FAILURE_INVALID_PARAMETER = "UPDATE_FAILURE_INVALID_PARAMETER"


class FailedUpdate(LndMessage):
    outpoint: OutPoint | None = None
    reason: UpdateFailure = UpdateFailure.UPDATE_FAILURE_UNKNOWN
    update_error: str = ""


class PolicyUpdateResponse(LndMessage):
    failed_updates: list[FailedUpdate] = Field(default_factory=list)


class WalletAccountBalance(LndMessage):
    confirmed_balance: Int64 = 0
    unconfirmed_balance: Int64 = 0


class EstimateFeeResponse(LndMessage):
    fee_sat: Int64 = 0
    feerate_sat_per_byte: Int64 = 0
    sat_per_vbyte: UInt64 = 0
    inputs: list[OutPoint] = Field(default_factory=list)


class WalletBalanceResponse(LndMessage):
    total_balance: Int64 = 0
    confirmed_balance: Int64 = 0
    unconfirmed_balance: Int64 = 0
    locked_balance: Int64 = 0
    reserved_balance_anchor_chan: Int64 = 0
    account_balance: dict[str, WalletAccountBalance] = Field(default_factory=dict)


class ChannelFeeReport(LndMessage):
    chan_id: UInt64 = 0
    channel_point: str = ""
    base_fee_msat: Int64 = 0
    fee_per_mil: Int64 = 0
    fee_rate: float = 0.0
    inbound_base_fee_msat: int = 0
    inbound_fee_per_mil: int = 0


class FeeReportResponse(LndMessage):
    channel_fees: list[ChannelFeeReport] = Field(default_factory=list)
    day_fee_sum: UInt64 = 0
    week_fee_sum: UInt64 = 0
    month_fee_sum: UInt64 = 0


class PaymentStatus(StrEnum):
    UNKNOWN = "UNKNOWN"
    IN_FLIGHT = "IN_FLIGHT"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    INITIATED = "INITIATED"


class HTLCStatus(StrEnum):
    IN_FLIGHT = "IN_FLIGHT"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class MPPRecord(LndMessage):
    payment_addr: Bytes = b""
    total_amt_msat: Int64 = 0


class AMPRecord(LndMessage):
    root_share: Bytes = b""
    set_id: Bytes = b""
    child_index: int = 0


class Hop(LndMessage):
    chan_id: UInt64 = 0
    chan_capacity: Int64 = 0
    amt_to_forward: Int64 = 0
    fee: Int64 = 0
    expiry: int = 0
    amt_to_forward_msat: Int64 = 0
    fee_msat: Int64 = 0
    pub_key: str = ""
    tlv_payload: bool = False
    mpp_record: MPPRecord | None = None
    amp_record: AMPRecord | None = None
    custom_records: dict[str, Bytes] = Field(default_factory=dict)
    metadata: Bytes = b""
    blinding_point: Bytes = b""
    encrypted_data: Bytes = b""
    total_amt_msat: UInt64 = 0


class Route(LndMessage):
    total_time_lock: int = 0
    total_fees: Int64 = 0
    total_amt: Int64 = 0
    hops: list[Hop] = Field(default_factory=list)
    total_fees_msat: Int64 = 0
    total_amt_msat: Int64 = 0
    first_hop_amount_msat: Int64 = 0
    custom_channel_data: Bytes = b""


class FailureCode(StrEnum):
    RESERVED = "RESERVED"
    INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS = "INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS"
    INCORRECT_PAYMENT_AMOUNT = "INCORRECT_PAYMENT_AMOUNT"
    FINAL_INCORRECT_CLTV_EXPIRY = "FINAL_INCORRECT_CLTV_EXPIRY"
    FINAL_INCORRECT_HTLC_AMOUNT = "FINAL_INCORRECT_HTLC_AMOUNT"
    FINAL_EXPIRY_TOO_SOON = "FINAL_EXPIRY_TOO_SOON"
    INVALID_REALM = "INVALID_REALM"
    EXPIRY_TOO_SOON = "EXPIRY_TOO_SOON"
    INVALID_ONION_VERSION = "INVALID_ONION_VERSION"
    INVALID_ONION_HMAC = "INVALID_ONION_HMAC"
    INVALID_ONION_KEY = "INVALID_ONION_KEY"
    AMOUNT_BELOW_MINIMUM = "AMOUNT_BELOW_MINIMUM"
    FEE_INSUFFICIENT = "FEE_INSUFFICIENT"
    INCORRECT_CLTV_EXPIRY = "INCORRECT_CLTV_EXPIRY"
    CHANNEL_DISABLED = "CHANNEL_DISABLED"
    TEMPORARY_CHANNEL_FAILURE = "TEMPORARY_CHANNEL_FAILURE"
    REQUIRED_NODE_FEATURE_MISSING = "REQUIRED_NODE_FEATURE_MISSING"
    REQUIRED_CHANNEL_FEATURE_MISSING = "REQUIRED_CHANNEL_FEATURE_MISSING"
    UNKNOWN_NEXT_PEER = "UNKNOWN_NEXT_PEER"
    TEMPORARY_NODE_FAILURE = "TEMPORARY_NODE_FAILURE"
    PERMANENT_NODE_FAILURE = "PERMANENT_NODE_FAILURE"
    PERMANENT_CHANNEL_FAILURE = "PERMANENT_CHANNEL_FAILURE"
    EXPIRY_TOO_FAR = "EXPIRY_TOO_FAR"
    MPP_TIMEOUT = "MPP_TIMEOUT"
    INVALID_ONION_PAYLOAD = "INVALID_ONION_PAYLOAD"
    INVALID_ONION_BLINDING = "INVALID_ONION_BLINDING"
    INTERNAL_FAILURE = "INTERNAL_FAILURE"
    UNKNOWN_FAILURE = "UNKNOWN_FAILURE"
    UNREADABLE_FAILURE = "UNREADABLE_FAILURE"


class ChannelUpdate(LndMessage):
    signature: Bytes = b""
    chain_hash: Bytes = b""
    chan_id: UInt64 = 0
    timestamp: int = 0
    message_flags: int = 0
    channel_flags: int = 0
    time_lock_delta: int = 0
    htlc_minimum_msat: UInt64 = 0
    base_fee: int = 0
    fee_rate: int = 0
    htlc_maximum_msat: UInt64 = 0
    extra_opaque_data: Bytes = b""


class Failure(LndMessage):
    code: FailureCode = FailureCode.RESERVED
    channel_update: ChannelUpdate | None = None
    htlc_msat: UInt64 = 0
    onion_sha_256: Bytes = b""
    cltv_expiry: int = 0
    flags: int = 0
    failure_source_index: int = 0
    height: int = 0


class HTLCAttempt(LndMessage):
    attempt_id: UInt64 = 0
    status: HTLCStatus = HTLCStatus.IN_FLIGHT
    route: Route | None = None
    attempt_time_ns: Int64 = 0
    resolve_time_ns: Int64 = 0
    failure: Failure | None = None
    preimage: Bytes = b""


class PaymentFailureReason(StrEnum):
    FAILURE_REASON_NONE = "FAILURE_REASON_NONE"
    FAILURE_REASON_TIMEOUT = "FAILURE_REASON_TIMEOUT"
    FAILURE_REASON_NO_ROUTE = "FAILURE_REASON_NO_ROUTE"
    FAILURE_REASON_ERROR = "FAILURE_REASON_ERROR"
    FAILURE_REASON_INCORRECT_PAYMENT_DETAILS = "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS"
    FAILURE_REASON_INSUFFICIENT_BALANCE = "FAILURE_REASON_INSUFFICIENT_BALANCE"
    FAILURE_REASON_CANCELED = "FAILURE_REASON_CANCELED"


class Payment(LndMessage):
    payment_hash: str = ""
    value: Int64 = 0
    creation_date: Int64 = 0
    fee: Int64 = 0
    payment_preimage: str = ""
    value_sat: Int64 = 0
    value_msat: Int64 = 0
    payment_request: str = ""
    status: PaymentStatus = PaymentStatus.UNKNOWN
    fee_sat: Int64 = 0
    fee_msat: Int64 = 0
    creation_time_ns: Int64 = 0
    htlcs: list[HTLCAttempt] = Field(default_factory=list)
    payment_index: UInt64 = 0
    failure_reason: PaymentFailureReason = PaymentFailureReason.FAILURE_REASON_NONE
    first_hop_custom_records: dict[str, Bytes] = Field(default_factory=dict)


class ListPaymentsResponse(LndMessage):
    payments: list[Payment] = Field(default_factory=list)
    first_index_offset: UInt64 = 0
    last_index_offset: UInt64 = 0
    total_num_payments: UInt64 = 0


class ForwardingHistoryRequest(LndMessage):
    start_time: UInt64 = 0
    end_time: UInt64 = 0
    index_offset: int = 0
    num_max_events: int = 0
    peer_alias_lookup: bool = False
    incoming_chan_ids: list[UInt64] = Field(default_factory=list)
    outgoing_chan_ids: list[UInt64] = Field(default_factory=list)


class ForwardingEvent(LndMessage):
    timestamp: UInt64 = 0
    chan_id_in: UInt64 = 0
    chan_id_out: UInt64 = 0
    amt_in: UInt64 = 0
    amt_out: UInt64 = 0
    fee: UInt64 = 0
    fee_msat: UInt64 = 0
    amt_in_msat: UInt64 = 0
    amt_out_msat: UInt64 = 0
    timestamp_ns: UInt64 = 0
    peer_alias_in: str = ""
    peer_alias_out: str = ""
    incoming_htlc_id: UInt64 = 0
    outgoing_htlc_id: UInt64 = 0


class ForwardingHistoryResponse(LndMessage):
    forwarding_events: list[ForwardingEvent] = Field(default_factory=list)
    last_offset_index: int = 0


class QueryRoutesResponse(LndMessage):
    routes: list[Route] = Field(default_factory=list)
    success_prob: float = 0.0


class ChannelBackup(LndMessage):
    chan_point: ChannelPoint | None = None
    chan_backup: Bytes = b""


class ChannelBackups(LndMessage):
    chan_backups: list[ChannelBackup] = Field(default_factory=list)


class MultiChanBackup(LndMessage):
    chan_points: list[ChannelPoint] = Field(default_factory=list)
    multi_chan_backup: Bytes = b""


class ChanBackupSnapshot(LndMessage):
    single_chan_backups: ChannelBackups | None = None
    multi_chan_backup: MultiChanBackup | None = None


class VerifyChanBackupResponse(LndMessage):
    chan_points: list[str] = Field(default_factory=list)


class FeatureBit(StrEnum):
    DATALOSS_PROTECT_REQ = "DATALOSS_PROTECT_REQ"
    DATALOSS_PROTECT_OPT = "DATALOSS_PROTECT_OPT"
    INITIAL_ROUING_SYNC = "INITIAL_ROUING_SYNC"
    UPFRONT_SHUTDOWN_SCRIPT_REQ = "UPFRONT_SHUTDOWN_SCRIPT_REQ"
    UPFRONT_SHUTDOWN_SCRIPT_OPT = "UPFRONT_SHUTDOWN_SCRIPT_OPT"
    GOSSIP_QUERIES_REQ = "GOSSIP_QUERIES_REQ"
    GOSSIP_QUERIES_OPT = "GOSSIP_QUERIES_OPT"
    TLV_ONION_REQ = "TLV_ONION_REQ"
    TLV_ONION_OPT = "TLV_ONION_OPT"
    EXT_GOSSIP_QUERIES_REQ = "EXT_GOSSIP_QUERIES_REQ"
    EXT_GOSSIP_QUERIES_OPT = "EXT_GOSSIP_QUERIES_OPT"
    STATIC_REMOTE_KEY_REQ = "STATIC_REMOTE_KEY_REQ"
    STATIC_REMOTE_KEY_OPT = "STATIC_REMOTE_KEY_OPT"
    PAYMENT_ADDR_REQ = "PAYMENT_ADDR_REQ"
    PAYMENT_ADDR_OPT = "PAYMENT_ADDR_OPT"
    MPP_REQ = "MPP_REQ"
    MPP_OPT = "MPP_OPT"
    WUMBO_CHANNELS_REQ = "WUMBO_CHANNELS_REQ"
    WUMBO_CHANNELS_OPT = "WUMBO_CHANNELS_OPT"
    ANCHORS_REQ = "ANCHORS_REQ"
    ANCHORS_OPT = "ANCHORS_OPT"
    ANCHORS_ZERO_FEE_HTLC_REQ = "ANCHORS_ZERO_FEE_HTLC_REQ"
    ANCHORS_ZERO_FEE_HTLC_OPT = "ANCHORS_ZERO_FEE_HTLC_OPT"
    ROUTE_BLINDING_REQUIRED = "ROUTE_BLINDING_REQUIRED"
    ROUTE_BLINDING_OPTIONAL = "ROUTE_BLINDING_OPTIONAL"
    AMP_REQ = "AMP_REQ"
    AMP_OPT = "AMP_OPT"


class SendPaymentRequest(LndMessage):
    dest: Bytes = b""
    amt: Int64 = 0
    payment_hash: Bytes = b""
    final_cltv_delta: int = 0
    payment_request: str = ""
    timeout_seconds: int = 0
    fee_limit_sat: Int64 = 0
    cltv_limit: int = 0
    route_hints: list[RouteHint] = Field(default_factory=list)
    dest_custom_records: dict[str, Bytes] = Field(default_factory=dict)
    amt_msat: Int64 = 0
    fee_limit_msat: Int64 = 0
    last_hop_pubkey: Bytes = b""
    allow_self_payment: bool = False
    dest_features: list[FeatureBit] = Field(default_factory=list)
    max_parts: int = 0
    no_inflight_updates: bool = False
    outgoing_chan_ids: list[UInt64] = Field(default_factory=list)
    payment_addr: Bytes = b""
    max_shard_size_msat: UInt64 = 0
    amp: bool = False
    time_pref: float = 0.0
    cancelable: bool = False
    first_hop_custom_records: dict[str, Bytes] = Field(default_factory=dict)


class ChanStatusAction(StrEnum):
    ENABLE = "ENABLE"
    DISABLE = "DISABLE"
    AUTO = "AUTO"


class UpdateChanStatusRequest(LndMessage):
    chan_point: ChannelPoint | None = None
    action: ChanStatusAction = ChanStatusAction.ENABLE


class UpdateChanStatusResponse(LndMessage):
    """Empty in LND: success is the absence of an error."""


class BuildRouteRequest(LndMessage):
    amt_msat: Int64 = 0
    final_cltv_delta: int = 0
    outgoing_chan_id: UInt64 = 0
    hop_pubkeys: list[Bytes] = Field(default_factory=list)
    payment_addr: Bytes = b""
    first_hop_custom_records: dict[str, Bytes] = Field(default_factory=dict)


class BuildRouteResponse(LndMessage):
    route: Route | None = None


class SendToRouteRequest(LndMessage):
    payment_hash: Bytes = b""
    route: Route | None = None
    skip_temp_err: bool = False
    first_hop_custom_records: dict[str, Bytes] = Field(default_factory=dict)


class HtlcEventType(StrEnum):
    UNKNOWN = "UNKNOWN"
    SEND = "SEND"
    RECEIVE = "RECEIVE"
    FORWARD = "FORWARD"


class HtlcInfo(LndMessage):
    incoming_timelock: int = 0
    outgoing_timelock: int = 0
    incoming_amt_msat: UInt64 = 0
    outgoing_amt_msat: UInt64 = 0


class ForwardEvent(LndMessage):
    info: HtlcInfo | None = None


class ForwardFailEvent(LndMessage):
    """Carries nothing beyond the event it belongs to."""


class SettleEvent(LndMessage):
    preimage: Bytes = b""


class FailureDetail(StrEnum):
    UNKNOWN = "UNKNOWN"
    NO_DETAIL = "NO_DETAIL"
    ONION_DECODE = "ONION_DECODE"
    LINK_NOT_ELIGIBLE = "LINK_NOT_ELIGIBLE"
    ON_CHAIN_TIMEOUT = "ON_CHAIN_TIMEOUT"
    HTLC_EXCEEDS_MAX = "HTLC_EXCEEDS_MAX"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    INCOMPLETE_FORWARD = "INCOMPLETE_FORWARD"
    HTLC_ADD_FAILED = "HTLC_ADD_FAILED"
    FORWARDS_DISABLED = "FORWARDS_DISABLED"
    INVOICE_CANCELED = "INVOICE_CANCELED"
    INVOICE_UNDERPAID = "INVOICE_UNDERPAID"
    INVOICE_EXPIRY_TOO_SOON = "INVOICE_EXPIRY_TOO_SOON"
    INVOICE_NOT_OPEN = "INVOICE_NOT_OPEN"
    MPP_INVOICE_TIMEOUT = "MPP_INVOICE_TIMEOUT"
    ADDRESS_MISMATCH = "ADDRESS_MISMATCH"
    SET_TOTAL_MISMATCH = "SET_TOTAL_MISMATCH"
    SET_TOTAL_TOO_LOW = "SET_TOTAL_TOO_LOW"
    SET_OVERPAID = "SET_OVERPAID"
    UNKNOWN_INVOICE = "UNKNOWN_INVOICE"
    INVALID_KEYSEND = "INVALID_KEYSEND"
    MPP_IN_PROGRESS = "MPP_IN_PROGRESS"
    CIRCULAR_ROUTE = "CIRCULAR_ROUTE"
    INVOICE_ALREADY_SETTLED = "INVOICE_ALREADY_SETTLED"
    HTLC_INVOICE_TYPE_MISMATCH = "HTLC_INVOICE_TYPE_MISMATCH"
    AMP_ERROR = "AMP_ERROR"
    AMP_RECONSTRUCTION = "AMP_RECONSTRUCTION"
    EXTERNAL_VALIDATION_FAILED = "EXTERNAL_VALIDATION_FAILED"


class LinkFailEvent(LndMessage):
    info: HtlcInfo | None = None
    wire_failure: FailureCode = FailureCode.RESERVED
    failure_detail: FailureDetail = FailureDetail.UNKNOWN
    failure_string: str = ""


class SubscribedEvent(LndMessage):
    """Carries nothing beyond the event it belongs to."""


class FinalHtlcEvent(LndMessage):
    settled: bool = False
    offchain: bool = False


class HtlcEvent(LndMessage):
    incoming_channel_id: UInt64 = 0
    outgoing_channel_id: UInt64 = 0
    incoming_htlc_id: UInt64 = 0
    outgoing_htlc_id: UInt64 = 0
    timestamp_ns: UInt64 = 0
    event_type: HtlcEventType = HtlcEventType.UNKNOWN
    forward_event: ForwardEvent | None = None
    forward_fail_event: ForwardFailEvent | None = None
    settle_event: SettleEvent | None = None
    link_fail_event: LinkFailEvent | None = None
    subscribed_event: SubscribedEvent | None = None
    final_htlc_event: FinalHtlcEvent | None = None


class AddHoldInvoiceRequest(LndMessage):
    memo: str = ""
    hash: Bytes = b""
    value: Int64 = 0
    value_msat: Int64 = 0
    description_hash: Bytes = b""
    expiry: Int64 = 0
    fallback_addr: str = ""
    cltv_expiry: UInt64 = 0
    route_hints: list[RouteHint] = Field(default_factory=list)
    private: bool = False


class AddHoldInvoiceResp(LndMessage):
    payment_request: str = ""
    add_index: UInt64 = 0
    payment_addr: Bytes = b""


class SettleInvoiceMsg(LndMessage):
    preimage: Bytes = b""


class SettleInvoiceResp(LndMessage):
    """Empty in LND: success is the absence of an error."""


class CancelInvoiceMsg(LndMessage):
    payment_hash: Bytes = b""


class CancelInvoiceResp(LndMessage):
    """Empty in LND: success is the absence of an error."""


class Status(LndMessage):
    code: int = 0
    message: str = ""
    details: list[dict[str, Any]] = Field(default_factory=list)
