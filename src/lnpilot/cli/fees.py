"""``lnpilot fees``: check the fee policy, plan, apply, look back and roll back.

The policy is a TOML file: ``--policy FILE``, else the daemon's ``[service]
fees_policy_file``, else ``$LNPILOT_FEES_POLICY``, else ``fees.toml`` beside the
configuration (or in the working directory); ``docs/fees.md`` describes it. The node is
reached through the configured backends (``[lnd]`` and/or the LNbits node API), the history
and the fee journal through the store (``--db``, else the data directory's SQLite file).

``plan`` never changes anything on the node (it is journaled as a dry run); ``apply`` is the
only command that sends updates, then reads them back. Exit codes: 0 done, 1 the node
refused or an update did not read back as decided, 2 bad policy, configuration or input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from lnpilot.api.fees import RunOut, journaled_run
from lnpilot.base.domain import chan_id_from_scid
from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, daemon_file, state_of
from lnpilot.config import config_file_path, make_client, make_node
from lnpilot.fees import (
    PolicyError,
    PolicyFile,
    RollbackError,
    RunReport,
    UpdateOutcome,
    charge_lnd,
    evaluate,
    gather,
    load_policy,
    resolve,
    rollback,
)
from lnpilot.fees.policy import POLICY_ENV_VAR, POLICY_FILE_NAME, find_policy_file
from lnpilot.node.backend import NodeBackend, NodeError
from lnpilot.store import Store, StoreReader, fee_journal, sqlite_url
from lnpilot.store.fee_journal import FeeDecision

T = TypeVar("T")
app = typer.Typer(
    help="Fee policy: check it, plan (dry run), apply, history, rollback.", no_args_is_help=True
)

PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help=f"Fee policy file (default: [service] fees_policy_file, else ${POLICY_ENV_VAR}, "
        "else fees.toml).",
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: the data directory's SQLite file)."),
]
FeeRateOption = Annotated[
    int | None,
    typer.Option(
        "--onchain-fee-rate",
        min=1,
        help="On-chain fee rate in sat/vB, for rules that match on it (unknown otherwise).",
    ),
]

_FAILED_OUTCOMES = {UpdateOutcome.FAILED, UpdateOutcome.MISMATCH}


# -- plumbing ---------------------------------------------------------------------------------


def policy_path(ctx: typer.Context, explicit: Path | None) -> Path:
    """The policy file: ``--policy``, else the one ``lnpilot run`` reads (see
    :func:`~lnpilot.fees.policy.find_policy_file`); fees.toml beside the configuration when
    there is none, for the error to name."""
    config_file = config_file_path(state_of(ctx).config_file)
    found = find_policy_file(explicit or daemon_file(ctx, "fees_policy_file"), config_file)
    return found or (config_file.parent if config_file else Path()) / POLICY_FILE_NAME


def _policy(ctx: typer.Context, explicit: Path | None) -> PolicyFile:
    try:
        return load_policy(policy_path(ctx, explicit))
    except PolicyError as exc:
        for problem in exc.problems:
            output.error(f"policy: {problem}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None


def _run(
    ctx: typer.Context, db: str | None, work: Callable[[NodeBackend, Store], Awaitable[T]]
) -> T:
    """Run ``work`` with the configured node and the store; map expected errors to exits."""
    settings = state_of(ctx).settings()
    url = db or sqlite_url(settings.data_dir)

    async def main() -> T:
        async with make_client(settings) as client, await Store.open(url) as store:
            node = make_node(settings, client)
            try:
                return await work(node, store)
            finally:
                await node.aclose()

    try:
        return asyncio.run(main())
    except (RollbackError, ValueError) as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    except NodeError as exc:
        output.error(f"node: {exc}")
        raise typer.Exit(ExitCode.FAILED) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _move(current: int | None, new: int | None) -> str:
    """``100 → 125``, or the current value alone when it does not change."""
    shown = "?" if current is None else str(current)
    return f"{shown} → {new}" if new is not None and new != current else shown


# -- check ------------------------------------------------------------------------------------


@app.command()
def check(
    ctx: typer.Context,
    policy_file: PolicyOption = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only validate the file; do not read the node.")
    ] = False,
    db: DbOption = None,
    onchain_fee_rate: FeeRateOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Validate the policy file and show which rule each channel matches, and why."""
    policy = _policy(ctx, policy_file)
    summary = f"{len(policy.rule)} rules, {len(policy.channel)} channel overrides"
    if offline:
        if json_out:
            output.emit_json({"valid": True, "rules": len(policy.rule)})
        else:
            output.stdout.print(f"[green]policy OK[/green]: {summary}")
        return

    async def work(node: NodeBackend, store: Store) -> list[dict[str, Any]]:
        gathered = await gather(
            node, store, policy, _now(), onchain_fee_rate_sat_per_vbyte=onchain_fee_rate
        )
        rows = []
        for inputs in sorted(gathered.inputs.channels, key=lambda c: c.channel.scid or ""):
            resolution = resolve(policy, inputs, gathered.inputs)
            channel = inputs.channel
            rows.append(
                {
                    "scid": channel.scid,
                    "peer_pubkey": channel.peer_pubkey,
                    "peer_alias": channel.peer_alias,
                    "rule": resolution.rule,
                    "strategy": resolution.settings.strategy,
                    "unmanaged": resolution.unmanaged,
                    "defaults_from": list(resolution.defaults_from),
                    "matched": list(resolution.matched),
                    "passed": [{"rule": n, "why": w} for n, w in resolution.passed],
                }
            )
        return rows

    rows = _run(ctx, db, work)
    if json_out:
        output.emit_json({"valid": True, "rules": len(policy.rule), "channels": rows})
        return
    output.stdout.print(f"[green]policy OK[/green]: {summary}")
    table = output.table("Rule per channel", "channel", "peer", "rule", "why")
    for row in rows:
        why = "; ".join(row["matched"]) or "default (matches every channel)"
        if row["defaults_from"]:
            why += f"\n[dim]defaults from {', '.join(row['defaults_from'])}[/dim]"
        if row["passed"]:
            why += "\n" + "\n".join(
                f"[dim]not {p['rule']}: {escape(p['why'])}[/dim]" for p in row["passed"]
            )
        rule = row["rule"] + (" (unmanaged)" if row["unmanaged"] else f" → {row['strategy']}")
        table.add_row(
            row["scid"] or "-", escape(row["peer_alias"] or row["peer_pubkey"][:16]), rule, why
        )
    output.stdout.print(table)


