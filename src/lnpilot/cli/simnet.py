"""``lnpilot simnet``: the simulated Lightning network, run by hand or summarised.

``run`` paces a simulation to the wall clock (with a speed-up) and serves our node's LND
REST face on 127.0.0.1, optionally with a real LNbits on top, until Ctrl-C: what you point
LNbits or lnpilot at to try them on a network whose channels move. ``stats`` runs a scenario
in virtual time as fast as the CPU allows and prints what happened.

The live pieces (a simulation started at the wall clock, its face, LNbits on it, the paced
loop that stops on Ctrl-C, SIGTERM or a duration) are shared with ``lnpilot demo``.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
import signal
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lnpilot.base import flow
from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, parse_duration
from lnpilot.devtools import LNbitsServer, LNbitsStartError, LNbitsUnavailable, LndRestFunding
from lnpilot.simnet.generate import (
    BALANCE_MODELS,
    DEMAND_FAMILIES,
    GeneratorError,
    IdleScenarioError,
    new_scenario,
)
from lnpilot.simnet.lnd_rest import FaceServer, serve
from lnpilot.simnet.scenario import Scenario, ScenarioError, load_scenario, snapshot_scenario
from lnpilot.simnet.simulation import Simulation
from lnpilot.simnet.summary import summarize

app = typer.Typer(help="The simulated Lightning network (simnet).", no_args_is_help=True)

#: LND macaroons (v2, location "lnd") start with these bytes; the rest is random per run.
_MACAROON_PREFIX = "0201036c6e64"
#: Wall-clock seconds between the status lines of `run`.
_STATUS_EVERY_S = 10.0
#: Virtual seconds `stats` runs between two updates of its progress bar.
_STATS_STEP_S = 3600.0
#: Characters of the local/remote balance bar.
_BAR_WIDTH = 8
_STATUS_MARKUP = {
    "active": "[green]active[/green]",
    "offline": "[red]offline[/red]",
    "disabled": "[red]disabled[/red]",
    "pending": "[yellow]pending[/yellow]",
    "closing": "[yellow]closing[/yellow]",
}

ScenarioOption = Annotated[
    Path | None,
    typer.Option(
        "--scenario",
        help="Scenario file (TOML); a bare name is looked up among the shipped ones "
        "(demo.toml, triangle.toml).",
    ),
]
TopologyOption = Annotated[
    Path | None,
    typer.Option(
        "--topology",
        help="Graph snapshot (gzipped JSON, the schema of ../shared/data): a new node "
        "'lnpilot' joins it with five channels, under background payments.",
    ),
]
SeedOption = Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")]


def load(scenario: Path | None, topology: Path | None) -> Scenario:
    """The scenario named on the command line, or exit 2 saying what is wrong with it."""
    if (scenario is None) == (topology is None):
        raise typer.BadParameter("give either --scenario FILE or --topology FILE")
    try:
        if scenario is not None:
            return load_scenario(scenario)
        assert topology is not None
        return snapshot_scenario(topology)
    except ScenarioError as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None


# --- a simulation paced by the wall clock, with its faces ------------------------------------


@dataclass
class LiveSimulation:
    """A simulation that started at the wall clock, its LND REST face, and LNbits once started.

    `lock` guards the simulation: the face serves from its own thread, so whoever reads or
    changes the network outside the face (the demo's table, a test) holds it.
    """

    sim: Simulation
    lock: threading.RLock
    face: FaceServer
    macaroon_hex: str
    lnbits: LNbitsServer | None = None

    def start_lnbits(self) -> LNbitsServer:
        """A real LNbits (LndRestWallet) on the face; `LNbitsUnavailable` when not installed."""
        server = LNbitsServer(funding=LndRestFunding(self.face.url, self.macaroon_hex))
        server.start()
        self.lnbits = server
        return server


@contextmanager
def live_simulation(
    scenario: Scenario, seed: int | None, port: int = 0
) -> Iterator[LiveSimulation]:
    """Build the simulation, serve its face on 127.0.0.1:`port` (0: a free one); stop both after.

    The simulation starts now, not at the scenario's `start`: LNbits and lnpilot's client
    judge invoices by the wall clock, so invoices dated in the past would look expired.
    """
    sim = Simulation(scenario, seed, start=datetime.now(UTC).replace(microsecond=0))
    lock = threading.RLock()
    macaroon_hex = _MACAROON_PREFIX + secrets.token_hex(32)
    face = serve(sim.our_node, macaroon_hex, port=port, lock=lock)
    live = LiveSimulation(sim, lock, face, macaroon_hex)
    try:
        yield live
    finally:
        if live.lnbits is not None:
            live.lnbits.stop()
        face.stop()


async def pace(
    live: LiveSimulation,
    speed: float,
    duration_s: float | None = None,
    *companions: Coroutine[Any, Any, None],
) -> None:
    """Advance the simulation at `speed`× the wall clock until Ctrl-C, SIGTERM or `duration_s`.

    `companions` (a display, a reporter) run beside it on the same loop and are cancelled at
    the end; one that fails stops the run and its error is raised here. Ctrl-C and SIGTERM
    only set the stop event, so what follows (stopping LNbits and the face) always runs.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:  # signal handlers can only be set there
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    tasks = [asyncio.create_task(c) for c in companions]
    for task in tasks:
        task.add_done_callback(lambda done: stop.set())
    try:
        await live.sim.run_realtime(speed, stop, live.lock)
    finally:
        if in_main_thread:
            for sig in signals:
                loop.remove_signal_handler(sig)
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome


def status_line(sim: Simulation) -> str:
    """One line of the network's and our node's state (hold the live lock while calling)."""
    stats = sim.payer.stats
    forwards = sim.our_node.forwards
    rate = f"{stats.succeeded / stats.payments:.1%}" if stats.payments else "-"
    return (
        f"{sim.network.now():%Y-%m-%d %H:%M:%S} UTC (virtual), block "
        f"{sim.network.chain.block_height}: {stats.payments:,} payments ({rate} succeeded); "
        f"our node forwarded {len(forwards):,}, earning "
        f"{output.sat(sum(f.fee_msat for f in forwards))}"
    )


# --- commands ----------------------------------------------------------------------------------


@app.command()
def run(
    scenario: ScenarioOption = None,
    topology: TopologyOption = None,
    seed: SeedOption = None,
    speed: Annotated[
        float, typer.Option(min=0.001, help="Virtual seconds per wall-clock second.")
    ] = 60.0,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the LND REST face (0: a free one).")
    ] = 0,
    with_lnbits: Annotated[
        bool, typer.Option("--with-lnbits", help="Also run a real LNbits on the face.")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Stop after this many wall-clock seconds.")
    ] = None,
) -> None:
    """Run the simulation in real time with our node's LND REST face, until Ctrl-C.

    Prints the REST URL and the macaroon (hex) to give LNbits or lnpilot: this is a
    throw-away development network, and those are what you need to use it.
    """
    spec = load(scenario, topology)
    try:
        with live_simulation(spec, seed, port) as live:
            _describe(live)
            if with_lnbits:
                with output.stderr.status("Starting LNbits on the simulated node…"):
                    server = live.start_lnbits()
                su = server.superuser
                for line in (
                    f"LNbits: {server.url}  superuser {su.username} / {su.password}",
                    f"  wallet {su.wallet.wallet_id}  adminkey {su.wallet.adminkey}  "
                    f"inkey {su.wallet.inkey}",
                ):
                    output.stdout.print(escape(line), soft_wrap=True)
            output.stdout.print(f"Running at {speed:g}× real time. Press Ctrl-C to stop.")
            asyncio.run(pace(live, speed, duration, _report(live)))
            with live.lock:
                lines = [status_line(live.sim), f"event log hash {live.sim.event_log_hash()}"]
            for line in lines:
                output.stdout.print(line, soft_wrap=True)
    except LNbitsUnavailable as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    except LNbitsStartError as exc:
        output.error(f"LNbits failed: {exc}")
        raise typer.Exit(ExitCode.FAILED) from None
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        output.error(f"cannot serve the LND REST face on 127.0.0.1:{port}: {exc.strerror}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    except KeyboardInterrupt:  # Ctrl-C while starting: everything is stopped already
        pass
    output.stdout.print("Stopped.")


def _describe(live: LiveSimulation) -> None:
    """Where the face is and its macaroon, one unbroken line each (for copy and paste)."""
    ours = live.sim.our_node
    for line in (
        f"Simulated network: {len(live.sim.network.nodes)} nodes; our node "
        f"{ours.node.alias} {ours.pubkey} with {len(ours.channels())} channels",
        f"LND REST: {live.face.url}",
        f"macaroon (hex): {live.macaroon_hex}",
        "for LNbits: LNBITS_BACKEND_WALLET_CLASS=LndRestWallet "
        f"LND_REST_ENDPOINT={live.face.url} LND_REST_MACAROON={live.macaroon_hex}",
    ):
        output.stdout.print(escape(line), soft_wrap=True)


async def _report(live: LiveSimulation) -> None:
    while True:
        await asyncio.sleep(_STATUS_EVERY_S)
        with live.lock:
            line = status_line(live.sim)
        output.stdout.print(line, soft_wrap=True)


@app.command()
def stats(
    scenario: ScenarioOption = None,
    topology: TopologyOption = None,
    seed: SeedOption = None,
    duration: Annotated[
        str, typer.Option(help="Virtual time to run: 90s, 15m, 6h, 1d, 30d.")
    ] = "1d",
    json: JsonFlag = False,
) -> None:
    """Run a scenario in virtual time, as fast as possible, and summarise the run.

    Payments and their success rate, our node's forwards, fees and channel balances, and
    the event-log hash (equal for equal scenario, seed and duration).
    """
    spec = load(scenario, topology)
    length_s = parse_duration(duration).total_seconds()
    sim = Simulation(spec, seed)
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.fields[virtual]}"),
        TimeElapsedColumn(),
        console=output.stderr,
        transient=True,
    ) as progress:
        task = progress.add_task("run", total=length_s, virtual="")
        done_s = 0.0
        while done_s < length_s:
            step_s = min(_STATS_STEP_S, length_s - done_s)
            sim.run_for(step_s)
            done_s += step_s
            progress.update(task, completed=done_s, virtual=f"{sim.network.now():%Y-%m-%d %H:%M}")
    summary = summarize(sim)
    if json:
        output.emit_json(summary)
        return
    for table in _summary_tables(summary):
        output.stdout.print(table)
        output.stdout.print()
    output.stdout.print(f"event log hash {summary['event_log_hash']}")


