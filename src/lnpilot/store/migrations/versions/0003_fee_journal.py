"""The fee journal: runs of the fee policy and one decision per channel in each.

Revision ID: 0003
Revises: 0002

Frozen like 0001: every column is spelt out here, whatever ``lnpilot.store.fee_journal``
says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
POLICY = (
    ("base_fee_msat", sa.BigInteger),
    ("fee_rate_ppm", sa.BigInteger),
    ("inbound_base_fee_msat", sa.BigInteger),
    ("inbound_fee_rate_ppm", sa.BigInteger),
    ("min_htlc_msat", sa.BigInteger),
    ("max_htlc_msat", sa.BigInteger),
    ("cltv_delta", sa.Integer),
)


def upgrade() -> None:
    op.create_table(
        "fee_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("policy_digest", sa.String(length=64)),
        sa.Column("budget_limit", sa.Integer()),
        sa.Column("budget_used", sa.Integer()),
        sa.Column("rollback_of", ID),
        sa.PrimaryKeyConstraint("id", name="pk_fee_runs"),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name="fk_fee_runs_node_id_nodes"),
        sa.ForeignKeyConstraint(
            ["rollback_of"], ["fee_runs.id"], name="fk_fee_runs_rollback_of_fee_runs"
        ),
    )
    op.create_index("ix_fee_runs_node_id_at", "fee_runs", ["node_id", "at"])
    op.create_table(
        "fee_decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("chan_id", sa.BigInteger()),
        sa.Column("scid", sa.String(length=32)),
        sa.Column("peer_pubkey", sa.String(length=66), nullable=False),
        sa.Column("rule", sa.String(length=64)),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=32)),
        sa.Column("state_since", sa.DateTime(timezone=True)),
        *(sa.Column(f"old_{name}", kind()) for name, kind in POLICY),
        *(sa.Column(f"new_{name}", kind()) for name, kind in POLICY),
        sa.Column("error", sa.Text()),
        sa.Column(
            "detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fee_decisions"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["fee_runs.id"], name="fk_fee_decisions_run_id_fee_runs"
        ),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name="fk_fee_decisions_node_id_nodes"),
    )
    op.create_index("ix_fee_decisions_run_id", "fee_decisions", ["run_id"])
    op.create_index(
        "ix_fee_decisions_node_id_chan_id_id", "fee_decisions", ["node_id", "chan_id", "id"]
    )


def downgrade() -> None:
    op.drop_table("fee_decisions")
    op.drop_table("fee_runs")
