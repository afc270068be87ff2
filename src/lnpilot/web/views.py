"""What each dashboard page shows, read from the store into plain view objects.

Pages are rendered from these objects alone, so a template never touches the database, and
a page's figures of one kind come from one read snapshot (the collector's and the journals'
in one, the alert engine's book in another). Everything is read from the store (what
the collector, the fee engine, the rebalancer and the alert engine recorded), never from the
node: the dashboard stays up and truthful about the past while the node is unreachable.

Flows over time come from :meth:`StoreReader.channel_totals_over` over consecutive aligned
windows (one statement for all the windows and all channels) rather than per-channel series:
the overview's daily bars and the channel table's sparklines then cost one query each,
whatever the number of channels or of windows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lnpilot.backup.export import Ledger, Period, accounting_totals
from lnpilot.base.domain import Channel, ChannelState, FailedForward, Forward, scid_from_chan_id
from lnpilot.lifecycle.closed import ClosedView, closed_views
from lnpilot.monitor.causes import Cause, causes_of, not_checked_of
from lnpilot.store import (
    ChannelFlows,
    ChannelSeries,
    Direction,
    FlowStats,
    PolicyRecord,
    Resolution,
    Store,
    StoreReader,
    channel_flows,
    fee_journal,
    lifecycle,
    rebalances,
    sum_flows,
)
from lnpilot.store.alerts import Alert, Incident, IncidentAction, TimelineEntry, monitor_book
from lnpilot.store.fee_journal import FeeDecision, FeeRun
from lnpilot.store.levels import EPOCH, bucket_floor
from lnpilot.store.lifecycle import Agreement
from lnpilot.store.metrics import UPTIME_WINDOW
from lnpilot.store.rebalances import RebalanceDecision, RebalanceRun
from lnpilot.store.uptime import uptime_share_watched

#: Days of forwards and fees the overview charts (one store query each: the page's cost).
OVERVIEW_DAYS = 14
#: The longer window the overview totals in one query.
OVERVIEW_MONTH = timedelta(days=30)
#: The channel table's sparklines: this many windows of ``SPARK_STEP``, the last one open.
SPARK_STEP = timedelta(hours=12)
SPARK_WINDOWS = 14
#: Ranges a channel page offers, by the name used in its URL; the first is the default.
RANGES: dict[str, timedelta] = {
    "7d": timedelta(days=7),
    "1d": timedelta(days=1),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}
#: Points a channel chart is drawn with at most (the store picks the resolution to fit).
CHART_POINTS = 400
FEE_RUNS_SHOWN = 30


@dataclass(frozen=True)
class Window:
    """Every channel's forwards over ``[start, end)``."""

    start: datetime
    end: datetime
    by_channel: dict[int, FlowStats]

    @property
    def forwards(self) -> int:
        """Forwards that left the node in the window (each forward leaves through one)."""
        return sum(f.forwards_out for f in self.by_channel.values())

    @property
    def fees_earned_msat(self) -> int:
        """Fees of those forwards (each shows once on its outgoing channel)."""
        return sum(f.fee_out_msat for f in self.by_channel.values())


async def windows(
    reader: StoreReader, node_id: int, now: datetime, step: timedelta, count: int
) -> list[Window]:
    """``count`` consecutive windows of ``step``, aligned on the UTC day, oldest first; the
    last one holds ``now`` and ends there."""
    day = bucket_floor(now, Resolution.DAY)
    last_start = day + (now - day) // step * step
    starts = [last_start - n * step for n in range(count - 1, -1, -1)]
    spans = [(start, min(start + step, now)) for start in starts]
    totals = await reader.channel_totals_over(node_id, spans, now=now)
    return [Window(start, end, found) for (start, end), found in zip(spans, totals, strict=True)]


def since_first_data(found: list[Window]) -> list[Window]:
    """``found`` without its leading windows in which no channel had any forward: time
    before the node was watched would draw as idle. At least two stay, to draw a line."""
    first = next((n for n, w in enumerate(found) if w.by_channel), len(found))
    return found[min(first, len(found) - 2) :]


