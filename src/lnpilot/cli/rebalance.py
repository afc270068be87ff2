"""``lnpilot rebalance``: plan, run, the automated loop, and the history with its attribution.

The settings are the ``[rebalance]`` part of the fee policy file (``--policy FILE``, else
the daemon's ``[service] fees_policy_file``, else ``$LNPILOT_FEES_POLICY``, else
``fees.toml`` beside the configuration; the defaults when
there is no such file); ``docs/rebalancing.md`` describes them. The node is the configured
one; the history and the journal are in the store, which the collector must have filled
(``lnpilot collect``) for the planner to know the flows.

Nothing moves without ``--apply``: ``plan`` and ``run`` without it are dry runs, journaled
like any run. Exit codes: 0 done (including "nothing to do"), 1 a rebalance failed or its
outcome is unknown, or the node or the store could not be used, 2 bad settings, input or
configuration (such as no channel-targeted path: LNbits alone).
"""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from lnpilot.api.rebalances import AttemptOut, HistoryOut
from lnpilot.base.domain import chan_id_from_scid, scid_from_chan_id
from lnpilot.cli import output
from lnpilot.cli.collect import DbOption, with_client_node_and_store
from lnpilot.cli.fees import PolicyOption, policy_path
from lnpilot.cli.runtime import ExitCode, JsonFlag, parse_duration, state_of
from lnpilot.lnbits import LNbitsClient
from lnpilot.node.backend import CapabilityMissing, NodeBackend
from lnpilot.rebalance import (
    NO_CHANNEL_TARGETED_PATH,
    History,
    NotCollected,
    RebalanceAction,
    RebalanceMode,
    RebalanceOutcome,
    Rebalancer,
    RebalanceReport,
    RebalanceSettings,
    Request,
    SettingsError,
    history,
    load_settings,
    parse_settings,
)
from lnpilot.rebalance.swaps import SwapDesk, swap_detail
from lnpilot.service.daemon import rebalance_loop
from lnpilot.service.health import LoopHealth
from lnpilot.service.supervisor import Supervisor
from lnpilot.store import Store

T = TypeVar("T")

app = typer.Typer(
    help="Rebalancing under a budget: plan (dry run), run, auto, history.", no_args_is_help=True
)

ApplyFlag = Annotated[
    bool, typer.Option("--apply", help="Send the rebalances (without it: a dry run).")
]
_FAILED = {RebalanceOutcome.FAILED, RebalanceOutcome.UNKNOWN}


class _Refused(Exception):
    """The command cannot do what was asked with this configuration or input."""


# -- plumbing ---------------------------------------------------------------------------------


def _settings(ctx: typer.Context, explicit: Path | None) -> RebalanceSettings:
    path = policy_path(ctx, explicit)
    if explicit is None and not path.exists():
        output.stderr.print(escape(f"No policy file at {path}: the [rebalance] defaults apply."))
        return parse_settings("")
    try:
        return load_settings(path)
    except SettingsError as exc:
        for problem in exc.problems:
            output.error(f"policy: {problem}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None


def _with_rebalancer(
    ctx: typer.Context,
    db: str | None,
    settings: RebalanceSettings,
    work: Callable[[Rebalancer, NodeBackend, Store], Awaitable[T]],
) -> T:
    """Run ``work`` with a rebalancer on the configured node and store (and a swap desk on
    the LNbits client when ``[rebalance.swap]`` is enabled); expected failures become one
    red line and an exit code."""

    async def inner(client: LNbitsClient, node: NodeBackend, store: Store) -> T:
        desk = SwapDesk(client, store) if settings.section.swap.enabled else None
        try:
            return await work(Rebalancer(node, store, settings, swap_desk=desk), node, store)
        except CapabilityMissing as exc:
            raise _Refused(f"{exc}. {NO_CHANNEL_TARGETED_PATH}") from None

    try:
        return with_client_node_and_store(ctx, db, inner)
    except NotCollected as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.FAILED) from None
    except (_Refused, ValueError) as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _chan_id(scid: str | None) -> int | None:
    try:
        return chan_id_from_scid(scid) if scid is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--channel") from None


def _pct(permille: int | None) -> str:
    return "-" if permille is None else f"{permille / 10:g}%"


# -- plan and run -----------------------------------------------------------------------------