def _summary_tables(summary: dict[str, Any]) -> list[Table]:
    ours = summary["our_node"]
    failures = ", ".join(f"{k} {v:,}" for k, v in summary["failures_by_reason"].items())
    run_rows = [
        ("seed", str(summary["seed"])),
        ("virtual time", f"{summary['virtual_time']} ({summary['elapsed_s']:,} s)"),
        ("nodes", f"{summary['nodes']:,} ({summary['nodes_online']:,} online)"),
        ("open channels", f"{summary['channels_open']:,}, {summary['capacity_sat']:,} sat"),
        ("block height", f"{summary['block_height']:,}"),
        ("payments", f"{summary['payments']:,}"),
        ("succeeded", f"{summary['payments_succeeded']:,} ({summary['success_rate']:.1%})"),
        ("attempts", f"{summary['attempts']:,}"),
        ("fees paid", output.sat(summary["fees_paid_msat"])),
        ("failures", failures or "-"),
    ]
    node_rows = [
        ("alias", ours["alias"]),
        ("pubkey", ours["pubkey"]),
        ("channels", str(ours["channels"])),
        (
            "local / remote",
            f"{output.sat(ours['local_balance_msat'])} / {output.sat(ours['remote_balance_msat'])}",
        ),
        ("forwards", f"{ours['forwards']:,} ({ours['failed_forwards']:,} refused)"),
        ("fees earned", output.sat(ours["forward_fees_msat"])),
    ]
    tables = []
    for title, rows in (("Run", run_rows), ("Our node", node_rows)):
        table = Table(title=title, title_justify="left", show_header=False, box=None)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for row in rows:
            table.add_row(*row)
        tables.append(table)
    tables.append(channels_table(ours["per_channel"]))
    return tables


