"""The alert engine's tables, on the store's ``metadata`` (their migrations are the
store's: ``store/migrations``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.tables import _node_fk, metadata

alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("fingerprint", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("labels", Json, nullable=False),
    Column("summary", Text, nullable=False),
    Column("value", Float),
    Column("details", Json, nullable=False),
    Column("active_since", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("fired_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("suppressed", String(80)),
    Index(None, "node_id", "status"),
    Index(None, "node_id", "fingerprint"),
)

alert_groups = Table(
    "alert_groups",
    metadata,
    _node_fk(),
    Column("group_key", String(512), nullable=False),
    Column("labels", Json, nullable=False),
    Column("active_since", UtcDateTime),
    Column("last_notified_at", UtcDateTime),
    Column("notified", Json, nullable=False),
    PrimaryKeyConstraint("node_id", "group_key"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", Id, primary_key=True),
    Column("matchers", Json, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("comment", Text, nullable=False),
)

monitor_probes = Table(
    "monitor_probes",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("at", UtcDateTime, nullable=False),
    Column("backend", String(32), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("latency_ms", Float),
    Column("error", Text),
    Column("block_height", Integer),
    Column("synced_to_chain", Boolean),
    Column("onchain_confirmed_sat", BigInteger),
    Column("pending_htlcs", Json),
    Column("extension_advisories", Json),
    Index(None, "node_id", "at"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True),
    _node_fk(),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("title", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("labels", Json, nullable=False),
    Column("acknowledged_at", UtcDateTime),
    Column("acknowledged_by", String(64)),
    Column("resolved_at", UtcDateTime),
    Column("cause", Text),
    Column("resolution", Text),
    Index(None, "node_id", "status"),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("incident_id", Id, ForeignKey("incidents.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("author", String(64)),
    Column("data", Json, nullable=False),
    Index(None, "incident_id", "id"),
)

incident_actions = Table(
    "incident_actions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("incident_id", Id, ForeignKey("incidents.id"), nullable=False),
    Column("horizon", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("params", Json, nullable=False),
    Column("safe", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("result", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "incident_id", "id"),
    Index(None, "state"),
)
