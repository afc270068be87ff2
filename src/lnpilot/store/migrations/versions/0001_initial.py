"""The first schema: nodes, channels, peers, policies, forwards, events, time series.

Revision ID: 0001
Revises: (none)

Frozen: it spells out every column instead of importing ``lnpilot.store.tables``, so it
builds the same schema whatever later versions of the code say.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PUBKEY = sa.String(length=66)
LEVELS = ("5m", "1h", "1d")
POLICY = (
    ("base_fee_msat", sa.BigInteger),
    ("fee_rate_ppm", sa.BigInteger),
    ("inbound_base_fee_msat", sa.BigInteger),
    ("inbound_fee_rate_ppm", sa.BigInteger),
    ("min_htlc_msat", sa.BigInteger),
    ("max_htlc_msat", sa.BigInteger),
    ("cltv_delta", sa.Integer),
    ("disabled", sa.Boolean),
)
STATS = (
    ("samples", False),
    ("active_samples", False),
    ("local_balance_min_msat", False),
    ("local_balance_max_msat", False),
    ("local_balance_sum_msat", False),
    ("local_balance_last_msat", False),
    ("remote_balance_min_msat", False),
    ("remote_balance_max_msat", False),
    ("remote_balance_sum_msat", False),
    ("remote_balance_last_msat", False),
    ("capacity_sat", False),
    ("pending_htlcs_max", False),
    ("local_base_fee_msat", True),
    ("local_fee_rate_ppm", True),
    ("local_inbound_fee_rate_ppm", True),
    ("remote_base_fee_msat", True),
    ("remote_fee_rate_ppm", True),
    ("remote_inbound_fee_rate_ppm", True),
)
FLOWS = (
    "forwards_in",
    "forwards_out",
    "volume_in_msat",
    "volume_out_msat",
    "fee_in_msat",
    "fee_out_msat",
    "failed_in",
    "failed_out",
)


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(table: str) -> tuple[sa.Column[Any], sa.PrimaryKeyConstraint]:
    return sa.Column("id", ID, nullable=False), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _node(table: str) -> tuple[sa.Column[Any], sa.ForeignKeyConstraint]:
    return sa.Column("node_id", sa.Integer(), nullable=False), sa.ForeignKeyConstraint(
        ["node_id"], ["nodes.id"], name=f"fk_{table}_node_id_nodes"
    )


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pubkey", PUBKEY, nullable=False),
        sa.Column("alias", sa.String(length=64)),
        sa.Column("version", sa.String(length=128)),
        _time("first_seen_at"),
        _time("last_seen_at"),
        sa.PrimaryKeyConstraint("id", name="pk_nodes"),
        sa.UniqueConstraint("pubkey", name="uq_nodes_pubkey"),
    )
    op.create_table(
        "channels",
        *_id("channels"),
        *_node("channels"),
        sa.Column("channel_point", sa.String(length=80), nullable=False),
        sa.Column("scid", sa.String(length=32)),
        sa.Column("chan_id", sa.BigInteger()),
        sa.Column("peer_pubkey", PUBKEY, nullable=False),
        sa.Column("peer_alias", sa.String(length=64)),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("capacity_sat", sa.BigInteger(), nullable=False),
        sa.Column("local_balance_msat", sa.BigInteger(), nullable=False),
        sa.Column("remote_balance_msat", sa.BigInteger(), nullable=False),
        sa.Column("unsettled_balance_msat", sa.BigInteger(), nullable=False),
        sa.Column("num_pending_htlcs", sa.Integer(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("open_initiator", sa.String(length=8), nullable=False),
        sa.Column("local_reserve_sat", sa.BigInteger()),
        sa.Column("remote_reserve_sat", sa.BigInteger()),
        sa.Column("total_sent_msat", sa.BigInteger()),
        sa.Column("total_received_msat", sa.BigInteger()),
        sa.Column("uptime_s", sa.BigInteger()),
        sa.Column("lifetime_s", sa.BigInteger()),
        sa.Column("opened_at_height", sa.Integer()),
        sa.Column("close_type", sa.String(length=20)),
        sa.Column("close_initiator", sa.String(length=8)),
        sa.Column("closing_txid", sa.String(length=64)),
        sa.Column("close_height", sa.Integer()),
        sa.Column("settled_balance_sat", sa.BigInteger()),
        _time("first_seen_at"),
        _time("last_seen_at"),
        _time("closed_seen_at", nullable=True),
        sa.UniqueConstraint("node_id", "channel_point", name="uq_channels_node_id_channel_point"),
        sa.UniqueConstraint("node_id", "chan_id", name="uq_channels_node_id_chan_id"),
    )
    op.create_table(
        "channel_snapshots",
        *_id("channel_snapshots"),
        *_node("channel_snapshots"),
        sa.Column("chan_id", sa.BigInteger(), nullable=False),
        _time("at"),
        sa.Column("local_balance_msat", sa.BigInteger(), nullable=False),
        sa.Column("remote_balance_msat", sa.BigInteger(), nullable=False),
        sa.Column("capacity_sat", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("num_pending_htlcs", sa.Integer(), nullable=False),
        sa.Column("unsettled_balance_msat", sa.BigInteger(), nullable=False),
        *(
            sa.Column(f"{side}_{name}", kind())
            for side in ("local", "remote")
            for name, kind in POLICY
        ),
        sa.UniqueConstraint(
            "node_id", "chan_id", "at", name="uq_channel_snapshots_node_id_chan_id_at"
        ),
    )
    op.create_table(
        "forwards",
        *_id("forwards"),
        *_node("forwards"),
        sa.Column("timestamp_ns", sa.BigInteger(), nullable=False),
        sa.Column("chan_id_in", sa.BigInteger(), nullable=False),
        sa.Column("chan_id_out", sa.BigInteger(), nullable=False),
        sa.Column("amt_in_msat", sa.BigInteger(), nullable=False),
        sa.Column("amt_out_msat", sa.BigInteger(), nullable=False),
        sa.Column("fee_msat", sa.BigInteger(), nullable=False),
        sa.Column("incoming_htlc_id", sa.BigInteger()),
        sa.Column("outgoing_htlc_id", sa.BigInteger()),
    )
    op.create_index(
        "uq_forwards_identity",
        "forwards",
        [
            "node_id",
            "timestamp_ns",
            "chan_id_in",
            "chan_id_out",
            sa.text("coalesce(incoming_htlc_id, -1)"),
            sa.text("coalesce(outgoing_htlc_id, -1)"),
        ],
        unique=True,
    )
    op.create_table(
        "failed_forwards",
        *_id("failed_forwards"),
        *_node("failed_forwards"),
        _time("at"),
        sa.Column("chan_id_in", sa.BigInteger()),
        sa.Column("chan_id_out", sa.BigInteger()),
        sa.Column("amt_in_msat", sa.BigInteger()),
        sa.Column("amt_out_msat", sa.BigInteger()),
        sa.Column("failure", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("incoming_htlc_id", sa.BigInteger()),
        sa.Column("outgoing_htlc_id", sa.BigInteger()),
    )
    op.create_index(
        "uq_failed_forwards_identity",
        "failed_forwards",
        [
            "node_id",
            "at",
            sa.text("coalesce(chan_id_in, -1)"),
            sa.text("coalesce(incoming_htlc_id, -1)"),
            sa.text("coalesce(chan_id_out, -1)"),
            sa.text("coalesce(outgoing_htlc_id, -1)"),
        ],
        unique=True,
    )
    op.create_table(
        "peers",
        *_node("peers"),
        sa.Column("pubkey", PUBKEY, nullable=False),
        sa.Column("alias", sa.String(length=64)),
        sa.Column("address", sa.String(length=256)),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("ping_time_us", sa.BigInteger()),
        sa.Column("flap_count", sa.Integer()),
        _time("last_flap_at", nullable=True),
        _time("first_seen_at"),
        _time("last_seen_at"),
        sa.PrimaryKeyConstraint("node_id", "pubkey", name="pk_peers"),
    )
    op.create_table(
        "peer_events",
        *_id("peer_events"),
        *_node("peer_events"),
        sa.Column("pubkey", PUBKEY, nullable=False),
        _time("at"),
        sa.Column("connected", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_peer_events_node_id_pubkey_at", "peer_events", ["node_id", "pubkey", "at"])
    op.create_table(
        "policy_history",
        *_id("policy_history"),
        *_node("policy_history"),
        sa.Column("chan_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _time("at"),
        *(
            sa.Column(
                name, kind(), nullable=name not in ("base_fee_msat", "fee_rate_ppm", "disabled")
            )
            for name, kind in POLICY
        ),
        _time("last_update", nullable=True),
    )
    op.create_index(
        "ix_policy_history_node_id_chan_id_direction_id",
        "policy_history",
        ["node_id", "chan_id", "direction", "id"],
    )
    op.create_table(
        "events",
        *_id("events"),
        *_node("events"),
        _time("at"),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("chan_id", sa.BigInteger()),
        sa.Column("peer_pubkey", PUBKEY),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
    )
    op.create_index("ix_events_node_id_at", "events", ["node_id", "at"])
    op.create_index("ix_events_node_id_chan_id_at", "events", ["node_id", "chan_id", "at"])
    op.create_table(
        "collector_state",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("last_forward_index", sa.BigInteger(), nullable=False),
        _time("last_cycle_at", nullable=True),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name="fk_collector_state_node_id_nodes"),
        sa.PrimaryKeyConstraint("node_id", name="pk_collector_state"),
    )
    op.create_table(
        "rollup_watermarks",
        *_node("rollup_watermarks"),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "source", name="pk_rollup_watermarks"),
    )
    for level in LEVELS:
        _rollup_table(
            f"channel_stats_{level}",
            [sa.Column(name, sa.BigInteger(), nullable=nullable) for name, nullable in STATS]
            + [_time("last_at")],
            by_time=[],
        )
        _rollup_table(
            f"channel_flows_{level}",
            [sa.Column(name, sa.BigInteger(), nullable=False) for name in FLOWS],
            by_time=["chan_id", *FLOWS],
        )


def _rollup_table(name: str, columns: list[sa.Column[Any]], by_time: list[str]) -> None:
    op.create_table(
        name,
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("chan_id", sa.BigInteger(), nullable=False),
        _time("bucket_start"),
        *columns,
        sa.PrimaryKeyConstraint("node_id", "chan_id", "bucket_start", name=f"pk_{name}"),
        sqlite_with_rowid=False,
    )
    op.create_index(f"ix_{name}_by_time", name, ["node_id", "bucket_start", *by_time])


def downgrade() -> None:
    for level in LEVELS:
        op.drop_table(f"channel_flows_{level}")
        op.drop_table(f"channel_stats_{level}")
    for table in (
        "rollup_watermarks",
        "collector_state",
        "events",
        "policy_history",
        "peer_events",
        "peers",
        "failed_forwards",
        "forwards",
        "channel_snapshots",
        "channels",
        "nodes",
    ):
        op.drop_table(table)
