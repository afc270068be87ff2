"""``/metrics``: the node, its channels, alerts, the daemon's loops and the LNbits client, in
the Prometheus text format. Reference of every series: ``docs/grafana.md``.

Built fresh at each scrape from the store (what the collector recorded), the loop health
registry and the client's per-operation stats, so the numbers are the ones the API and the
dashboard show and nothing is kept twice. Counters are totals since the store's first
record (forwards and the daily rollups are kept forever by default, so they only grow);
Prometheus' ``rate`` and ``increase`` do the rest.

Labels hold only public or lnpilot-made names: channel ids, peer pubkeys and aliases, rule
and loop names, LNbits operation *templates* (``GET /api/v1/payments/{payment_hash}``): no
key, token, macaroon or wallet id can reach a series.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from lnpilot.base.domain import Channel, ChannelState
from lnpilot.node.backend import NodeError
from lnpilot.rebalance import RebalanceOutcome
from lnpilot.service.context import Services
from lnpilot.service.ownership import Role, role_of
from lnpilot.store import Direction, FlowStats, PolicyRecord, fee_journal, rebalances
from lnpilot.store.alerts import AlertStatus, IncidentStatus, monitor_book
from lnpilot.store.levels import EPOCH
from lnpilot.store.outbox import Severity
from lnpilot.store.rebalances import RebalanceDecision, RebalanceRun

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CHANNEL_LABELS = ("channel", "peer", "alias")
MSAT_PER_SAT = 1000


class _Families(Collector):
    """Hands the registry the families built for one scrape."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


async def render(services: Services) -> bytes:
    """One scrape's worth of series, in the text exposition format."""
    families = [*_loop_families(services), *_client_families(services)]
    node_id = await _node_id_if_known(services)
    if node_id is not None:
        families += await _store_families(services, node_id)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return generate_latest(registry)


async def _node_id_if_known(services: Services) -> int | None:
    """The node's id, or None while the node was never reached or collected: the loop and
    client series still say why."""
    try:
        return await services.node_id()
    except NodeError:
        return None


def _ts(at: datetime | None) -> float:
    return at.timestamp() if at is not None else 0.0


def _loop_families(services: Services) -> Iterator[Metric]:
    now = services.clock()
    up = GaugeMetricFamily(
        "lnpilot_loop_up",
        "1 when the loop is not failing nor more than three intervals behind its schedule",
        labels=["loop"],
    )
    success = GaugeMetricFamily(
        "lnpilot_loop_last_success_timestamp_seconds",
        "When the loop last succeeded (0: never)",
        labels=["loop"],
    )
    duration = GaugeMetricFamily(
        "lnpilot_loop_last_duration_seconds", "How long the loop's last run took", labels=["loop"]
    )
    interval = GaugeMetricFamily(
        "lnpilot_loop_interval_seconds", "The loop's schedule", labels=["loop"]
    )
    runs = CounterMetricFamily("lnpilot_loop_runs", "Runs of the loop", labels=["loop"])
    failures = CounterMetricFamily(
        "lnpilot_loop_failures", "Runs of the loop that failed", labels=["loop"]
    )
    for status in services.health.all():
        name = [status.name]
        up.add_metric(name, 1.0 if status.healthy(now) else 0.0)
        success.add_metric(name, _ts(status.last_success_at))
        duration.add_metric(name, status.last_duration_s or 0.0)
        interval.add_metric(name, status.interval_s)
        runs.add_metric(name, status.runs)
        failures.add_metric(name, status.failures)
    yield from (up, success, duration, interval, runs, failures)
    role = GaugeMetricFamily(
        "lnpilot_ownership_role",
        "1 for this daemon's role on the node: owner (its loops act) or standby (another"
        " daemon sharing the PostgreSQL database owns it)",
        labels=["role"],
    )
    mine = role_of(services.health)
    for each in Role:
        role.add_metric([each.value], 1.0 if each is mine else 0.0)
    yield role


def _client_families(services: Services) -> Iterator[Metric]:
    if services.client is None:
        return
    latency = SummaryMetricFamily(
        "lnpilot_lnbits_request_duration_seconds",
        "LNbits client requests and their total time, per operation",
        labels=["operation"],
    )
    retries = CounterMetricFamily(
        "lnpilot_lnbits_retries", "LNbits client retries, per operation", labels=["operation"]
    )
    errors = CounterMetricFamily(
        "lnpilot_lnbits_errors", "LNbits client requests that failed", labels=["operation"]
    )
    for operation, stats in sorted(services.client.transport.stats.items()):
        latency.add_metric([operation], stats.requests, stats.latency_total_s)
        retries.add_metric([operation], stats.retries)
        errors.add_metric([operation], stats.errors)
    yield from (latency, retries, errors)


