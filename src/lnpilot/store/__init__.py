"""lnpilot's database: current state, histories and rolled-up time series of the nodes.

SQLite (WAL) by default, PostgreSQL by URL, Alembic migrations applied at open. Writes go
through a :class:`StoreTransaction` (one per collector cycle), reads through a
:class:`StoreReader`. Schema and retention: ``docs/monitoring-data.md``.
"""

from lnpilot.store import (
    audit,
    backtests,
    channel_backups,
    fee_journal,
    lifecycle,
    rebalances,
    swaps,
    tokens,
)
from lnpilot.store.alerts import MonitorBook, monitor_book
from lnpilot.store.database import normalize_url, sqlite_url
from lnpilot.store.levels import Resolution, Retention
from lnpilot.store.migrate import head_revision, upgrade
from lnpilot.store.outbox import Notice, Outbox
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import (
    GAP_INTERVALS,
    BalanceStats,
    ChannelFlows,
    ChannelSeries,
    CollectorState,
    Direction,
    Event,
    EventKind,
    FlowStats,
    PeerEvent,
    PolicyRecord,
    PolicySource,
    RollupReport,
    SeriesPoint,
    channel_flows,
    sum_flows,
)
from lnpilot.store.store import Store
from lnpilot.store.transaction import StoreTransaction

__all__ = [
    "GAP_INTERVALS",
    "BalanceStats",
    "ChannelFlows",
    "ChannelSeries",
    "CollectorState",
    "Direction",
    "Event",
    "EventKind",
    "FlowStats",
    "MonitorBook",
    "Notice",
    "Outbox",
    "PeerEvent",
    "PolicyRecord",
    "PolicySource",
    "Resolution",
    "Retention",
    "RollupReport",
    "SeriesPoint",
    "Store",
    "StoreReader",
    "StoreTransaction",
    "audit",
    "backtests",
    "channel_backups",
    "channel_flows",
    "fee_journal",
    "head_revision",
    "lifecycle",
    "monitor_book",
    "normalize_url",
    "rebalances",
    "sqlite_url",
    "sum_flows",
    "swaps",
    "tokens",
    "upgrade",
]
