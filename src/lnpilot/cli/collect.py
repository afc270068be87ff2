"""``lnpilot collect``: run the collector once, or on a schedule until Ctrl-C.

The node is the configured one (``[lnd]`` first, then LNbits' node API when a login is
configured: :func:`lnpilot.config.make_node`); the store is ``--db``, else ``[service]
database_url``, else the data directory's SQLite file (the daemon's database). One reading
is the default (``--once`` says so explicitly): it is what a new user tries first and what
cron wants, and it fails with exit code 1 when the node cannot be read. ``--every`` runs
the daemon's own collection loops (:func:`lnpilot.service.daemon.collection_loops`: the
collector and the store's upkeep) under its supervisor, so it schedules, backs off through
outages of the node or the database (one warning line when it starts failing, one when it
recovers) and resumes as soon as the node answers, exactly as ``lnpilot run`` does.

This module also holds what other commands that need the node and the store share with it:
opening both together, and saying an event in one line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, fail, parse_duration, state_of
from lnpilot.collect import Collector, CycleReport
from lnpilot.config import make_client, make_node, retention_of
from lnpilot.lnbits import LNbitsClient
from lnpilot.node.backend import DESCRIPTIONS, CapabilityMissing, NodeBackend, NodeError, how_to_get
from lnpilot.service import Services
from lnpilot.service.daemon import collection_loops
from lnpilot.service.supervisor import Supervisor
from lnpilot.store import Event, Store, normalize_url, sqlite_url

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: [service] database_url, else the data directory's "
        "SQLite file).",
    ),
]


def with_node_and_store(
    ctx: typer.Context, db: str | None, work: Callable[[NodeBackend, Store], Awaitable[T]]
) -> T:
    """Run ``work`` with the configured node and the store open; node and database
    failures become one red line and exit code 1, configuration problems exit code 2."""
    return with_client_node_and_store(ctx, db, lambda _client, node, store: work(node, store))


def with_client_node_and_store(
    ctx: typer.Context,
    db: str | None,
    work: Callable[[LNbitsClient, NodeBackend, Store], Awaitable[T]],
) -> T:
    """:func:`with_node_and_store`, with the LNbits client the node is built on too (for
    the extensions, which are LNbits' and not the node's)."""
    settings = state_of(ctx).settings()
    client = make_client(settings)
    try:
        node = make_node(settings, client)
        url = normalize_url(db or settings.service.database_url or sqlite_url(settings.data_dir))
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)

    async def main() -> T:
        async with client, node, await Store.open(url, retention=retention_of(settings)) as store:
            return await work(client, node, store)

    try:
        return asyncio.run(main())
    except CapabilityMissing as exc:
        fail(exc, ExitCode.BAD_INPUT)
    except (NodeError, SQLAlchemyError, OSError) as exc:
        fail(exc, ExitCode.FAILED)


def collect(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="One pass, then exit (the default without --every).")
    ] = False,
    every: Annotated[
        str | None,
        typer.Option("--every", help="Cycle on this interval until Ctrl-C: 60s, 5m, 1h."),
    ] = None,
    jitter: Annotated[
        float,
        typer.Option(min=0, max=0.5, help="Shift each interval at random by up to this share."),
    ] = 0.1,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Read the node and record its channels, balances, forwards and events in the store."""
    if once and every is not None:
        raise typer.BadParameter(
            "give --once (one reading, the default) or --every INTERVAL, not both"
        )
    interval = parse_duration(every) if every is not None else None
    if interval is not None and interval < timedelta(seconds=1):
        raise typer.BadParameter("--every must be at least 1s")
    printer = _Printer(as_json, stream=interval is not None)

    async def work(node: NodeBackend, store: Store) -> None:
        if interval is None:
            await Collector(node, store).run_once(printer.cycle)
            return
        settings = state_of(ctx).settings()
        services = Services(store=store, node=node, settings=settings)
        loops = collection_loops(
            services, interval.total_seconds(), jitter=jitter, on_report=printer.cycle
        )
        supervisor = Supervisor(
            loops,
            services.health,
            backoff_max_s=settings.service.backoff_max_s,
            stop_timeout_s=settings.service.stop_timeout_s,
        )
        output.stderr.print(f"Collecting every {every} (± {jitter:.0%}). Ctrl-C to stop.")
        await supervisor.run()

    try:
        with_node_and_store(ctx, db, work)
    except KeyboardInterrupt:
        output.stderr.print("Stopped.")
        raise typer.Exit(ExitCode.OK) from None
    if as_json and interval is None:
        output.emit_json(printer.reports)