#: Forwards out of and into each channel, named and ordered as everywhere (base.flow).
FLOW_COLUMN = "fwd " + "/".join(f.value for f in flow.ORDER)


def channels_table(rows: list[dict[str, Any]], title: str = "Our channels") -> Table:
    """Our channels as `summary.channel_rows` gives them: balances, forwards, fees, status.

    Borderless, one space between columns, so that it fits 80 columns (a log, a CI run).
    """
    table = Table(
        title=title,
        title_justify="left",
        box=None,
        padding=(0, 1, 0, 0),
        header_style="bold underline",
    )
    table.add_column("channel", no_wrap=True)
    table.add_column("peer", overflow="ellipsis", no_wrap=True, max_width=12)
    table.add_column("capacity", justify="right", no_wrap=True)
    table.add_column("local ░ remote", no_wrap=True)
    table.add_column(FLOW_COLUMN, justify="right", no_wrap=True)
    table.add_column("fees sat", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for row in rows:
        capacity_msat = row["capacity_sat"] * 1000
        ratio = row["local_balance_msat"] / capacity_msat if capacity_msat else 0.0
        table.add_row(
            row["scid"],
            escape(row["peer_alias"]),
            f"{row['capacity_sat']:,}",
            f"{_balance_bar(ratio)} {ratio:>4.0%}",
            f"{row['forwards_out']}/{row['forwards_in']}",
            output.sat_number(row["fees_msat"]),
            _STATUS_MARKUP.get(row["status"], row["status"]),
        )
    return table


def _balance_bar(local_ratio: float) -> str:
    """Local share solid, remote share light: readable in colour and in a log file alike."""
    local = round(local_ratio * _BAR_WIDTH)
    return f"[green]{'█' * local}[/green][blue]{'░' * (_BAR_WIDTH - local)}[/blue]"


# --- scenario files --------------------------------------------------------------------------

scenario_app = typer.Typer(help="Scenario files: generate them from real graphs.")
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("new")
def scenario_new(
    graph: Annotated[
        Path, typer.Option(help="Graph snapshot (gzipped JSON, the schema of ../shared/data).")
    ],
    output_file: Annotated[Path, typer.Option("-o", "--output", help="Scenario file to write.")],
    around: Annotated[
        str | None, typer.Option(help="Carve around this node (pubkey or unique alias).")
    ] = None,
    random_center: Annotated[
        bool, typer.Option("--random", help="Carve around a random mid-sized node.")
    ] = False,
    nodes: Annotated[int, typer.Option(help="Nodes to carve from the graph.")] = 300,
    our_channels: Annotated[int, typer.Option(help="Channels of our node.")] = 6,
    demand: Annotated[
        str, typer.Option(help=f"Demand family: {', '.join(DEMAND_FAMILIES)}.")
    ] = "lsp",
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    balances: Annotated[
        str,
        typer.Option(
            help=f"Balance split of the carved channels: {', '.join(BALANCE_MODELS)} "
            "(around the middle; centred among the biggest fifth of nodes and near one end "
            "elsewhere; near one end, as LND's bimodal estimator assumes)."
        ),
    ] = "centred",
    shortcut: Annotated[
        bool,
        typer.Option(
            help="Let our node join peers more than two channels apart, so that it saves "
            "payers a hop (off by default: a newcomer with a few channels rarely does)."
        ),
    ] = False,
    shop_way_out: Annotated[
        bool,
        typer.Option(
            help="Give a shop that is our peer a funded channel of its own to a hub and start "
            "our channel to it all ours, so that its large cash-outs have a way besides ours "
            "(an experiment, off by default: docs/simnet.md, 'Shops with a way out')."
        ),
    ] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
    json: JsonFlag = False,
) -> None:
    """Carve a scenario out of a real graph, with mainnet-like payers and our node in it.

    The scenario is run for a virtual day before it is written: one in which our node
    forwards nothing is refused (exit 1), since it would measure nothing.
    """
    if output_file.exists() and not force:
        output.error(f"-o: {output_file} exists; pass --force to overwrite it")
        raise typer.Exit(ExitCode.BAD_INPUT)
    try:
        made = new_scenario(
            graph,
            around=around,
            random_center=random_center,
            nodes=nodes,
            our_channels=our_channels,
            demand=demand,
            seed=seed,
            balances=balances,
            shortcut=shortcut,
            shop_way_out=shop_way_out,
        )
    except IdleScenarioError as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.FAILED) from None
    except GeneratorError as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    output_file.write_text(made.toml, encoding="utf-8")
    facts = {
        "file": str(output_file),
        "center": made.center_pubkey,
        "center_alias": made.center_alias,
        "nodes": made.graph_nodes,
        "channels": made.graph_channels,
        "check_hours": made.check_hours,
        "check_payments": made.check_payments,
        "check_success_rate": made.check_success_rate,
        "check_our_forwards": made.check_forwards,
    }
    if json:
        output.emit_json(facts)
        return
    output.stdout.print(
        f"wrote {escape(str(output_file))}: {made.graph_nodes} nodes, {made.graph_channels} "
        f"channels, carved around {escape(made.center_alias)}\n"
        f"check, first {made.check_hours:g} virtual hours: {made.check_payments} payments, "
        f"{made.check_success_rate:.1%} succeeded, our node forwarded {made.check_forwards}",
        soft_wrap=True,
    )
