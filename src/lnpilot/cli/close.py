"""``lnpilot close``: advice on which channels to close, and the stored close procedure.

``advise`` reads the store only. ``plan SCID`` stores a plan from the node's channel as it
is; ``run PLAN`` takes its next steps, a dry run (journaled) unless ``--apply``, a force
close only with ``--approve-force`` on top of a plan made with ``--force``. ``--wait`` polls
the node while HTLCs settle, up to the plan's deadline; without it a run stops at the first
step that must wait and a later run resumes there (so may a run after a crash).
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from lnpilot.cli import output
from lnpilot.cli.channels import NodeOption, run_on_store, store_node_id
from lnpilot.cli.collect import DbOption
from lnpilot.cli.runtime import ExitCode, JsonFlag, parse_duration
from lnpilot.lifecycle.advise import Advice, Verdict, close_advice
from lnpilot.lifecycle.close import CloseError, Outcome, RunReport, plan_close, run_close
from lnpilot.node.backend import NodeBackend
from lnpilot.store import Store, lifecycle
from lnpilot.store.lifecycle import PlanRecord, StepRecord

T = TypeVar("T")

app = typer.Typer(help="Which channels to close, and closing them step by step.")

#: How often ``run --wait`` asks the node whether the HTLCs have settled.
POLL_S = 5.0

ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who approves, for the journal (default: your login name)."),
]
FeeRateOption = Annotated[
    int | None,
    typer.Option("--fee-rate", help="Closing fee rate in sat/vB (default: the node's choice)."),
]


def who(by: str | None) -> str:
    return by or getpass.getuser()


@app.command("advise")
def advise_command(
    ctx: typer.Context,
    fee_rate: Annotated[
        int | None,
        typer.Option(
            "--fee-rate",
            help="On-chain fee rate to price a close, sat/vB (default: the node's estimate).",
        ),
    ] = None,
    node: NodeOption = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Channels that should close and why, and why the others stay."""
    if fee_rate is not None and fee_rate < 1:
        raise typer.BadParameter(f"{fee_rate}: give a fee rate of at least 1 sat/vB")

    async def work(backend: NodeBackend, store: Store) -> list[Advice]:
        node_id, _ = await store_node_id(backend, store, node)
        return await close_advice(
            backend, store, node_id, datetime.now(UTC), fee_rate_sat_per_vbyte=fee_rate
        )

    found = run_on_store(ctx, db, work)
    if as_json:
        output.emit_model(list[Advice], found)
        return
    closing = sum(1 for a in found if a.verdict is Verdict.CLOSE)
    output.stdout.print(
        f"{len(found)} channels: {closing} to close, {len(found) - closing} to keep"
    )
    for a in found:
        style = "red" if a.verdict is Verdict.CLOSE else "green"
        peer = a.peer_alias or a.peer_pubkey[:12] + "…"
        output.stdout.print(
            f"[{style}]{a.verdict.value:5}[/{style}] {a.scid} {escape(peer)} "
            f"({a.capacity_sat:,} sat)"
        )
        for reason in a.reasons:
            output.stdout.print(f"        - {escape(reason)}", soft_wrap=True)


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    scid: Annotated[str, typer.Argument(help="Short channel id of the channel to close.")],
    fee_rate: FeeRateOption = None,
    htlc_deadline: Annotated[
        str, typer.Option("--htlc-deadline", help="How long HTLCs may take to settle: 30m, 2h.")
    ] = "1h",
    force: Annotated[
        bool, typer.Option("--force", help="Plan a force close (its run needs --approve-force).")
    ] = False,
    by: ByOption = None,
    node: NodeOption = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Store a close plan for an open channel; nothing is sent to the node."""
    deadline = parse_duration(htlc_deadline)

    async def work(backend: NodeBackend, store: Store) -> PlanRecord:
        node_id, _ = await store_node_id(backend, store, node)
        return await plan_close(
            backend,
            store,
            node_id,
            scid,
            by=who(by),
            now=datetime.now(UTC),
            sat_per_vbyte=fee_rate,
            force=force,
            htlc_deadline=deadline,
        )

    plan = checked(ctx, db, work)
    if as_json:
        output.emit_model(PlanRecord, plan)
        return
    output.stdout.print(
        f"Plan {plan.id}: close {scid} "
        f"({'force' if force else 'cooperative'}), planned by {escape(plan.created_by)}."
    )
    output.stdout.print(f"Dry run: lnpilot close run {plan.id}; to act: add --apply.")


@app.command("run")
def run_command(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(help="The plan's number (lnpilot close plans).")],
    apply: Annotated[bool, typer.Option("--apply", help="Act (without it: a dry run).")] = False,
    approve_force: Annotated[
        bool,
        typer.Option("--approve-force", help="The second approval a force-close plan needs."),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Poll while HTLCs settle, up to the plan's deadline.")
    ] = False,
    by: ByOption = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Take the plan's next steps: disable, wait for HTLCs, close, clean up."""

    async def work(backend: NodeBackend, store: Store) -> list[StepRecord]:
        steps: list[StepRecord] = []
        while True:
            report: RunReport = await run_close(
                backend,
                store,
                plan_id,
                by=who(by),
                clock=lambda: datetime.now(UTC),
                apply=apply,
                approve_force=approve_force,
            )
            steps += report.steps
            waiting = report.steps and report.steps[-1].outcome == Outcome.WAITING
            if not (wait and waiting):
                return steps
            await asyncio.sleep(POLL_S)

    steps = checked(ctx, db, work)
    if as_json:
        output.emit_model(list[StepRecord], steps)
        return
    if not steps:
        output.stdout.print(f"Plan {plan_id} is finished: nothing to do.")
    for step in steps:
        output.stdout.print(escape(step_line(step)), soft_wrap=True)
    if any(s.outcome in (Outcome.REFUSED, Outcome.DEADLINE) for s in steps):
        raise typer.Exit(ExitCode.FAILED)