@dataclass(frozen=True)
class Overview:
    now: datetime
    pubkey: str
    channels: list[Channel]
    days: list[Window]
    month: Window
    alerts: list[Alert]
    open_incidents: list[Incident]
    last_cycle_at: datetime | None

    @property
    def active(self) -> list[Channel]:
        return [c for c in self.channels if c.state is ChannelState.ACTIVE]

    @property
    def confirmed(self) -> list[Channel]:
        return [c for c in self.channels if c.chan_id is not None]

    @property
    def capacity_sat(self) -> int:
        return sum(c.capacity_sat for c in self.confirmed)

    @property
    def local_msat(self) -> int:
        return sum(c.local_balance_msat for c in self.confirmed)

    @property
    def remote_msat(self) -> int:
        return sum(c.remote_balance_msat for c in self.confirmed)

    def last_days(self, n: int) -> list[Window]:
        """The ``n`` latest UTC days (today, so far, included)."""
        return self.days[-n:]


async def overview(store: Store, node_id: int, pubkey: str, now: datetime) -> Overview:
    async with store.read() as reader:
        channels = await reader.channels(node_id)
        days = since_first_data(
            await windows(reader, node_id, now, timedelta(days=1), OVERVIEW_DAYS)
        )
        month_start = now - OVERVIEW_MONTH
        month = Window(
            month_start, now, await reader.channel_totals(node_id, month_start, now, now=now)
        )
        state = await reader.collector_state(node_id)
    async with monitor_book(store) as book:
        alerts = await book.open_alerts(node_id)
        incidents = await book.incidents(node_id=node_id, include_resolved=False)
    return Overview(
        now=now,
        pubkey=pubkey,
        channels=channels,
        days=days,
        month=month,
        alerts=sorted(alerts, key=lambda a: (-a.severity.rank, a.active_since)),
        open_incidents=incidents,
        last_cycle_at=state.last_cycle_at if state else None,
    )


@dataclass(frozen=True)
class ChannelTable:
    now: datetime
    since: datetime
    rows: list[ChannelFlows]  # flows: one per sparkline window, oldest first
    closed: list[ClosedView]  # most recently closed first


async def channel_table(store: Store, node_id: int, now: datetime) -> ChannelTable:
    async with store.read() as reader:
        channels = await reader.channels(node_id)
        spans = since_first_data(await windows(reader, node_id, now, SPARK_STEP, SPARK_WINDOWS))
        closed = await closed_views(reader, node_id, now)
    rows = channel_flows(channels, [w.by_channel for w in spans])
    rows.sort(key=lambda r: (r.channel.chan_id is None, -r.total.fee_out_msat))
    return ChannelTable(now, spans[0].start, rows, closed)


@dataclass(frozen=True)
class ChannelPage:
    now: datetime
    channel: Channel
    range_name: str
    start: datetime
    series: ChannelSeries
    policies: list[PolicyRecord]  # the whole history: a change is judged against the last
    decisions: list[FeeDecision]
    alerts: list[Alert]
    agreement: Agreement | None = None  # what was agreed at open, when lnpilot opened it

    @property
    def changes(self) -> list[PolicyChange]:
        """Both sides' policy entries in the range, newest first."""
        return [c for c in policy_changes(self.policies) if c.record.at >= self.start][::-1]

    @property
    def our_changes(self) -> list[PolicyChange]:
        """Our side's changes in the range, oldest first: the ones the charts mark."""
        return [
            c
            for c in policy_changes(self.policies)
            if c.record.at >= self.start and c.record.direction is Direction.LOCAL and not c.first
        ]

    @property
    def total(self) -> FlowStats:
        return sum_flows([p.flow for p in self.series.points])


async def channel_page(
    store: Store, node_id: int, scid: str, range_name: str, now: datetime
) -> ChannelPage | None:
    """The channel with short channel id ``scid`` over the named range; None when the store
    has no such open or pending channel."""
    start = now - RANGES[range_name]
    async with store.read() as reader:
        channel = next((c for c in await reader.channels(node_id) if c.scid == scid), None)
        if channel is None or channel.chan_id is None:
            return None
        series = await reader.channel_series(
            node_id, channel.chan_id, start, now, max_points=CHART_POINTS, now=now
        )
        policies = await reader.policy_history(node_id, channel.chan_id, EPOCH, now)
        decisions = await fee_journal.channel_decisions(reader, node_id, channel.chan_id)
        agreement = (await lifecycle.live_agreements(reader, node_id)).get(channel.channel_point)
    async with monitor_book(store) as book:
        alerts = [
            a
            for a in await book.list_alerts(node_id, include_resolved=True, limit=200)
            if a.labels.get("scid") == scid
        ]
    return ChannelPage(
        now, channel, range_name, start, series, policies, decisions, alerts, agreement
    )