def report_json(report: RebalanceReport) -> dict[str, Any]:
    plan = report.plan
    decisions = []
    for d in plan.decisions:
        order, band = d.order, d.band
        decisions.append(
            {
                "chan_id": d.channel.chan_id,
                "scid": d.channel.scid,
                "peer_pubkey": d.channel.peer_pubkey,
                "peer_alias": d.channel.peer_alias,
                "role": d.role.value,
                "action": d.action.value,
                "reason": d.reason,
                "direction": d.direction.value if d.direction else None,
                "local_ratio_permille": d.ratio_permille,
                "band": {
                    "low_permille": band.low_permille,
                    "target_permille": band.target_permille,
                    "high_permille": band.high_permille,
                }
                if band
                else None,
                "order": {
                    "source_scid": order.source.scid,
                    "amount_msat": order.amount_msat,
                    "min_amount_msat": order.min_amount_msat,
                    "max_fee_ppm": order.max_fee_ppm,
                    "fee_limit_msat": order.fee_limit_msat,
                }
                if order
                else None,
                "swap": {
                    "amount_sat": d.swap.amount_sat,
                    "cost_msat": d.swap.cost_msat,
                    "boltz_fee_sat": d.swap.quote.boltz_fee_sat,
                    "miner_fee_sat": d.swap.quote.miner_fee_sat,
                    "funding_fee_sat": d.swap.funding_fee_sat,
                    "onchain_sat": d.swap.quote.onchain_sat,
                }
                if d.swap
                else None,
                "detail": d.detail,
            }
        )
    return {
        "run_id": report.run_id,
        "mode": report.mode.value,
        "at": plan.now.isoformat(),
        "summary": plan.summary(),
        "executor": report.executor,
        "no_executor": report.no_executor,
        "budget": {"room_msat": plan.room.msat, "binding": plan.room.binding},
        "decisions": decisions,
        "executed": [
            {
                "target_scid": e.decision.channel.scid,
                "source_scid": e.decision.order.source.scid if e.decision.order else None,
                "outcome": e.execution.outcome.value,
                "moved_msat": e.execution.moved_msat,
                "fee_paid_msat": e.execution.fee_paid_msat,
                "failure": e.execution.failure,
                "duration_ms": e.execution.duration_ms,
                "attempts": [
                    output.model_json(AttemptOut, AttemptOut.of(a)) for a in e.execution.attempts
                ],
            }
            for e in report.executed
        ],
        "swaps": [
            {"target_scid": s.decision.channel.scid, **swap_detail(s.swap)} for s in report.swaps
        ],
    }


def _show(report: RebalanceReport) -> None:
    plan = report.plan
    title = "Rebalancing " + (
        "(applied)" if report.mode is RebalanceMode.APPLY else "plan (dry run)"
    )
    table = output.table(
        title, "channel", "peer", "local", "band", "direction", "decision", "reason"
    )
    for d in plan.decisions:
        decision = d.role.value if d.action is RebalanceAction.REBALANCE else d.action.value
        style = {RebalanceAction.REBALANCE: "green", RebalanceAction.SKIP: "yellow"}.get(d.action)
        table.add_row(
            d.channel.scid or "-",
            escape(d.channel.peer_alias or d.channel.peer_pubkey[:16]),
            _pct(d.ratio_permille),
            str(d.band) if d.band else "-",
            d.direction.value if d.direction else "-",
            f"[{style}]{decision}[/{style}]" if style else decision,
            escape(d.reason),
        )
    output.stdout.print(table)
    for e in report.executed:
        ex = e.execution
        colour = "red" if ex.outcome in _FAILED else "green"
        output.stdout.print(
            f"[{colour}]{ex.outcome.value}[/{colour}] {e.decision.channel.scid}: moved "
            f"{output.sat(ex.moved_msat)} for {output.sat(ex.fee_paid_msat)} in "
            f"{len(ex.attempts)} attempt(s), {ex.duration_ms} ms"
            + (f" ({escape(ex.failure)})" if ex.failure else ""),
            soft_wrap=True,
        )
        for a in ex.attempts:
            route = (
                " → ".join(scid_from_chan_id(h.chan_id) for h in a.route.hops) if a.route else ""
            )
            output.stdout.print(
                f"  {output.sat(a.amount_msat)} limit {output.sat(a.fee_limit_msat)}: "
                f"{a.outcome.value}"
                + (f" ({escape(a.failure)})" if a.failure else "")
                + f" [dim]{route}[/dim]",
                soft_wrap=True,
            )
    for started in report.swaps:
        swap = started.swap
        output.stdout.print(
            f"swap in for {started.decision.channel.scid}: {swap.state}"
            + (
                f"; send {swap.onchain_amount_sat or 0:,} sat to {swap.address} before block "
                f"{swap.timeout_block_height} (lnpilot swap status {swap.swap_id})"
                if swap.swap_id
                else f" ({escape(str(swap.detail.get('failure')))})"
            ),
            soft_wrap=True,
        )
    if plan.swap_orders and report.mode is RebalanceMode.APPLY and not report.swaps:
        output.stderr.print(
            f"{len(plan.swap_orders)} swap(s) planned, not created: a swap is irreversible, "
            "add --approve-swaps to create them.",
            soft_wrap=True,
        )
    output.stdout.print(
        f"run {report.run_id} ({report.mode.value}): {escape(plan.summary())}; budget left "
        f"{output.sat(plan.room.msat)} ({escape(plan.room.binding)})",
        soft_wrap=True,
    )
    if report.no_executor:
        output.stderr.print(f"No executor: {escape(report.no_executor)}", soft_wrap=True)
        output.stderr.print(escape(NO_CHANNEL_TARGETED_PATH), soft_wrap=True)