# -- plan and apply ---------------------------------------------------------------------------


def _show(report: RunReport, title: str) -> None:
    table = output.table(
        title, "channel", "peer", "rule", "fee ppm", "inbound ppm", "decision", "reason"
    )
    for result in report.results:
        d = result.decision
        current = d.current
        fee = _move(current.fee_rate_ppm if current else None, d.proposal.fee_rate_ppm)
        inbound = _move(
            current.inbound_fee_rate_ppm if current else None, d.proposal.inbound_fee_rate_ppm
        )
        decision = d.action.value if result.outcome is UpdateOutcome.NONE else result.outcome.value
        style = "red" if result.outcome in _FAILED_OUTCOMES else ""
        reason = d.reason + (f" [{result.error}]" if result.error else "")
        table.add_row(
            d.scid or "-",
            escape(d.peer_alias or d.peer_pubkey[:16]),
            escape(d.rule or "-"),
            fee,
            inbound,
            f"[{style}]{decision}[/{style}]" if style else decision,
            escape(reason),
        )
    output.stdout.print(table)
    plan = report.plan
    if plan is not None:
        output.stdout.print(
            f"run {report.run_id} ({report.mode.value}); daily budget: {plan.budget_used} of "
            f"{plan.budget_limit} used before this run, {len(plan.updates)} update(s) decided"
        )
    else:
        output.stdout.print(f"run {report.run_id} ({report.mode.value})")


async def _journaled(
    store: Store, report: RunReport, json_out: bool
) -> tuple[RunReport, RunOut | None]:
    """The report, and with ``--json`` the run as journaled: what ``GET /fees/runs/{id}``
    answers for it (read while the store is open)."""
    return report, await journaled_run(store, report.run_id) if json_out else None


def _finish(done: tuple[RunReport, RunOut | None], title: str) -> None:
    report, journaled = done
    if journaled is not None:
        output.emit_model(RunOut, journaled)
    else:
        _show(report, title)
    if any(r.outcome in _FAILED_OUTCOMES for r in report.results):
        raise typer.Exit(ExitCode.FAILED)


def _evaluate(
    ctx: typer.Context,
    policy_file: Path | None,
    db: str | None,
    onchain_fee_rate: int | None,
    json_out: bool,
    *,
    apply: bool,
) -> None:
    policy = _policy(ctx, policy_file)

    async def work(node: NodeBackend, store: Store) -> tuple[RunReport, RunOut | None]:
        report = await evaluate(
            node,
            store,
            policy,
            _now(),
            apply=apply,
            onchain_fee_rate_sat_per_vbyte=onchain_fee_rate,
        )
        return await _journaled(store, report, json_out)

    title = "Fee updates applied" if apply else "Fee plan (dry run)"
    _finish(_run(ctx, db, work), title)


@app.command()
def plan(
    ctx: typer.Context,
    policy_file: PolicyOption = None,
    db: DbOption = None,
    onchain_fee_rate: FeeRateOption = None,
    json_out: JsonFlag = False,
) -> None:
    """What the policy would change now, and why (a dry run: nothing is sent)."""
    _evaluate(ctx, policy_file, db, onchain_fee_rate, json_out, apply=False)