async def _store_families(services: Services, node_id: int) -> list[Metric]:
    now = services.clock()
    async with services.store.read() as reader:
        channels = await reader.channels(node_id)
        policies = await reader.current_policies(node_id)
        totals = await reader.channel_totals(node_id, EPOCH, now, now=now)
        state = await reader.collector_state(node_id)
        last_runs = await fee_journal.runs(reader, node_id, limit=1)
        (rebalance_fees_msat,) = await rebalances.spending(reader, node_id, [EPOCH])
        rebalanced = await rebalances.executed(reader, node_id, EPOCH)
        last_rebalance_runs = await rebalances.runs(reader, node_id, limit=1)
    async with monitor_book(services.store) as book:
        alerts = await book.list_alerts(node_id)
        incidents = await book.incidents(node_id=node_id, include_resolved=False)
        outbox = await book.outbox.counts()

    pubkey = await services.pubkey()
    info = GaugeMetricFamily("lnpilot_node_info", "The node lnpilot watches", labels=["pubkey"])
    info.add_metric([pubkey], 1)
    families: list[Metric] = [info]
    families += _node_families(channels, totals.values())
    families += _channel_families(channels, policies, totals)

    alert_counts = GaugeMetricFamily(
        "lnpilot_alerts", "Open alerts by status and severity", labels=["status", "severity"]
    )
    for status in (AlertStatus.PENDING, AlertStatus.FIRING):
        for severity in Severity:
            count = sum(1 for a in alerts if a.status is status and a.severity is severity)
            alert_counts.add_metric([status.value, severity.value], count)
    firing = GaugeMetricFamily(
        "lnpilot_alert_firing",
        "1 per firing alert, with its rule and what it is about",
        labels=["rule", "severity", "channel", "peer", "suppressed"],
    )
    for alert in alerts:
        if alert.status is AlertStatus.FIRING:
            labels = alert.labels
            firing.add_metric(
                [
                    alert.rule,
                    alert.severity.value,
                    labels.get("scid", ""),
                    labels.get("peer", ""),
                    "1" if alert.suppressed else "0",
                ],
                1,
            )
    incident_counts = GaugeMetricFamily(
        "lnpilot_incidents", "Unresolved incidents", labels=["status", "severity"]
    )
    for istatus in (IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED):
        for severity in Severity:
            count = sum(1 for i in incidents if i.status is istatus and i.severity is severity)
            incident_counts.add_metric([istatus.value, severity.value], count)
    deliveries = GaugeMetricFamily(
        "lnpilot_notifications", "Notification deliveries by state", labels=["state"]
    )
    for name, count in sorted(outbox.items()):
        deliveries.add_metric([name], count)
    families += [alert_counts, firing, incident_counts, deliveries]

    families.append(
        GaugeMetricFamily(
            "lnpilot_collector_last_cycle_timestamp_seconds",
            "When the collector last recorded the node (0: never)",
            value=_ts(state.last_cycle_at if state else None),
        )
    )
    last_run = last_runs[0] if last_runs else None
    fee_run = GaugeMetricFamily(
        "lnpilot_fee_last_run_timestamp_seconds", "When the fee engine last ran (0: never)"
    )
    fee_run.add_metric([], _ts(last_run.at if last_run else None))
    budget = GaugeMetricFamily(
        "lnpilot_fee_budget_updates",
        "The fee engine's daily gossip budget at its last run: limit and used",
        labels=["kind"],
    )
    budget.add_metric(["limit"], (last_run.budget_limit or 0) if last_run else 0)
    budget.add_metric(["used"], (last_run.budget_used or 0) if last_run else 0)
    families += [fee_run, budget]
    families += _rebalance_families(rebalance_fees_msat, rebalanced, last_rebalance_runs)
    return families


def _rebalance_families(
    fees_msat: int, done: Sequence[RebalanceDecision], last_runs: Sequence[RebalanceRun]
) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "lnpilot_rebalance_fees_msat",
        "Fees committed to rebalancing: paid, plus in flight or of unknown outcome",
        value=fees_msat,
    )
    yield CounterMetricFamily(
        "lnpilot_rebalance_moved_msat",
        "Liquidity moved by rebalances",
        value=sum(d.moved_msat or 0 for d in done),
    )
    outcomes = CounterMetricFamily(
        "lnpilot_rebalances", "Rebalances started, by outcome", labels=["outcome"]
    )
    for outcome in sorted({*(o.value for o in RebalanceOutcome), *(d.outcome for d in done)}):
        outcomes.add_metric([outcome], sum(1 for d in done if d.outcome == outcome))
    yield outcomes
    last = last_runs[0] if last_runs else None
    yield GaugeMetricFamily(
        "lnpilot_rebalance_last_run_timestamp_seconds",
        "When the rebalancer last planned (0: never)",
        value=_ts(last.at if last else None),
    )
    yield GaugeMetricFamily(
        "lnpilot_rebalance_budget_room_msat",
        "What the budget still allowed at the last run",
        value=last.budget_room_msat if last else 0,
    )


