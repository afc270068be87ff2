"""The rebalancing journal: runs, per-channel decisions, and the attempts of each rebalance.

Revision ID: 0005
Revises: 0004

Frozen like 0001: every column is spelt out here, whatever ``lnpilot.store.rebalances`` says
later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rebalance_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("settings_digest", sa.String(length=64)),
        sa.Column("executor", sa.String(length=32)),
        sa.Column("budget_room_msat", sa.BigInteger(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rebalance_runs"),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name="fk_rebalance_runs_node_id_nodes"),
    )
    op.create_index("ix_rebalance_runs_node_id_at", "rebalance_runs", ["node_id", "at"])
    op.create_table(
        "rebalance_decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("chan_id", sa.BigInteger()),
        sa.Column("scid", sa.String(length=32)),
        sa.Column("peer_pubkey", sa.String(length=66)),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=16)),
        sa.Column("local_ratio_permille", sa.Integer()),
        sa.Column("band_low_permille", sa.Integer()),
        sa.Column("band_high_permille", sa.Integer()),
        sa.Column("source_chan_id", sa.BigInteger()),
        sa.Column("source_scid", sa.String(length=32)),
        sa.Column("amount_msat", sa.BigInteger()),
        sa.Column("max_fee_ppm", sa.BigInteger()),
        sa.Column("fee_limit_msat", sa.BigInteger()),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("moved_msat", sa.BigInteger()),
        sa.Column("fee_paid_msat", sa.BigInteger()),
        sa.Column("failure", sa.Text()),
        sa.Column("started_at", AT),
        sa.Column("finished_at", AT),
        sa.Column("duration_ms", sa.BigInteger()),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rebalance_decisions"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["rebalance_runs.id"], name="fk_rebalance_decisions_run_id_rebalance_runs"
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name="fk_rebalance_decisions_node_id_nodes"
        ),
    )
    op.create_index("ix_rebalance_decisions_run_id", "rebalance_decisions", ["run_id"])
    op.create_index(
        "ix_rebalance_decisions_node_id_chan_id_id",
        "rebalance_decisions",
        ["node_id", "chan_id", "id"],
    )
    op.create_index(
        "ix_rebalance_decisions_node_id_outcome", "rebalance_decisions", ["node_id", "outcome"]
    )
    op.create_table(
        "rebalance_attempts",
        sa.Column("id", ID, nullable=False),
        sa.Column("decision_id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("amount_msat", sa.BigInteger(), nullable=False),
        sa.Column("fee_limit_msat", sa.BigInteger(), nullable=False),
        sa.Column("route_fee_msat", sa.BigInteger()),
        sa.Column("fee_paid_msat", sa.BigInteger()),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("failure", sa.Text()),
        sa.Column("failure_source_index", sa.Integer()),
        sa.Column("failed_chan_id", sa.BigInteger()),
        sa.Column("payment_hash", sa.String(length=64)),
        sa.Column("hops", JSON, nullable=False),
        sa.Column("duration_ms", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_rebalance_attempts"),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["rebalance_decisions.id"],
            name="fk_rebalance_attempts_decision_id_rebalance_decisions",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name="fk_rebalance_attempts_node_id_nodes"
        ),
    )
    op.create_index("ix_rebalance_attempts_node_id_at", "rebalance_attempts", ["node_id", "at"])
    op.create_index("ix_rebalance_attempts_decision_id", "rebalance_attempts", ["decision_id"])


def downgrade() -> None:
    op.drop_table("rebalance_attempts")
    op.drop_table("rebalance_decisions")
    op.drop_table("rebalance_runs")