@app.command()
def apply(
    ctx: typer.Context,
    policy_file: PolicyOption = None,
    db: DbOption = None,
    onchain_fee_rate: FeeRateOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Plan, send the updates to the node, read them back and journal the outcome."""
    _evaluate(ctx, policy_file, db, onchain_fee_rate, json_out, apply=True)


@app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="The run to undo (see `lnpilot fees history`).")],
    force: Annotated[
        bool, typer.Option("--force", help="Restore even channels changed since the run.")
    ] = False,
    db: DbOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Restore the policies that an applied run replaced."""

    async def work(node: NodeBackend, store: Store) -> tuple[RunReport, RunOut | None]:
        report = await rollback(node, store, run_id, _now(), force=force)
        return await _journaled(store, report, json_out)

    _finish(_run(ctx, db, work), f"Rollback of run {run_id}")


# -- history ----------------------------------------------------------------------------------


@app.command()
def history(
    ctx: typer.Context,
    channel: Annotated[
        str | None, typer.Option("--channel", help="One channel's decisions (BLOCKxTXxOUT).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many rows.")] = 20,
    db: DbOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Past runs, or with --channel every decision about one channel, newest first."""

    async def work(node: NodeBackend, store: Store) -> list[dict[str, Any]]:
        info = await node.get_info()
        async with store.read() as reader:
            node_id = await reader.node_id(info.pubkey)
            if node_id is None:
                return []
            if channel is not None:
                chan_id = chan_id_from_scid(channel)
                found = await fee_journal.channel_decisions(reader, node_id, chan_id, limit=limit)
                return list(output.model_json(list[FeeDecision], found))
            return [
                await _run_row(reader, run)
                for run in await fee_journal.runs(reader, node_id, limit=limit)
            ]

    rows = _run(ctx, db, work)
    if json_out:
        output.emit_json(rows)
    elif channel is not None:
        _show_channel_history(channel, rows)
    else:
        _show_runs(rows)


async def _run_row(reader: StoreReader, run: fee_journal.FeeRun) -> dict[str, Any]:
    assert run.id is not None
    decisions = await fee_journal.run_decisions(reader, run.id)
    outcomes: dict[str, int] = {}
    for d in decisions:
        outcomes[d.outcome] = outcomes.get(d.outcome, 0) + 1
    return {
        "run_id": run.id,
        "at": run.at.isoformat(),
        "mode": run.mode,
        "rollback_of": run.rollback_of,
        "policy_digest": run.policy_digest,
        "channels": len(decisions),
        "sent": sum(1 for d in decisions if d.sent),
        "outcomes": outcomes,
    }


def _show_runs(rows: Sequence[dict[str, Any]]) -> None:
    table = output.table("Fee runs", "run", "time (UTC)", "mode", "channels", "sent", "outcomes")
    for row in rows:
        mode = row["mode"] + (f" of {row['rollback_of']}" if row["rollback_of"] else "")
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items()))
        at = output.when(datetime.fromisoformat(row["at"]), zone=False)
        table.add_row(
            str(row["run_id"]), at, mode, str(row["channels"]), str(row["sent"]), outcomes
        )
    output.stdout.print(table)


def _show_channel_history(scid: str, rows: Sequence[dict[str, Any]]) -> None:
    table = output.table(
        f"Fee decisions for {scid}", "run", "rule", "fee ppm", "inbound ppm", "outcome", "reason"
    )
    for row in rows:
        old, new = row["old"] or {}, row["new"] or {}
        table.add_row(
            str(row["run_id"]),
            escape(row["rule"] or "-"),
            _move(old.get("fee_rate_ppm"), new.get("fee_rate_ppm")),
            _move(old.get("inbound_fee_rate_ppm"), new.get("inbound_fee_rate_ppm")),
            row["outcome"],
            escape(row["reason"]),
        )
    output.stdout.print(table)


# -- import -----------------------------------------------------------------------------------

import_app = typer.Typer(
    help="Turn another tool's fee configuration into a policy file.", no_args_is_help=True
)
app.add_typer(import_app, name="import")


@import_app.command("charge-lnd")
def import_charge_lnd(
    config: Annotated[Path, typer.Argument(help="charge-lnd configuration file (.ini/.config).")],
    out: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the policy here (default: stdout)."),
    ] = None,
    open_cost_sat: Annotated[
        int | None,
        typer.Option(
            "--open-cost-sat",
            min=0,
            help="Opening fee in sat for the 'cost' strategy (charge-lnd reads it from LND's "
            "wallet; lnpilot does not).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --output.")] = False,
) -> None:
    """Convert a charge-lnd configuration to fees.toml, or name every part that cannot be."""
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        output.error(f"{config}: cannot read: {exc}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    try:
        converted = charge_lnd.convert(text, str(config), open_cost_sat=open_cost_sat)
    except charge_lnd.ConversionError as exc:
        for problem in exc.problems:
            output.error(problem)
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    if out is None:
        typer.echo(converted.toml, nl=False)
        return
    if out.exists() and not force:
        output.error(f"{out} exists; pass --force to overwrite it")
        raise typer.Exit(ExitCode.BAD_INPUT)
    out.write_text(converted.toml, encoding="utf-8")
    for note in converted.notes:
        output.stderr.print(f"note: {escape(note)}", soft_wrap=True)
    output.stdout.print(f"wrote {escape(str(out))}: check it with `lnpilot fees check`")