@app.command("plans")
def plans_command(
    ctx: typer.Context, node: NodeOption = None, db: DbOption = None, as_json: JsonFlag = False
) -> None:
    """Close plans, newest first, each with its journal."""

    async def work(backend: NodeBackend, store: Store) -> tuple[list[PlanRecord], list[StepRecord]]:
        node_id, _ = await store_node_id(backend, store, node)
        async with store.read() as reader:
            found = [p for p in await lifecycle.plans(reader, node_id) if p.kind == "close"]
            journal = await lifecycle.steps(reader, [p.id for p in found if p.id is not None])
        return found, journal

    found, journal = run_on_store(ctx, db, work)
    if as_json:
        rows: list[dict[str, Any]] = [
            {
                **output.model_json(PlanRecord, p),
                "journal": output.model_json(
                    list[StepRecord], [s for s in journal if s.plan_id == p.id]
                ),
            }
            for p in found
        ]
        output.emit_json(rows)
        return
    if not found:
        output.stdout.print("No close plans.")
    for p in found:
        where = f"next: {p.next_step}" if p.next_step else "ended"
        output.stdout.print(
            f"Plan {p.id}: close {p.scid} — {p.state} ({where}), planned by "
            f"{escape(p.created_by)} {output.when(p.created_at)}"
        )
        for step in journal:
            if step.plan_id == p.id:
                output.stdout.print("  " + escape(step_line(step)), soft_wrap=True)


def step_line(step: StepRecord) -> str:
    who = f" [{step.approved_by}]" if step.approved_by else ""
    return f"{output.when(step.at)} {step.step}: {step.outcome}{who} — {step.reason}"


def checked(
    ctx: typer.Context,
    db: str | None,
    work: Callable[[NodeBackend, Store], Awaitable[T]],
    refused: type[ValueError] = CloseError,
) -> T:
    """``work`` on the store, a refused plan or run (``refused``) a clear error, exit 2."""
    try:
        return run_on_store(ctx, db, work)
    except refused as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None
