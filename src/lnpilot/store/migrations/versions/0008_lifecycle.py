"""The channel lifecycle: stored open/close plans, their step journal, and peer agreements.

Revision ID: 0008
Revises: 0007

Frozen like 0001: every column is spelt out here, whatever ``lnpilot.store.lifecycle``
says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AT = sa.DateTime(timezone=True)
PUBKEY = sa.String(length=66)


def upgrade() -> None:
    op.create_table(
        "lifecycle_plans",
        sa.Column("id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("next_step", sa.String(length=16), nullable=True),
        sa.Column("chan_id", sa.BigInteger(), nullable=True),
        sa.Column("scid", sa.String(length=32), nullable=True),
        sa.Column("channel_point", sa.String(length=80), nullable=True),
        sa.Column("peer_pubkey", PUBKEY, nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("basis", JSON, nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lifecycle_plans"),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name="fk_lifecycle_plans_node_id_nodes"),
    )
    op.create_index("ix_lifecycle_plans_node_id_id", "lifecycle_plans", ["node_id", "id"])
    op.create_table(
        "lifecycle_steps",
        sa.Column("id", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lifecycle_steps"),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["lifecycle_plans.id"], name="fk_lifecycle_steps_plan_id_lifecycle_plans"
        ),
    )
    op.create_index("ix_lifecycle_steps_plan_id_id", "lifecycle_steps", ["plan_id", "id"])
    op.create_table(
        "channel_agreements",
        sa.Column("id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("peer_pubkey", PUBKEY, nullable=False),
        sa.Column("channel_point", sa.String(length=80), nullable=True),
        sa.Column("chan_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(length=256), nullable=True),
        sa.Column("terms", JSON, nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("archived_at", AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_channel_agreements"),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name="fk_channel_agreements_node_id_nodes"
        ),
    )
    op.create_index(
        "ix_channel_agreements_node_id_peer_pubkey",
        "channel_agreements",
        ["node_id", "peer_pubkey"],
    )


def downgrade() -> None:
    op.drop_index("ix_channel_agreements_node_id_peer_pubkey", table_name="channel_agreements")
    op.drop_table("channel_agreements")
    op.drop_index("ix_lifecycle_steps_plan_id_id", table_name="lifecycle_steps")
    op.drop_table("lifecycle_steps")
    op.drop_index("ix_lifecycle_plans_node_id_id", table_name="lifecycle_plans")
    op.drop_table("lifecycle_plans")
