"""Probes keep what LNbits said of its installed extensions and their known security problems.

Revision ID: 0006
Revises: 0005

Frozen like 0001: the column is spelt out here, whatever ``lnpilot.store.alerts`` says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("monitor_probes", sa.Column("extension_advisories", JSON))


def downgrade() -> None:
    op.drop_column("monitor_probes", "extension_advisories")
