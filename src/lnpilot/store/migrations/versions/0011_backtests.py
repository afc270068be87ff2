"""Backtests started through the API or the dashboard, with their state and report.

Revision ID: 0011
Revises: 0010

Frozen like 0001: every column is spelt out here, whatever ``lnpilot.store.backtests`` says
later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "backtests",
        sa.Column("id", ID, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("current", sa.String(length=128), nullable=False),
        sa.Column("candidate", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("finished_at", AT, nullable=True),
        sa.Column("runs_done", sa.Integer(), nullable=False),
        sa.Column("runs_total", sa.Integer(), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_backtests"),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name="fk_backtests_node_id_nodes"),
    )
    op.create_index("ix_backtests_state", "backtests", ["state"])


def downgrade() -> None:
    op.drop_index("ix_backtests_state", table_name="backtests")
    op.drop_table("backtests")
