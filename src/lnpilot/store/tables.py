"""The schema, as SQLAlchemy Core tables; the Alembic migrations must build exactly this.

Conventions:

- Amounts are integers with their unit in the name (``_msat``, ``_sat``, ``_ppm``); times are
  UTC instants (:class:`~lnpilot.store.coltypes.UtcDateTime`).
- Everything belongs to a node (``node_id``), so one database serves a fleet.
- Time series and forwards name channels by ``(node_id, chan_id)`` (LND's numeric id) and have
  no foreign key to ``channels``: a forward may go through a channel closed before lnpilot
  first saw the node. ``chan_id`` fits a signed 64-bit column while block heights stay
  below 2^23 (8.3 million, some 150 years away).
- Raw rows are appended with increasing ids; rollups keep a watermark per node and source
  (``rollup_watermarks``) and read only rows past it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    func,
)

from lnpilot.store.aggregates import FLOWS, NULLABLE, STATS, Kind
from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.levels import LEVELS, Resolution

#: Constraint names fixed by convention, so migrations can name them on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

PUBKEY = String(66)


def _node_fk() -> Column[int]:
    return Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False)


nodes = Table(
    "nodes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pubkey", PUBKEY, nullable=False, unique=True),
    Column("alias", String(64)),
    Column("version", String(128)),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
)

#: Open, pending and closed channels: the state last seen, not history (that is in
#: ``channel_snapshots`` and ``policy_history``). Keyed by channel point, the only id a
#: channel has from the funding transaction on.
channels = Table(
    "channels",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("channel_point", String(80), nullable=False),
    Column("scid", String(32)),
    Column("chan_id", BigInteger),
    Column("peer_pubkey", PUBKEY, nullable=False),
    Column("peer_alias", String(64)),
    Column("state", String(16), nullable=False),
    Column("capacity_sat", BigInteger, nullable=False),
    Column("local_balance_msat", BigInteger, nullable=False),
    Column("remote_balance_msat", BigInteger, nullable=False),
    Column("unsettled_balance_msat", BigInteger, nullable=False),
    Column("num_pending_htlcs", Integer, nullable=False),
    Column("private", Boolean, nullable=False),
    Column("open_initiator", String(8), nullable=False),
    Column("local_reserve_sat", BigInteger),
    Column("remote_reserve_sat", BigInteger),
    Column("total_sent_msat", BigInteger),
    Column("total_received_msat", BigInteger),
    Column("uptime_s", BigInteger),
    Column("lifetime_s", BigInteger),
    Column("opened_at_height", Integer),
    Column("close_type", String(20)),
    Column("close_initiator", String(8)),
    Column("closing_txid", String(64)),
    Column("close_height", Integer),
    Column("settled_balance_sat", BigInteger),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("closed_seen_at", UtcDateTime),
    UniqueConstraint("node_id", "channel_point"),
    UniqueConstraint("node_id", "chan_id"),
)

#: The policy fields of one direction, as snapshot and history columns.
POLICY_FIELDS = (
    ("base_fee_msat", BigInteger),
    ("fee_rate_ppm", BigInteger),
    ("inbound_base_fee_msat", BigInteger),
    ("inbound_fee_rate_ppm", BigInteger),
    ("min_htlc_msat", BigInteger),
    ("max_htlc_msat", BigInteger),
    ("cltv_delta", Integer),
    ("disabled", Boolean),
)

#: The raw time series: one row per open channel per collector cycle.
channel_snapshots = Table(
    "channel_snapshots",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("chan_id", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("local_balance_msat", BigInteger, nullable=False),
    Column("remote_balance_msat", BigInteger, nullable=False),
    Column("capacity_sat", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("num_pending_htlcs", Integer, nullable=False),
    Column("unsettled_balance_msat", BigInteger, nullable=False),
    *(
        Column(f"{side}_{name}", kind)
        for side in ("local", "remote")
        for name, kind in POLICY_FIELDS
    ),
    UniqueConstraint("node_id", "chan_id", "at"),
)

#: Successful forwards, appended from LND's forwarding history. The identity index makes
#: re-reading a page a no-op; unknown HTLC ids count as -1 there, because NULLs never collide.
#: LND's ``timestamp_ns`` is the forward's only time (its datetime is derived from it).
forwards = Table(
    "forwards",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("timestamp_ns", BigInteger, nullable=False),
    Column("chan_id_in", BigInteger, nullable=False),
    Column("chan_id_out", BigInteger, nullable=False),
    Column("amt_in_msat", BigInteger, nullable=False),
    Column("amt_out_msat", BigInteger, nullable=False),
    Column("fee_msat", BigInteger, nullable=False),
    Column("incoming_htlc_id", BigInteger),
    Column("outgoing_htlc_id", BigInteger),
)
Index(
    "uq_forwards_identity",
    forwards.c.node_id,
    forwards.c.timestamp_ns,
    forwards.c.chan_id_in,
    forwards.c.chan_id_out,
    func.coalesce(forwards.c.incoming_htlc_id, -1),
    func.coalesce(forwards.c.outgoing_htlc_id, -1),
    unique=True,
)

failed_forwards = Table(
    "failed_forwards",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("at", UtcDateTime, nullable=False),
    Column("chan_id_in", BigInteger),
    Column("chan_id_out", BigInteger),
    Column("amt_in_msat", BigInteger),
    Column("amt_out_msat", BigInteger),
    Column("failure", String(64), nullable=False),
    Column("event_type", String(16), nullable=False),
    Column("incoming_htlc_id", BigInteger),
    Column("outgoing_htlc_id", BigInteger),
)
Index(
    "uq_failed_forwards_identity",
    failed_forwards.c.node_id,
    failed_forwards.c.at,
    func.coalesce(failed_forwards.c.chan_id_in, -1),
    func.coalesce(failed_forwards.c.incoming_htlc_id, -1),
    func.coalesce(failed_forwards.c.chan_id_out, -1),
    func.coalesce(failed_forwards.c.outgoing_htlc_id, -1),
    unique=True,
)

peers = Table(
    "peers",
    metadata,
    _node_fk(),
    Column("pubkey", PUBKEY, nullable=False),
    Column("alias", String(64)),
    Column("address", String(256)),
    Column("connected", Boolean, nullable=False),
    Column("ping_time_us", BigInteger),
    Column("flap_count", Integer),
    Column("last_flap_at", UtcDateTime),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("node_id", "pubkey"),
)

#: Each change of a peer's connection, starting with its first sighting.
peer_events = Table(
    "peer_events",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("pubkey", PUBKEY, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("connected", Boolean, nullable=False),
    Index(None, "node_id", "pubkey", "at"),
)

#: Each change of a channel direction's policy (a new row only when a value changed).
policy_history = Table(
    "policy_history",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("chan_id", BigInteger, nullable=False),
    Column("direction", String(8), nullable=False),
    Column("source", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    *(
        Column(name, kind, nullable=name not in ("base_fee_msat", "fee_rate_ppm", "disabled"))
        for name, kind in POLICY_FIELDS
    ),
    Column("last_update", UtcDateTime),
    Index(None, "node_id", "chan_id", "direction", "id"),
)

#: What the collector derived (channel opened, peer went offline, ...).
events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("chan_id", BigInteger),
    Column("peer_pubkey", PUBKEY),
    Column("payload", Json, nullable=False),
    Index(None, "node_id", "at"),
    Index(None, "node_id", "chan_id", "at"),
)

collector_state = Table(
    "collector_state",
    metadata,
    Column("node_id", Integer, ForeignKey("nodes.id"), primary_key=True),
    Column("last_forward_index", BigInteger, nullable=False),
    Column("last_cycle_at", UtcDateTime),
)

#: Per node and raw table (``source``): the highest raw row id already rolled up.
rollup_watermarks = Table(
    "rollup_watermarks",
    metadata,
    _node_fk(),
    Column("source", String(32), nullable=False),
    Column("last_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("node_id", "source"),
)


def _rollup_table(
    family: str, resolution: Resolution, kinds: dict[str, Kind], by_time: tuple[str, ...]
) -> Table:
    """A level's table: one row per channel and bucket, clustered by channel on SQLite (a
    channel's series is one range), with the index ``ix_<table>_by_time`` over
    ``(node_id, bucket_start, *by_time)`` for reads across channels and for retention."""
    name = f"{family}_{resolution.value}"
    return Table(
        name,
        metadata,
        Column("node_id", Integer, nullable=False),
        Column("chan_id", BigInteger, nullable=False),
        Column("bucket_start", UtcDateTime, nullable=False),
        *(
            Column(col, UtcDateTime if col == "last_at" else BigInteger, nullable=col in NULLABLE)
            for col in kinds
        ),
        PrimaryKeyConstraint("node_id", "chan_id", "bucket_start"),
        Index(f"ix_{name}_by_time", "node_id", "bucket_start", *by_time),
        sqlite_with_rowid=False,
    )


#: Channel snapshots rolled up: balances min/max/sum/last, samples, policy last.
channel_stats = {r: _rollup_table("channel_stats", r, dict(STATS), ()) for r in LEVELS}
#: Forwards and failed forwards rolled up: counts, volumes and fees summed. Their time index
#: covers every column, so totals over a window for all channels read one contiguous range
#: of it (the dashboard's channel table) instead of looking each row up.
channel_flows = {
    r: _rollup_table("channel_flows", r, dict(FLOWS), ("chan_id", *FLOWS)) for r in LEVELS
}
