"""The swap journal: swaps lnpilot started (stored before they are created) and their states.

Revision ID: 0009
Revises: 0008

Frozen like 0001: every column is spelt out here, whatever ``lnpilot.store.swaps`` says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "swaps",
        sa.Column("id", ID, nullable=False),
        sa.Column("intent_key", sa.String(length=128), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=True),
        sa.Column("wallet_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("swap_id", sa.String(length=64), nullable=True),
        sa.Column("boltz_id", sa.String(length=64), nullable=True),
        sa.Column("amount_sat", sa.BigInteger(), nullable=False),
        sa.Column("onchain_amount_sat", sa.BigInteger(), nullable=True),
        sa.Column("boltz_fee_sat", sa.BigInteger(), nullable=True),
        sa.Column("miner_fee_sat", sa.BigInteger(), nullable=True),
        sa.Column("cost_msat", sa.BigInteger(), nullable=True),
        sa.Column("address", sa.String(length=128), nullable=True),
        sa.Column("timeout_block_height", sa.Integer(), nullable=True),
        sa.Column("chan_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.Column("ext_status", sa.String(length=16), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_swaps"),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name="fk_swaps_node_id_nodes"),
        sa.UniqueConstraint("intent_key", name="uq_swaps_intent_key"),
    )
    op.create_index("ix_swaps_state", "swaps", ["state"])
    op.create_index("ix_swaps_swap_id", "swaps", ["swap_id"])
    op.create_table(
        "swap_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("swap_row_id", ID, nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_swap_events"),
        sa.ForeignKeyConstraint(
            ["swap_row_id"], ["swaps.id"], name="fk_swap_events_swap_row_id_swaps"
        ),
    )
    op.create_index("ix_swap_events_swap_row_id_id", "swap_events", ["swap_row_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_swap_events_swap_row_id_id", table_name="swap_events")
    op.drop_table("swap_events")
    op.drop_index("ix_swaps_swap_id", table_name="swaps")
    op.drop_index("ix_swaps_state", table_name="swaps")
    op.drop_table("swaps")
