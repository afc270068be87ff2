"""``lnpilot backtest``: try a fee policy on a simulated copy of the node before it acts.

The node is the configured one (read only: channels, balances, policies, the graph), the
history the store's (``--db``, as ``lnpilot collect``); ``--demo`` backtests the demo
network's node instead, after recording its history with the real collector, so the
command can be tried with nothing configured. What the backtest does is in
:mod:`lnpilot.backtest`; this module reads the arguments, shows progress and prints.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from lnpilot.backtest import (
    Arm,
    BacktestError,
    Options,
    Report,
    backtest,
    load_arm,
    parse_arm,
    report_json,
)
from lnpilot.backtest.model import DEFAULT_NEIGHBOURHOOD_NODES, ModelError
from lnpilot.backtest.run import MAX_SEEDS, default_jobs, spread
from lnpilot.base.tomlfile import FileProblems
from lnpilot.cli import output
from lnpilot.cli.collect import DbOption, with_node_and_store
from lnpilot.cli.runtime import ExitCode, JsonFlag, daemon_file, fail
from lnpilot.lab import Figures
from lnpilot.node.backend import NodeBackend
from lnpilot.store import Store

#: The demo's scenario, and its policy as the current one (what `lnpilot demo` runs).
DEMO_SCENARIO = Path("demo.toml")


def backtest_command(
    ctx: typer.Context,
    policy: Annotated[
        Path, typer.Option("--policy", help="The candidate policy file (fees.toml format).")
    ],
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="The current policy file (default: the one the daemon reads, "
            "[service] fees_policy_file).",
        ),
    ] = None,
    days: Annotated[
        float, typer.Option(help="Days of history to fit, and days each policy runs.")
    ] = 30.0,
    seeds: Annotated[int, typer.Option(help="Runs per policy, each with its own seed.")] = 5,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Worker processes the seeds run in (default: one per seed, at most one "
            "per CPU); the figures do not depend on it."
        ),
    ] = None,
    graph: Annotated[
        Path | None,
        typer.Option(help="Graph snapshot file (gzipped JSON) when the node cannot give one."),
    ] = None,
    neighbourhood: Annotated[
        int, typer.Option(help="Most graph nodes kept around our peers.")
    ] = DEFAULT_NEIGHBOURHOOD_NODES,
    warmup_days: Annotated[
        float, typer.Option(help="Collector-only days before each run (history to read).")
    ] = 2.0,
    save: Annotated[
        Path | None, typer.Option(help="Write the node's model as a simnet scenario file.")
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Backtest the demo network's node (its history recorded first), not the "
            "configured one.",
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Try a fee policy on a simulated copy of the node and compare it with the current one.

    Nothing is applied to the node: it is only read (channels, balances, policies, graph),
    and the store only for its history (forwards, failed forwards).
    """
    options = Options(
        days=days,
        seeds=tuple(range(seeds)) if seeds > 0 else (),
        warmup_days=warmup_days,
        max_nodes=neighbourhood,
    )
    try:
        options.check()
        if jobs is not None and not 1 <= jobs <= MAX_SEEDS:
            raise BacktestError(f"--jobs: {jobs} is outside 1..{MAX_SEEDS}")
        candidate = load_arm(policy)
        current = _current(ctx, against, demo)
    except (BacktestError, FileProblems) as exc:
        fail(exc, ExitCode.BAD_INPUT)
    if demo and graph is not None:
        raise typer.BadParameter("--graph: the demo network gives its own graph; leave it out")

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} runs"),
        TimeElapsedColumn(),
        console=output.stderr,
        transient=True,
    ) as bar:
        task = bar.add_task("Modelling the node", total=2 * len(options.seeds))

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=escape(what))

        async def work(node: NodeBackend, store: Store, now: datetime) -> Report:
            return await backtest(
                node,
                store,
                current,
                candidate,
                now=now,
                options=options,
                graph_file=graph,
                progress=progress,
                save=save,
                jobs=jobs if jobs is not None else default_jobs(len(options.seeds)),
            )

        try:
            if demo:
                bar.update(task, description=f"Recording {days:g} days of the demo node")
                report = asyncio.run(_on_demo(days, work))
            else:
                report = with_node_and_store(
                    ctx, db, lambda node, store: work(node, store, datetime.now(UTC))
                )
        except ModelError as exc:
            fail(exc, ExitCode.BAD_INPUT)
    if as_json:
        output.emit_json(report_json(report))
    else:
        _print(report)


def _current(ctx: typer.Context, against: Path | None, demo: bool) -> Arm:
    if against is not None:
        return load_arm(against)
    if demo:
        from lnpilot.cli.demo import POLICY  # the demo's own policy is the current one

        return parse_arm(POLICY, "demo")
    configured = daemon_file(ctx, "fees_policy_file")
    if configured is None:
        raise BacktestError(
            "--against: no current policy: give --against FILE, or configure "
            "[service] fees_policy_file"
        )
    return load_arm(configured)


