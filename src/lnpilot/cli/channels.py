"""``lnpilot channels`` and ``lnpilot channel SCID``: the channels as the collector recorded
them, with their metrics (:mod:`lnpilot.store.metrics`).

They read the store only, so they answer instantly and say the same as the fee engine and
the alerts would. The node is asked for its pubkey alone (to find it in the store), unless
``--node`` gives it; when it cannot be reached, the one node the store holds is shown, under
a line saying the node is unreachable and how old the picture is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from lnpilot.api.channels import ChannelDetail
from lnpilot.base import flow
from lnpilot.base.domain import ChannelPolicy, ChannelState, chan_id_from_scid
from lnpilot.cli import closed as closed_output
from lnpilot.cli import output
from lnpilot.cli.collect import DbOption, describe_event, with_node_and_store
from lnpilot.cli.runtime import ExitCode, JsonFlag
from lnpilot.collect.identity import NodeIdentity, node_identity
from lnpilot.lifecycle.closed import ClosedHistory, ClosedView, closed_history, closed_views
from lnpilot.node.backend import NodeBackend
from lnpilot.store import CollectorState, Event, PolicyRecord, Store, lifecycle
from lnpilot.store.lifecycle import Agreement
from lnpilot.store.metrics import ChannelMetrics, channel_metrics

T = TypeVar("T")

NodeOption = Annotated[
    str | None,
    typer.Option("--node", help="Node pubkey in the store (default: ask the configured node)."),
]
#: How far back ``lnpilot channel`` lists events and policy changes.
HISTORY = timedelta(days=30)
_BAR_WIDTH = 10
_STATE_STYLE = {
    ChannelState.ACTIVE: "green",
    ChannelState.INACTIVE: "red",
    ChannelState.PENDING_CLOSE: "yellow",
}
_WEEK = timedelta(days=7)


class NotCollected(Exception):
    """The store has nothing for this node (or channel) yet."""


async def store_node_id(
    node: NodeBackend, store: Store, pubkey: str | None
) -> tuple[int, NodeIdentity]:
    identity = NodeIdentity(pubkey) if pubkey else await node_identity(node, store)
    async with store.read() as reader:
        node_id = await reader.node_id(identity.pubkey)
    if node_id is None:
        raise NotCollected(
            f"the store has nothing of node {identity.pubkey} yet: run lnpilot collect"
        )
    return node_id, identity


def _say_unreachable(identity: NodeIdentity, state: CollectorState | None) -> None:
    if identity.unreachable is None:
        return
    last = output.when(state.last_cycle_at) if state and state.last_cycle_at else "never"
    output.error(
        f"node unreachable ({identity.unreachable}); showing the store as of its last "
        f"collection ({last})"
    )


def run_on_store(
    ctx: typer.Context, db: str | None, work: Callable[[NodeBackend, Store], Awaitable[T]]
) -> T:
    try:
        return with_node_and_store(ctx, db, work)
    except NotCollected as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.FAILED) from None


def channels(
    ctx: typer.Context,
    node: NodeOption = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
    closed: Annotated[
        bool,
        typer.Option(
            "--closed", help="The closed channels instead: close type, settlement, accounting."
        ),
    ] = False,
) -> None:
    """Every channel: peer, capacity, balance, ratio, fees earned over 7 days, flow trend."""
    if closed:
        _closed_channels(ctx, node, db, as_json)
        return

    async def work(
        backend: NodeBackend, store: Store
    ) -> tuple[list[ChannelMetrics], CollectorState | None, int, NodeIdentity]:
        node_id, identity = await store_node_id(backend, store, node)
        async with store.read() as reader:
            found = await channel_metrics(reader, node_id, datetime.now(UTC))
            state = await reader.collector_state(node_id)
            opening = [c for c in await reader.channels(node_id) if c.chan_id is None]
        return found, state, len(opening), identity

    found, state, opening, identity = run_on_store(ctx, db, work)
    _say_unreachable(identity, state)
    if as_json:
        output.emit_json(
            {
                "node_unreachable": identity.unreachable,
                "last_cycle_at": output.model_json(datetime | None, state and state.last_cycle_at),
                "pending_open": opening,
                "channels": output.model_json(list[ChannelMetrics], found),
            }
        )
        return
    last = output.when(state.last_cycle_at) if state else "never"
    table = Table(
        title=f"{len(found)} channels (last cycle {last}; amounts in sat)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for name, justify in (
        ("channel", "left"),
        ("peer", "left"),
        ("capacity", "right"),
        ("local balance", "left"),
        ("ratio", "right"),
        ("fees 7d", "right"),
        ("trend/day", "right"),
        ("status", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for m in found:
        table.add_row(
            m.channel.scid or "",
            escape(_peer(m)),
            f"{m.channel.capacity_sat:,}",
            _bar(m.local_ratio),
            f"{m.local_ratio:.0%}",
            _whole_sat(m.window(_WEEK).fees_earned_msat),
            _trend(m.flow_trend_msat_per_day),
            _state(m.channel.state),
        )
    output.stdout.print(table)
    if opening:
        output.stdout.print(f"and {opening} opening (no channel id yet)")


def _closed_channels(ctx: typer.Context, node: str | None, db: str | None, as_json: bool) -> None:
    async def work(backend: NodeBackend, store: Store) -> tuple[list[ClosedView], NodeIdentity]:
        node_id, identity = await store_node_id(backend, store, node)
        async with store.read() as reader:
            return await closed_views(reader, node_id, datetime.now(UTC)), identity

    views, identity = run_on_store(ctx, db, work)
    if identity.unreachable is not None:
        output.error(f"node unreachable ({identity.unreachable}); showing the store")
    if as_json:
        output.emit_model(list[ClosedView], views)
        return
    output.stdout.print(closed_output.closed_table(views))


def channel(
    ctx: typer.Context,
    scid: Annotated[str, typer.Argument(help="Short channel id, BLOCKxTXxOUT.")],
    node: NodeOption = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """One channel's history: metrics, events and policy changes (closed: close, accounting).

    For a closed channel: its close, settlement, final accounting and lnpilot's procedure.
    """
    try:
        chan_id = chan_id_from_scid(scid)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    async def work(
        backend: NodeBackend, store: Store
    ) -> tuple[
        ChannelMetrics | ClosedHistory,
        list[Event],
        list[PolicyRecord],
        Agreement | None,
        NodeIdentity,
        CollectorState | None,
    ]:
        node_id, identity = await store_node_id(backend, store, node)
        now = datetime.now(UTC)
        async with store.read() as reader:
            found = await channel_metrics(reader, node_id, now, chan_ids=[chan_id])
            state = await reader.collector_state(node_id)
            if not found:
                history = await closed_history(reader, node_id, chan_id, now)
                if history is None:
                    raise NotCollected(f"node {identity.pubkey} has no channel {scid} in the store")
                return history, [], [], None, identity, state
            events = await reader.events(node_id, now - HISTORY, now, chan_id=chan_id)
            policies = await reader.policy_history(node_id, chan_id, now - HISTORY, now)
            live = await lifecycle.live_agreements(reader, node_id)
        agreement = live.get(found[0].channel.channel_point)
        return found[0], events, policies, agreement, identity, state

    metrics, events, policies, agreement, identity, state = run_on_store(ctx, db, work)
    _say_unreachable(identity, state)
    if isinstance(metrics, ClosedHistory):
        if as_json:
            output.emit_model(ClosedHistory, metrics)
        else:
            closed_output.print_history(scid, metrics)
        return
    if as_json:
        output.emit_model(ChannelDetail, ChannelDetail(metrics, policies, events, agreement))
        return
    c = metrics.channel
    summary = Table(
        title=f"Channel {scid}", title_justify="left", show_header=False, box=None, pad_edge=False
    )
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")
    rows = [
        ("status", _state(c.state)),
        ("peer", escape(c.peer_pubkey + (f" ({c.peer_alias})" if c.peer_alias else ""))),
        ("channel point", c.channel_point),
        ("capacity", f"{c.capacity_sat:,} sat"),
        (
            "local / remote",
            f"{output.sat(c.local_balance_msat)} / {output.sat(c.remote_balance_msat)}",
        ),
        ("balance", _bar(metrics.local_ratio) + f" {metrics.local_ratio:.0%} local"),
        ("our policy", _policy(c.local_policy)),
        ("peer's policy", _policy(c.remote_policy)),
        ("flow trend", _trend(metrics.flow_trend_msat_per_day) + " sat/day (+: draining)"),
        ("last forward", _days(metrics.days_since_last_forward)),
        ("peer uptime 7d", _share(metrics.peer_uptime)),
        ("avg local 30d", _maybe_sat(metrics.avg_local_balance_msat)),
        ("return on liquidity", _rol(metrics.return_on_liquidity_ppm_per_day)),
        (
            "agreement",
            closed_output.agreement_text(agreement) if agreement else "none stored by lnpilot",
        ),
    ]
    for name, value in rows:
        summary.add_row(name, value)
    output.stdout.print(summary)

    flows = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    # Directions named and ordered as on the dashboard (base.flow): out first.
    columns = (
        "window",
        *(flow.label("forwards", f) for f in flow.ORDER),
        *(flow.label("sat", f) for f in flow.ORDER),
        "fees sat",
        "used",
    )
    for name in columns:
        flows.add_column(name, justify="right" if name != "window" else "left")
    for w in metrics.windows:
        flows.add_row(
            f"{w.window.days}d" if w.window.days else str(w.window),
            str(w.forwards_out),
            str(w.forwards_in),
            _whole_sat(w.volume_out_msat),
            _whole_sat(w.volume_in_msat),
            _whole_sat(w.fees_earned_msat),
            f"{w.utilisation:.0%}",
        )
    output.stdout.print(flows)
    output.stdout.print(f"Events, last {HISTORY.days} days:" if events else "No events in 30 days.")
    for event in events:
        line = f"  {output.when(event.at)}  {describe_event(event)}"
        output.stdout.print(escape(line), soft_wrap=True)
    if policies:
        output.stdout.print(f"Policy changes, last {HISTORY.days} days:")
    for record in policies:
        line = f"  {output.when(record.at)}  {record.direction} ({record.source}): "
        output.stdout.print(escape(line + _policy(record.policy)), soft_wrap=True)


def _peer(m: ChannelMetrics) -> str:
    return m.channel.peer_alias or m.channel.peer_pubkey[:12] + "…"


def _whole_sat(msat: int) -> str:
    """Whole satoshi, rounded down: a table column of amounts reads better without msat."""
    return f"{msat // 1000:,}"


def _bar(local_ratio: float) -> str:
    local = round(local_ratio * _BAR_WIDTH)
    return f"[green]{'█' * local}[/green][dim]{'░' * (_BAR_WIDTH - local)}[/dim]"


def _trend(msat_per_day: float) -> str:
    sat = round(msat_per_day / 1000)
    return f"{sat:+,}" if sat else "0"


def _state(state: ChannelState) -> str:
    style = _STATE_STYLE.get(state)
    return f"[{style}]{state.value}[/{style}]" if style else state.value


def _policy(policy: ChannelPolicy | None) -> str:
    if policy is None:
        return "unknown"
    text = f"{policy.base_fee_msat} msat + {policy.fee_rate_ppm} ppm"
    if policy.inbound_fee_rate_ppm or policy.inbound_base_fee_msat:
        inbound_base, inbound_rate = policy.inbound_base_fee_msat, policy.inbound_fee_rate_ppm
        text += f", inbound {inbound_base or 0} msat {inbound_rate or 0:+} ppm"
    if policy.cltv_delta is not None:
        text += f", cltv {policy.cltv_delta}"
    return text + (", disabled" if policy.disabled else "")


def _days(days: int | None) -> str:
    if days is None:
        return "none in 30 days"
    return "today" if days == 0 else f"{days} day{'s' if days > 1 else ''} ago"


def _share(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "unknown"


def _maybe_sat(msat: int | None) -> str:
    return f"{_whole_sat(msat)} sat" if msat is not None else "unknown"


def _rol(ppm_per_day: float | None) -> str:
    if ppm_per_day is None:
        return "unknown"
    return f"{ppm_per_day:.2f} ppm/day ({ppm_per_day * 365 / 10_000:.2f} %/year)"