@dataclass(frozen=True)
class RunSummary:
    run: FeeRun
    decisions: list[FeeDecision]

    @property
    def changes(self) -> list[FeeDecision]:
        """Decisions that proposed an update (sent or, in a dry run, planned)."""
        return [d for d in self.decisions if d.action == "update"]


async def fee_runs(store: Store, node_id: int) -> list[RunSummary]:
    """The latest runs with their decisions, newest first."""
    async with store.read() as reader:
        runs = await fee_journal.runs(reader, node_id, limit=FEE_RUNS_SHOWN)
        return [
            RunSummary(run, await fee_journal.run_decisions(reader, run.id or 0)) for run in runs
        ]


async def fee_run(store: Store, node_id: int, run_id: int) -> RunSummary | None:
    async with store.read() as reader:
        run = await fee_journal.get_run(reader, run_id)
        if run is None or run.node_id != node_id:
            return None
        return RunSummary(run, await fee_journal.run_decisions(reader, run_id))


@dataclass(frozen=True)
class AlertsPage:
    now: datetime
    alerts: list[Alert]
    incidents: list[Incident]


async def alerts_page(store: Store, node_id: int, now: datetime) -> AlertsPage:
    async with monitor_book(store) as book:
        alerts = await book.list_alerts(node_id, include_resolved=True, limit=200)
        incidents = await book.incidents(node_id=node_id)
    return AlertsPage(now, alerts, incidents)


@dataclass(frozen=True)
class IncidentPage:
    now: datetime
    incident: Incident
    timeline: list[TimelineEntry]
    actions: list[IncidentAction]

    @property
    def causes(self) -> list[Cause]:
        return causes_of(self.timeline)

    @property
    def not_checked(self) -> list[str] | None:
        return not_checked_of(self.timeline)


async def incident_page(
    store: Store, node_id: int, incident_id: int, now: datetime
) -> IncidentPage | None:
    async with monitor_book(store) as book:
        incident = await book.incident(incident_id)
        if incident is None or incident.node_id != node_id:
            return None
        return IncidentPage(
            now, incident, await book.timeline(incident_id), await book.actions(incident_id)
        )


@dataclass(frozen=True)
class PolicyChange:
    """A policy history entry with what changed since the previous one of its direction,
    in words; ``first`` when there is none (the collector's first sight of it)."""

    record: PolicyRecord
    text: str
    first: bool


def policy_changes(records: Sequence[PolicyRecord]) -> list[PolicyChange]:
    """The entries of a channel's whole policy history (oldest first) as changes."""
    last: dict[Direction, PolicyRecord] = {}
    found = []
    for record in records:
        before = last.get(record.direction)
        found.append(PolicyChange(record, _change_text(record, before), before is None))
        last[record.direction] = record
    return found


def _change_text(record: PolicyRecord, before: PolicyRecord | None) -> str:
    new = record.policy
    if before is None:
        return f"{new.fee_rate_ppm} ppm, base {new.base_fee_msat} msat"
    old = before.policy
    parts = []
    if old.fee_rate_ppm != new.fee_rate_ppm:
        parts.append(f"{old.fee_rate_ppm}→{new.fee_rate_ppm} ppm")
    if old.base_fee_msat != new.base_fee_msat:
        parts.append(f"base {old.base_fee_msat}→{new.base_fee_msat} msat")
    if old.inbound_fee_rate_ppm != new.inbound_fee_rate_ppm:
        parts.append(f"inbound {old.inbound_fee_rate_ppm}→{new.inbound_fee_rate_ppm} ppm")
    if old.disabled != new.disabled:
        parts.append("disabled" if new.disabled else "enabled")
    return ", ".join(parts) or "other fields"


#: How far back the rebalance page lists executed rebalances.
REBALANCE_HISTORY = timedelta(days=30)


@dataclass(frozen=True)
class RebalancePage:
    now: datetime
    since: datetime
    executed: list[RebalanceDecision]  # newest first
    runs: list[RebalanceRun]
    spent_today_msat: int
    spent_since_msat: int


async def rebalance_page(store: Store, node_id: int, now: datetime) -> RebalancePage:
    since = now - REBALANCE_HISTORY
    today = bucket_floor(now, Resolution.DAY)
    async with store.read() as reader:
        executed = await rebalances.executed(reader, node_id, since)
        runs = await rebalances.runs(reader, node_id, limit=FEE_RUNS_SHOWN)
        spent_today, spent_since = await rebalances.spending(reader, node_id, [today, since])
    return RebalancePage(now, since, executed[::-1], runs, spent_today, spent_since)