async def _on_demo(
    days: float, work: Callable[[NodeBackend, Store, datetime], Awaitable[Report]]
) -> Report:
    """The demo network's node with `days` of history recorded by the real collector (in
    virtual time, through the lab), then the backtest on it."""
    from lnpilot.lab import Lab
    from lnpilot.simnet.scenario import load_scenario
    from lnpilot.simnet.simulation import Simulation

    sim = Simulation(load_scenario(DEMO_SCENARIO))
    with tempfile.TemporaryDirectory(prefix="lnpilot-backtest-demo-") as tmp:
        async with Lab(sim, Path(tmp), None) as lab:
            await lab.run_for(days * 86_400, loops=("collect",))
            return await work(lab.node, lab.store, sim.network.now())


def _range(values: tuple[int, ...]) -> str:
    mean, low, high = spread(values)
    if low == high:
        return output.sat(mean)
    return f"{output.sat(mean)} ({output.sat_number(low)}..{output.sat_number(high)})"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print(report: Report) -> None:
    out = output.stdout
    opts = report.options
    n = len(opts.seeds)
    out.print(
        f"Node {escape(report.alias or report.pubkey[:16])} ({report.pubkey[:16]}…): "
        f"{report.channels} channels, a neighbourhood of {report.graph_nodes} nodes and "
        f"{report.graph_channels} channels, demand between {report.pairs} pairs of peers.",
        soft_wrap=True,
    )
    if report.gaps:
        out.print("[yellow]What the backtest could not learn, and what it assumed:[/yellow]")
        for gap in report.gaps:
            out.print(f"  - {escape(gap)}", soft_wrap=True)
    fit = report.fit
    rec = fit.recorded
    fit_table = output.table(
        f"Fit: the last {rec.hours / 24:.1f} days replayed under the policies in place "
        f"now ({n} seeds)",
        "",
        "recorded",
        "replayed (mean, min..max)",
        "ratio",
    )
    fwd_mean, fwd_low, fwd_high = spread(fit.replay_forwards)
    fit_table.add_row(
        "forwards",
        f"{rec.forwards:,}",
        f"{fwd_mean:,} ({fwd_low:,}..{fwd_high:,})",
        _ratio(fit.forwards_ratio),
    )
    fit_table.add_row(
        "fees earned",
        output.sat(rec.fees_earned_msat),
        _range(fit.replay_fees_msat),
        _ratio(fit.fees_ratio),
    )
    out.print(fit_table)
    if fit.uncalibrated_forwards is not None:
        out.print(
            f"  Before calibration the replay forwarded {fit.uncalibrated_forwards:,} "
            f"(seed {opts.seeds[0]}); the recorded rates were scaled by {fit.rate_scale:.2f} "
            "to match the record."
        )
    cur, cand = report.current, report.candidate
    table = output.table(
        f"{opts.days:g} days after {opts.warmup_days:g} days of warm-up, {n} seeds "
        "(mean, min..max)",
        "",
        f"current: {escape(cur.name)}",
        f"candidate: {escape(cand.name)}",
    )
    money: list[tuple[str, Callable[[Figures], int]]] = [
        ("fees earned", lambda f: f.fees_earned_msat),
        ("rebalancing cost", lambda f: f.rebalance_cost_msat),
        ("net profit", lambda f: f.net_profit_msat),
    ]
    for label, get in money:
        table.add_row(
            label,
            _range(tuple(get(f) for f in cur.figures)),
            _range(tuple(get(f) for f in cand.figures)),
        )
    counts: list[tuple[str, Callable[[Figures], int]]] = [
        ("forwards", lambda f: f.forwards),
        ("liquidity failures", lambda f: f.liquidity_failures),
        ("policy updates", lambda f: f.policy_updates),
    ]
    for label, count in counts:
        table.add_row(
            label,
            f"{sum(count(f) for f in cur.figures) / n:,.1f}",
            f"{sum(count(f) for f in cand.figures) / n:,.1f}",
        )
    out.print(table)
    per_channel = output.table(
        "Per channel: fees earned out of it (mean over seeds)",
        "channel",
        "peer",
        "current",
        "candidate",
        "difference",
    )
    for scid in sorted(cur.channel_fees_msat):
        before = sum(cur.channel_fees_msat[scid]) // n
        after = sum(cand.channel_fees_msat.get(scid, (0,))) // n
        per_channel.add_row(
            scid,
            escape(report.peer_alias.get(scid, "")),
            output.sat(before),
            output.sat(after),
            ("+" if after > before else "") + output.sat(after - before),
        )
    out.print(per_channel)
    if report.decisions:
        decisions = output.table(
            f"The candidate's first decisions (seed {opts.seeds[0]})",
            "virtual time (UTC)",
            "channel",
            "fee ppm",
            "reason",
        )
        decisions.columns[3].overflow = "fold"
        decisions.columns[3].max_width = 72
        for d in report.decisions:
            change = (
                f"{d.old_fee_rate_ppm} → {d.new_fee_rate_ppm}"
                if d.new_fee_rate_ppm is not None
                else f"{d.old_fee_rate_ppm} (kept)"
            )
            decisions.add_row(
                output.when(d.at, zone=False), d.scid or "-", change, escape(d.reason)
            )
        out.print(decisions)
    style = {"better": "green", "worse": "red"}.get(report.verdict.outcome, "yellow")
    out.print(
        f"Verdict (net profit, paired by seed): [{style}]{escape(report.verdict.text)}[/{style}]",
        soft_wrap=True,
    )
    out.print("Nothing was applied to the node.")