class _Printer:
    """Each cycle as a line (and its events below it), or as JSON: one compact line per
    cycle with ``--every``, one array at the end with ``--once``."""

    def __init__(self, as_json: bool, *, stream: bool) -> None:
        self.as_json = as_json
        self.stream = stream
        self.reports: list[dict[str, Any]] = []
        self._told_missing = False

    def cycle(self, report: CycleReport) -> None:
        if self.as_json:
            if self.stream:
                output.emit_json(cycle_json(report), compact=True)
            else:
                self.reports.append(cycle_json(report))
            return
        stdout = output.stdout
        pending = f" ({report.pending} pending)" if report.pending else ""
        peers = f", {report.peers} peers" if report.peers is not None else ""
        stdout.print(
            f"{output.when(report.at)}  {escape(report.node_alias)}: "
            f"{report.channels} channels{pending}{peers}; "
            f"+{report.forwards_new} forwards (index {report.forward_index}), "
            f"+{report.failed_forwards_new} failed; {len(report.events)} events; "
            f"{report.duration_s:.2f} s ({report.read_s:.2f} s reading the node)",
            soft_wrap=True,
        )
        if report.first:
            stdout.print("  first cycle for this node: its state recorded as is, no events")
        for event in report.events:
            stdout.print(f"  {escape(describe_event(event))}", soft_wrap=True)
        if report.missing and not self._told_missing:
            self._told_missing = True
            for capability in sorted(report.missing):
                output.stderr.print(
                    f"  not collected: {DESCRIPTIONS[capability]}; it needs "
                    f"{escape(how_to_get(capability))}",
                    soft_wrap=True,
                )


def cycle_json(report: CycleReport) -> dict[str, Any]:
    return {
        "at": report.at.isoformat(),
        "node_pubkey": report.node_pubkey,
        "node_alias": report.node_alias,
        "first": report.first,
        "channels": report.channels,
        "pending": report.pending,
        "peers": report.peers,
        "forwards_new": report.forwards_new,
        "forward_index": report.forward_index,
        "caught_up": report.caught_up,
        "failed_forwards_new": report.failed_forwards_new,
        "events": output.model_json(tuple[Event, ...], report.events),
        "missing": sorted(c.value for c in report.missing),
        "read_s": round(report.read_s, 3),
        "duration_s": round(report.duration_s, 3),
    }


def describe_event(event: Event) -> str:
    """One line: the kind, the channel or peer, and what the payload says that matters."""
    p = event.payload
    subject = p.get("scid") or p.get("channel_point") or p.get("alias") or event.peer_pubkey
    detail = ""
    if "close_type" in p:
        detail = f"{p['close_type']} (closed by {p['close_initiator']})"
    elif isinstance(p.get("changes"), dict):
        changes: dict[str, Any] = p["changes"]  # type: ignore[assignment]
        detail = ", ".join(f"{k} {v[0]} -> {v[1]}" for k, v in sorted(changes.items()))
    elif "gap_s" in p:
        detail = f"nothing recorded for {p['gap_s']} s since {p['since']}"
        if p.get("failed_cycles"):
            detail += f" ({p['failed_cycles']} failed cycles, last: {p['last_error']})"
    elif "capacity_sat" in p:
        detail = f"{p['capacity_sat']:,} sat" if isinstance(p["capacity_sat"], int) else ""
    elif "channels" in p and isinstance(p["channels"], list):
        detail = "channels " + ", ".join(str(c) for c in p["channels"])
    return " ".join(str(part) for part in (event.kind, subject, detail) if part)