@dataclass(frozen=True)
class RebalanceRunView:
    """One planning run and its every channel decision, as journaled."""

    run: RebalanceRun
    decisions: list[RebalanceDecision]

    @property
    def dry_run(self) -> bool:
        return self.run.mode != "apply"


async def rebalance_run(store: Store, node_id: int, run_id: int) -> RebalanceRunView | None:
    async with store.read() as reader:
        found = await rebalances.get_run(reader, run_id)
        if found is None or found.node_id != node_id:
            return None
        return RebalanceRunView(found, await rebalances.run_decisions(reader, run_id))


#: How far back the failed-HTLC page counts, and how many of the latest it lists.
FAILED_WINDOW = timedelta(days=7)
FAILED_SHOWN = 50


@dataclass(frozen=True)
class FailureCount:
    """Failed HTLCs of one kind: a reason, or a channel pair (``-`` where LND gave none)."""

    key: str
    count: int
    amount_msat: int
    for_lack_of_liquidity: bool


@dataclass(frozen=True)
class FailedPage:
    """What LNDg's failed-HTLCs page answers: why forwards failed and through which
    channels, over :data:`FAILED_WINDOW`, most frequent first, and the latest ones."""

    now: datetime
    since: datetime
    total: int
    by_reason: list[FailureCount]
    by_channel: list[FailureCount]
    latest: list[FailedForward]  # newest first


def scid_or_dash(chan_id: int | None) -> str:
    return scid_from_chan_id(chan_id) if chan_id else "-"


async def failed_page(store: Store, node_id: int, now: datetime) -> FailedPage:
    since = now - FAILED_WINDOW
    async with store.read() as reader:
        failed = await reader.failed_forwards(node_id, since, now)
    return FailedPage(
        now,
        since,
        len(failed),
        _count(failed, lambda f: f.failure),
        _count(failed, lambda f: f"{scid_or_dash(f.chan_id_in)} → {scid_or_dash(f.chan_id_out)}"),
        failed[::-1][:FAILED_SHOWN],
    )


def _count(
    failed: Sequence[FailedForward], key_of: Callable[[FailedForward], str]
) -> list[FailureCount]:
    """Counts and amounts per key, most frequent first (ties by key, for a stable page)."""
    groups: dict[str, list[FailedForward]] = {}
    for f in failed:
        groups.setdefault(key_of(f), []).append(f)
    counts = [
        FailureCount(
            key,
            len(group),
            sum(f.amt_out_msat or f.amt_in_msat or 0 for f in group),
            any(f.for_lack_of_liquidity for f in group),
        )
        for key, group in groups.items()
    ]
    return sorted(counts, key=lambda c: (-c.count, c.key))


@dataclass(frozen=True)
class PeerRow:
    """One peer across its open channels: fees both ways as ranges (a peer with several
    channels may price them apart), and its uptime as the channel metrics have it (the
    share of 7 days it was connected, over the part the collector watched)."""

    pubkey: str
    alias: str | None
    channels: list[Channel]
    capacity_sat: int
    local_balance_msat: int
    our_fee_ppm: tuple[int, int] | None  # (lowest, highest) over its channels
    their_fee_ppm: tuple[int, int] | None
    uptime: float | None  # 0..1; None before the collector saw the peer


@dataclass(frozen=True)
class PeersPage:
    now: datetime
    rows: list[PeerRow]  # most capacity first


async def peers_page(store: Store, node_id: int, now: datetime) -> PeersPage:
    async with store.read() as reader:
        found = await reader.channels(node_id)
        events = await reader.peer_events(node_id, EPOCH, now)
    uptime = uptime_share_watched(events, now - UPTIME_WINDOW, now)
    by_peer: dict[str, list[Channel]] = {}
    for channel in found:
        if channel.state is ChannelState.ACTIVE or channel.state is ChannelState.INACTIVE:
            by_peer.setdefault(channel.peer_pubkey, []).append(channel)
    rows = [_peer_row(pubkey, chans, uptime.get(pubkey)) for pubkey, chans in by_peer.items()]
    return PeersPage(now, sorted(rows, key=lambda r: (-r.capacity_sat, r.pubkey)))


