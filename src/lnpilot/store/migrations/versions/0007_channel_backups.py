"""Static channel backups: each verified multi-channel backup with its channel set and time.

Revision ID: 0007
Revises: 0006

Frozen like 0001: every column is spelt out here, whatever ``lnpilot.store.channel_backups``
says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_backups",
        sa.Column("id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("channel_points", JSON, nullable=False),
        sa.Column("multi_chan_backup", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_backups"),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name="fk_channel_backups_node_id_nodes"),
    )
    op.create_index("ix_channel_backups_node_id_id", "channel_backups", ["node_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_channel_backups_node_id_id", table_name="channel_backups")
    op.drop_table("channel_backups")
