"""The store's own value types: what it takes and gives beyond the node's domain objects.

Channels, peers, forwards and policies travel as :mod:`lnpilot.base.domain` objects; these
types cover what only the store knows (history with its source, derived events, rollup
aggregates, the collector's bookmark). Frozen dataclasses, units in the names, UTC times.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from typing_extensions import TypeAliasType

from lnpilot.base.domain import Channel, ChannelPolicy
from lnpilot.store.levels import Resolution

#: Free-form JSON (an event's payload, a decision's detail). A named recursive alias, so
#: pydantic gives it one schema of its own that refers to itself and the API's answers
#: carrying such fields have a full OpenAPI schema.
JsonValue = TypeAliasType(
    "JsonValue", "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
)


class Direction(enum.StrEnum):
    """Which end of a channel set a policy: ``local`` is ours, ``remote`` the peer's."""

    LOCAL = "local"
    REMOTE = "remote"


class PolicySource(enum.StrEnum):
    """Who changed a policy: lnpilot itself, someone else on our node, or the peer."""

    LNPILOT = "lnpilot"
    OUTSIDE = "outside"
    PEER = "peer"


@dataclass(frozen=True)
class PolicyRecord:
    """One entry of a channel direction's policy history."""

    chan_id: int
    direction: Direction
    source: PolicySource
    at: datetime
    policy: ChannelPolicy

    def __post_init__(self) -> None:
        peer_side = self.direction is Direction.REMOTE
        if peer_side != (self.source is PolicySource.PEER):
            raise ValueError(
                f"a {self.direction} policy cannot come from source {self.source}: "
                "the remote direction is the peer's, the local one lnpilot's or outside's"
            )


@dataclass(frozen=True)
class PeerEvent:
    """A peer connected (``connected=True``) or disconnected, as first seen at ``at``."""

    pubkey: str
    at: datetime
    connected: bool


class EventKind(enum.StrEnum):
    """The kinds of :class:`Event` the collector derives and records; the alert engine and
    the faces read them back, so they are named here, beside the events they describe."""

    CHANNEL_OPENED = "channel_opened"
    CHANNEL_CLOSING = "channel_closing"
    CHANNEL_CLOSED = "channel_closed"
    CHANNEL_INACTIVE = "channel_inactive"
    CHANNEL_ACTIVE = "channel_active"
    PEER_DISCONNECTED = "peer_disconnected"
    PEER_RECONNECTED = "peer_reconnected"
    PEER_POLICY_CHANGED = "peer_policy_changed"
    OUR_POLICY_CHANGED = "our_policy_changed"
    COLLECTOR_GAP = "collector_gap"


@dataclass(frozen=True)
class Event:
    """Something the collector derived (``kind`` such as ``channel_closed``); no severity:
    judging it is the alert engine's job. ``id`` is set on events read back."""

    kind: str
    at: datetime
    chan_id: int | None = None
    peer_pubkey: str | None = None
    payload: dict[str, JsonValue] = field(default_factory=dict)
    id: int | None = None


#: A pause of more than this many collection intervals since the stored last cycle is a gap:
#: the collector records a ``collector_gap`` event for it and the gap rule alerts on it.
GAP_INTERVALS = 3


@dataclass(frozen=True)
class CollectorState:
    """Where the collector stopped: LND's forwarding-history offset and its last cycle."""

    last_forward_index: int
    last_cycle_at: datetime | None


@dataclass(frozen=True)
class BalanceStats:
    """A channel's snapshots over one bucket. Averages are floored integer msat."""

    samples: int
    active_samples: int
    local_balance_min_msat: int
    local_balance_max_msat: int
    local_balance_sum_msat: int
    local_balance_last_msat: int
    remote_balance_min_msat: int
    remote_balance_max_msat: int
    remote_balance_sum_msat: int
    remote_balance_last_msat: int
    capacity_sat: int
    pending_htlcs_max: int
    local_base_fee_msat: int | None
    local_fee_rate_ppm: int | None
    local_inbound_fee_rate_ppm: int | None
    remote_base_fee_msat: int | None
    remote_fee_rate_ppm: int | None
    remote_inbound_fee_rate_ppm: int | None
    last_at: datetime

    @property
    def local_balance_avg_msat(self) -> int:
        return self.local_balance_sum_msat // self.samples

    @property
    def remote_balance_avg_msat(self) -> int:
        return self.remote_balance_sum_msat // self.samples

    @property
    def active_ratio(self) -> float:
        """Share of samples that saw the channel active (0..1)."""
        return self.active_samples / self.samples


@dataclass(frozen=True)
class FlowStats:
    """A channel's forwards over a bucket or window: ``in`` entered through the channel,
    ``out`` left through it; a forward's fee shows on both of its channels."""

    forwards_in: int = 0
    forwards_out: int = 0
    volume_in_msat: int = 0
    volume_out_msat: int = 0
    fee_in_msat: int = 0
    fee_out_msat: int = 0
    failed_in: int = 0
    failed_out: int = 0


@dataclass(frozen=True)
class ChannelFlows:
    """A channel as last recorded, with its forwards over each of a list of windows, in the
    windows' order: the one read model behind the API's channel list (1, 7 and 30 days)
    and the dashboard's channel table (its sparkline's consecutive windows)."""

    channel: Channel
    flows: list[FlowStats]

    @property
    def total(self) -> FlowStats:
        """Over all the windows (meaningful when they do not overlap)."""
        return sum_flows(self.flows)


def sum_flows(flows: Sequence[FlowStats]) -> FlowStats:
    """Field by field: every FlowStats field is a count or an amount."""
    return FlowStats(**{f.name: sum(getattr(x, f.name) for x in flows) for f in fields(FlowStats)})


def channel_flows(
    channels: Sequence[Channel], totals: Sequence[Mapping[int, FlowStats]]
) -> list[ChannelFlows]:
    """Each channel with its forwards in each of `totals` (what
    :meth:`~lnpilot.store.StoreReader.channel_totals_over` returns); a window in which a
    channel (or a pending one, without an id yet) had none counts as no forwards."""
    return [
        ChannelFlows(c, [by_chan.get(c.chan_id or -1, FlowStats()) for by_chan in totals])
        for c in channels
    ]


@dataclass(frozen=True)
class SeriesPoint:
    """One bucket of a channel's series; ``balance`` is None when no snapshot fell in it."""

    bucket_start: datetime
    balance: BalanceStats | None
    flow: FlowStats


@dataclass(frozen=True)
class ChannelSeries:
    """A channel's series at one resolution; buckets without any data are left out."""

    chan_id: int
    resolution: Resolution
    points: tuple[SeriesPoint, ...]


@dataclass(frozen=True)
class RollupReport:
    """Raw rows newly folded into the rollups, per source table."""

    rows: dict[str, int]