def _peer_row(pubkey: str, chans: list[Channel], uptime: float | None) -> PeerRow:
    ours = [c.local_policy.fee_rate_ppm for c in chans if c.local_policy is not None]
    theirs = [c.remote_policy.fee_rate_ppm for c in chans if c.remote_policy is not None]
    return PeerRow(
        pubkey,
        next((c.peer_alias for c in chans if c.peer_alias), None),
        sorted(chans, key=lambda c: c.scid or ""),
        sum(c.capacity_sat for c in chans),
        sum(c.local_balance_msat for c in chans),
        (min(ours), max(ours)) if ours else None,
        (min(theirs), max(theirs)) if theirs else None,
        uptime,
    )


#: Forwards per page of the forwards page, and the periods it offers (by URL name).
FORWARDS_PER_PAGE = 50
FORWARD_PERIODS: dict[str, timedelta] = {
    "7d": timedelta(days=7),
    "1d": timedelta(days=1),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}


@dataclass(frozen=True)
class ForwardsPage:
    """One page of forwards, newest first, paged in SQL; filtered by a channel or a peer."""

    now: datetime
    period: str
    channel: str | None  # the scid filtered on
    peer: str | None  # the pubkey filtered on
    page: int  # from 1
    pages: int
    total: int
    rows: list[Forward]
    names: dict[int, str]  # chan_id -> "scid (alias)" for every channel of the node
    peers: list[tuple[str, str]]  # (pubkey, alias or short pubkey) to filter by


async def forwards_page(
    store: Store,
    node_id: int,
    now: datetime,
    *,
    period: str,
    channel: str | None,
    peer: str | None,
    page: int,
) -> ForwardsPage | None:
    """None when the channel or the peer is not one of the node's."""
    async with store.read() as reader:
        channels = await reader.channels(node_id)
        chan_ids: list[int] | None = None
        if channel is not None:
            chan_ids = [c.chan_id for c in channels if c.scid == channel and c.chan_id]
        elif peer is not None:
            chan_ids = [c.chan_id for c in channels if c.peer_pubkey == peer and c.chan_id]
        if chan_ids == []:
            return None
        rows, total = await reader.forwards_page(
            node_id,
            now - FORWARD_PERIODS[period],
            now,
            chan_ids=chan_ids,
            limit=FORWARDS_PER_PAGE,
            offset=(page - 1) * FORWARDS_PER_PAGE,
        )
    names = {
        c.chan_id: c.scid + (f" ({c.peer_alias})" if c.peer_alias else "")
        for c in channels
        if c.chan_id is not None and c.scid is not None
    }
    peers = sorted({(c.peer_pubkey, c.peer_alias or c.peer_pubkey[:16]) for c in channels})
    pages = max(1, -(-total // FORWARDS_PER_PAGE))
    return ForwardsPage(now, period, channel, peer, page, pages, total, rows, names, peers)


#: Ranges the P&L page offers, and the accounting periods it groups by.
PNL_RANGES: dict[str, timedelta] = {
    "90d": timedelta(days=90),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}
PNL_PERIODS = ("month", "day")


@dataclass(frozen=True)
class PnlPage:
    """The accounting of the range, per period and per channel, with the totals: the
    figures of ``lnpilot export accounting`` (:func:`lnpilot.backup.export.accounting_totals`)."""

    now: datetime
    range_name: str
    period: str
    start: datetime
    total: Ledger
    by_period: list[tuple[date, Ledger]]  # oldest first
    by_channel: list[tuple[int, Ledger]]  # best net first
    names: dict[int, str]


async def pnl_page(
    store: Store, node_id: int, now: datetime, range_name: str, period: str
) -> PnlPage:
    start = now - PNL_RANGES[range_name]
    async with store.read() as reader:
        found = await accounting_totals(reader, node_id, start, now, Period(period))
        known = await reader.channels(node_id)
    # A closed channel is no longer among the node's: it is named by its short id alone.
    names = {chan_id: scid_from_chan_id(chan_id) for chan_id in found.by_channel}
    names |= {
        c.chan_id: (c.scid or "pending") + (f" ({c.peer_alias})" if c.peer_alias else "")
        for c in known
        if c.chan_id is not None
    }
    return PnlPage(
        now,
        range_name,
        period,
        start,
        found.total,
        list(found.by_period.items()),
        sorted(found.by_channel.items(), key=lambda item: (-item[1].net_msat, item[0])),
        names,
    )