def _finish(report: RebalanceReport, as_json: bool) -> None:
    if as_json:
        output.emit_json(report_json(report))
    else:
        _show(report)
    if any(e.execution.outcome in _FAILED for e in report.executed):
        raise typer.Exit(ExitCode.FAILED)


@app.command()
def plan(
    ctx: typer.Context,
    policy_file: PolicyOption = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """What would be rebalanced now, and why each channel would or would not be (dry run)."""
    settings = _settings(ctx, policy_file)

    async def work(rebalancer: Rebalancer, node: NodeBackend, store: Store) -> RebalanceReport:
        return await rebalancer.run(RebalanceMode.DRY_RUN, trigger="plan")

    _finish(_with_rebalancer(ctx, db, settings, work), as_json)


@app.command()
def run(
    ctx: typer.Context,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Refill this channel only (BLOCKxTXxOUT).")
    ] = None,
    amount_sat: Annotated[
        int | None, typer.Option("--amount-sat", min=1, help="Move this much (default: planned).")
    ] = None,
    max_fee_ppm: Annotated[
        int | None,
        typer.Option("--max-fee-ppm", min=0, max=100_000, help="Fee limit replacing the guard's."),
    ] = None,
    apply: ApplyFlag = False,
    approve_swaps: Annotated[
        bool,
        typer.Option(
            "--approve-swaps",
            help="With --apply, create the swaps the plan chose too (irreversible; "
            "[rebalance.swap]).",
        ),
    ] = False,
    policy_file: PolicyOption = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Plan and, with --apply, rebalance; --channel, --amount-sat and --max-fee-ppm narrow it."""
    chan_id = _chan_id(channel)
    request = Request(
        chan_id=chan_id,
        amount_msat=amount_sat * 1000 if amount_sat is not None else None,
        max_fee_ppm=max_fee_ppm,
    )
    settings = _settings(ctx, policy_file)
    mode = RebalanceMode.APPLY if apply else RebalanceMode.DRY_RUN

    async def work(rebalancer: Rebalancer, node: NodeBackend, store: Store) -> RebalanceReport:
        approved_by = getpass.getuser() if approve_swaps else None
        return await rebalancer.run(mode, trigger="run", request=request, approved_by=approved_by)

    _finish(_with_rebalancer(ctx, db, settings, work), as_json)


@app.command()
def auto(
    ctx: typer.Context,
    every: Annotated[str, typer.Option("--every", help="Run on this interval: 10m, 1h.")] = "1h",
    apply: ApplyFlag = False,
    policy_file: PolicyOption = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The threshold-triggered loop: plan every interval and, with --apply, rebalance."""
    interval = parse_duration(every)
    if interval < timedelta(seconds=10):
        raise typer.BadParameter("--every must be at least 10s")
    settings = _settings(ctx, policy_file)
    mode = RebalanceMode.APPLY if apply else RebalanceMode.DRY_RUN

    def show(report: RebalanceReport) -> None:
        if as_json:
            output.emit_json(report_json(report), compact=True)
            return
        moved_msat = sum(e.execution.moved_msat for e in report.executed)
        paid_msat = sum(e.execution.fee_paid_msat for e in report.executed)
        output.stdout.print(
            f"{output.when(report.plan.now)}  run {report.run_id} ({mode.value}): "
            f"{escape(report.plan.summary())}; moved {output.sat(moved_msat)} for "
            f"{output.sat(paid_msat)}",
            soft_wrap=True,
        )

    async def work(rebalancer: Rebalancer, node: NodeBackend, store: Store) -> None:
        service = state_of(ctx).settings().service
        loop = rebalance_loop(rebalancer, interval.total_seconds(), mode, on_report=show)
        refused: list[CapabilityMissing] = []

        async def run_once() -> None:
            """The daemon's run, but a capability the node lacks cannot come by waiting:
            the command stops and says what to configure (``_with_rebalancer``)."""
            try:
                await loop.run_once()
            except CapabilityMissing as exc:
                refused.append(exc)
                supervisor.stop()

        supervisor = Supervisor(
            [replace(loop, run_once=run_once)],
            LoopHealth(),
            backoff_max_s=service.backoff_max_s,
            stop_timeout_s=service.stop_timeout_s,
        )
        output.stderr.print(f"Rebalancing every {every} ({mode.value}). Ctrl-C to stop.")
        await supervisor.run()
        if refused:
            raise refused[0]

    try:
        _with_rebalancer(ctx, db, settings, work)
    except KeyboardInterrupt:
        output.stderr.print("Stopped.")
        raise typer.Exit(ExitCode.OK) from None


# -- history ----------------------------------------------------------------------------------


@app.command("history")
def show_history(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, help="Look back this many days.")] = 30,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Only rebalances into this channel.")
    ] = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Past rebalances, and per channel: liquidity bought, its cost and the fees it earned."""
    chan_id = _chan_id(channel)
    until = _now()

    async def work(rebalancer: Rebalancer, node: NodeBackend, store: Store) -> History:
        pubkey = (await node.get_info()).pubkey
        async with store.read() as reader:
            node_id = await reader.node_id(pubkey)
        if node_id is None:
            raise NotCollected(f"the store has nothing of node {pubkey} yet: run lnpilot collect")
        return await history(store, node_id, until - timedelta(days=days), until, chan_id=chan_id)

    found = _with_rebalancer(ctx, db, parse_settings(""), work)
    if as_json:
        output.emit_model(HistoryOut, HistoryOut.of(found))
        return
    table = output.table(
        f"Rebalances in the last {days} days",
        "started (UTC)",
        "target",
        "source",
        "outcome",
        "moved",
        "cost",
        "attempts",
        "failure",
    )
    for r in found.rebalances:
        d = r.decision
        table.add_row(
            output.when(d.started_at, zone=False),
            d.scid or "-",
            d.source_scid or "-",
            d.outcome,
            output.sat(d.moved_msat or 0),
            output.sat(r.cost_msat),
            str(len(r.attempts)),
            escape(d.failure or ""),
        )
    output.stdout.print(table)
    scids = {r.decision.chan_id: r.decision.scid for r in found.rebalances}
    per_channel = output.table(
        "Did it pay for itself?",
        "channel",
        "rebalances",
        "bought",
        "cost",
        "sold",
        "earned on it",
        "net",
    )
    for a in found.channels.values():
        colour = "green" if a.paid_for_itself else "red"
        per_channel.add_row(
            scids.get(a.chan_id) or str(a.chan_id),
            str(a.rebalances),
            output.sat(a.bought_msat),
            output.sat(a.cost_msat),
            output.sat(a.sold_msat),
            output.sat(a.earned_msat),
            f"[{colour}]{output.sat(a.net_msat)}[/{colour}]",
        )
    output.stdout.print(per_channel)
    verdict = "yes" if found.earned_msat >= found.cost_msat else "no"
    output.stdout.print(
        f"cost {output.sat(found.cost_msat)}, earned on moved liquidity "
        f"{output.sat(found.earned_msat)}: paid for itself: {verdict}"
    )