def _node_families(channels: Sequence[Channel], flows: Iterable[FlowStats]) -> Iterator[Metric]:
    by_state = GaugeMetricFamily("lnpilot_node_channels", "Channels by state", labels=["state"])
    for state in ChannelState:
        if state is not ChannelState.CLOSED:
            by_state.add_metric([state.value], sum(1 for c in channels if c.state is state))
    yield by_state
    opened = [c for c in channels if c.state is not ChannelState.PENDING_OPEN]
    for name, doc, value in (
        ("capacity_sat", "Capacity of open channels", sum(c.capacity_sat for c in opened)),
        (
            "local_balance_sat",
            "Our side of open channels",
            sum(c.local_balance_msat for c in opened) // MSAT_PER_SAT,
        ),
        (
            "remote_balance_sat",
            "The peers' side of open channels",
            sum(c.remote_balance_msat for c in opened) // MSAT_PER_SAT,
        ),
    ):
        yield GaugeMetricFamily(f"lnpilot_node_{name}", doc, value=value)
    flows = list(flows)
    # A forward shows on both its channels: the node counts it once, by the way out (a
    # failed one by the way in, the only channel it surely has).
    for name, doc, value in (
        ("forwards", "Forwards routed", sum(f.forwards_out for f in flows)),
        ("forwarded_msat", "Amount forwarded", sum(f.volume_out_msat for f in flows)),
        ("fees_earned_msat", "Routing fees earned", sum(f.fee_out_msat for f in flows)),
        ("failed_forwards", "Forwards that failed", sum(f.failed_in for f in flows)),
    ):
        yield CounterMetricFamily(f"lnpilot_node_{name}", doc, value=value)


def _channel_families(
    channels: Sequence[Channel],
    policies: dict[tuple[int, Direction], PolicyRecord],
    totals: dict[int, FlowStats],
) -> Iterator[Metric]:
    def gauge(name: str, doc: str, extra: Sequence[str] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"lnpilot_channel_{name}", doc, labels=[*CHANNEL_LABELS, *extra])

    def counter(name: str, doc: str) -> CounterMetricFamily:
        return CounterMetricFamily(
            f"lnpilot_channel_{name}", doc, labels=[*CHANNEL_LABELS, "direction"]
        )

    capacity = gauge("capacity_sat", "Channel capacity")
    local = gauge("local_balance_sat", "Our side of the channel")
    remote = gauge("remote_balance_sat", "The peer's side of the channel")
    ratio = gauge("local_ratio", "Our share of the channel's balance (0..1)")
    active = gauge("active", "1 when the channel is active")
    htlcs = gauge("pending_htlcs", "HTLCs in flight")
    fee_rate = gauge("fee_rate_ppm", "Proportional fee of each direction", ["direction"])
    base_fee = gauge("base_fee_msat", "Base fee of each direction", ["direction"])
    inbound = gauge("inbound_fee_rate_ppm", "Inbound fee rate (signed)", ["direction"])
    forwards = counter("forwards", "Forwards that entered (in) or left (out) through it")
    volume = counter("forwarded_msat", "Amount that entered (in) or left (out) through it")
    fees = counter("fees_msat", "Fees of forwards through it; out is what it earned")
    failed = counter("failed_forwards", "Failed forwards that came in or were to go out")
    for channel in channels:
        if channel.chan_id is None:  # pending open: no scid yet
            continue
        labels = [channel.scid or "", channel.peer_pubkey, channel.peer_alias or ""]
        capacity.add_metric(labels, channel.capacity_sat)
        local.add_metric(labels, channel.local_balance_msat // MSAT_PER_SAT)
        remote.add_metric(labels, channel.remote_balance_msat // MSAT_PER_SAT)
        ratio.add_metric(labels, channel.local_ratio)
        active.add_metric(labels, 1 if channel.state is ChannelState.ACTIVE else 0)
        htlcs.add_metric(labels, channel.num_pending_htlcs)
        for direction in Direction:
            record = policies.get((channel.chan_id, direction))
            if record is None:
                continue
            policy = record.policy
            fee_rate.add_metric([*labels, direction.value], policy.fee_rate_ppm)
            base_fee.add_metric([*labels, direction.value], policy.base_fee_msat)
            if policy.inbound_fee_rate_ppm is not None:
                inbound.add_metric([*labels, direction.value], policy.inbound_fee_rate_ppm)
        flow = totals.get(channel.chan_id, FlowStats())
        for family, way_in, way_out in (
            (forwards, flow.forwards_in, flow.forwards_out),
            (volume, flow.volume_in_msat, flow.volume_out_msat),
            (fees, flow.fee_in_msat, flow.fee_out_msat),
            (failed, flow.failed_in, flow.failed_out),
        ):
            family.add_metric([*labels, "in"], way_in)
            family.add_metric([*labels, "out"], way_out)
    yield from (capacity, local, remote, ratio, active, htlcs, fee_rate, base_fee, inbound)
    yield from (forwards, volume, fees, failed)
