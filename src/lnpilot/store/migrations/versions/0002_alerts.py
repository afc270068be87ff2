"""The alert engine's state and the notification outbox.

Revision ID: 0002
Revises: 0001

Alerts and their notification groups, silences, health probes, incidents with their
timeline and action plan, and the outbox (notices and their deliveries). Frozen like 0001:
every column is spelled out here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(table: str) -> tuple[sa.Column[Any], sa.PrimaryKeyConstraint]:
    return sa.Column("id", ID, nullable=False), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, column: str, target: str, nullable: bool = False) -> tuple[Any, Any]:
    kind = sa.Integer() if target == "nodes" else ID
    return sa.Column(column, kind, nullable=nullable), sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}"
    )


def upgrade() -> None:
    op.create_table(
        "alerts",
        *_id("alerts"),
        *_fk("alerts", "node_id", "nodes"),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("value", sa.Float()),
        sa.Column("details", JSON, nullable=False),
        _time("active_since"),
        _time("last_seen_at"),
        _time("fired_at", nullable=True),
        _time("resolved_at", nullable=True),
        sa.Column("suppressed", sa.String(length=80)),
    )
    op.create_index("ix_alerts_node_id_status", "alerts", ["node_id", "status"])
    op.create_index("ix_alerts_node_id_fingerprint", "alerts", ["node_id", "fingerprint"])
    op.create_table(
        "alert_groups",
        *_fk("alert_groups", "node_id", "nodes"),
        sa.Column("group_key", sa.String(length=512), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        _time("active_since", nullable=True),
        _time("last_notified_at", nullable=True),
        sa.Column("notified", JSON, nullable=False),
        sa.PrimaryKeyConstraint("node_id", "group_key", name="pk_alert_groups"),
    )
    op.create_table(
        "silences",
        *_id("silences"),
        sa.Column("matchers", JSON, nullable=False),
        _time("starts_at"),
        _time("ends_at"),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
    )
    op.create_table(
        "monitor_probes",
        *_id("monitor_probes"),
        *_fk("monitor_probes", "node_id", "nodes"),
        _time("at"),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float()),
        sa.Column("error", sa.Text()),
        sa.Column("block_height", sa.Integer()),
        sa.Column("synced_to_chain", sa.Boolean()),
        sa.Column("onchain_confirmed_sat", sa.BigInteger()),
        sa.Column("pending_htlcs", JSON),
    )
    op.create_index("ix_monitor_probes_node_id_at", "monitor_probes", ["node_id", "at"])
    op.create_table(
        "incidents",
        *_id("incidents"),
        *_fk("incidents", "node_id", "nodes"),
        _time("opened_at"),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        _time("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64)),
        _time("resolved_at", nullable=True),
        sa.Column("cause", sa.Text()),
        sa.Column("resolution", sa.Text()),
    )
    op.create_index("ix_incidents_node_id_status", "incidents", ["node_id", "status"])
    op.create_table(
        "incident_events",
        *_id("incident_events"),
        *_fk("incident_events", "incident_id", "incidents"),
        _time("at"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64)),
        sa.Column("data", JSON, nullable=False),
    )
    op.create_index("ix_incident_events_incident_id_id", "incident_events", ["incident_id", "id"])
    op.create_table(
        "incident_actions",
        *_id("incident_actions"),
        *_fk("incident_actions", "incident_id", "incidents"),
        sa.Column("horizon", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("safe", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("result", sa.Text()),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_index("ix_incident_actions_incident_id_id", "incident_actions", ["incident_id", "id"])
    op.create_index("ix_incident_actions_state", "incident_actions", ["state"])
    op.create_table(
        "notifications",
        *_id("notifications"),
        *_fk("notifications", "node_id", "nodes", nullable=True),
        _time("created_at"),
        sa.Column("group_key", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        _time("dispatched_at", nullable=True),
    )
    op.create_index("ix_notifications_dispatched_at", "notifications", ["dispatched_at"])
    op.create_table(
        "notification_deliveries",
        *_id("notification_deliveries"),
        *_fk("notification_deliveries", "notification_id", "notifications"),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("receiver", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        _time("lease_until", nullable=True),
        sa.Column("last_error", sa.Text()),
        _time("delivered_at", nullable=True),
        _time("created_at"),
        sa.UniqueConstraint(
            "notification_id",
            "receiver",
            name="uq_notification_deliveries_notification_id_receiver",
        ),
    )
    op.create_index(
        "ix_notification_deliveries_state_next_attempt_at",
        "notification_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index(
        "ix_notification_deliveries_route_delivered_at",
        "notification_deliveries",
        ["route", "delivered_at"],
    )


def downgrade() -> None:
    for table in (
        "notification_deliveries",
        "notifications",
        "incident_actions",
        "incident_events",
        "incidents",
        "monitor_probes",
        "silences",
        "alert_groups",
        "alerts",
    ):
        op.drop_table(table)
