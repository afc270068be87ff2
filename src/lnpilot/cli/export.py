"""``lnpilot export``: histories out of the store as CSV or JSON, streamed.

Reads the store only (no node, no LNbits), so it works on a copy restored from a backup
too. ``--out`` writes a file (replaced only when complete); without it the export goes to
standard output. Times are UTC: ``2026-01-01`` is that day's midnight, and a time without
an offset is taken as UTC.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import aclosing
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from lnpilot.backup.export import ExportFormat, ExportKind, Period, check_range, export
from lnpilot.cli.runtime import ExitCode, fail, state_of
from lnpilot.service.daemon import store_url
from lnpilot.store import Store
from lnpilot.store.exports import node_ids

DEFAULT_SPAN = timedelta(days=30)


def parse_utc(text: str, option: str) -> datetime:
    """A date or an ISO 8601 time, as a UTC datetime; BadParameter naming the option."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: give a date (2026-01-01) or an ISO time (2026-01-01T12:00:00Z)",
            param_hint=option,
        ) from None
    if len(text.strip()) == 10:
        parsed = datetime.combine(parsed.date(), time(0))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def pick_node(store: Store, pubkey: str | None) -> int:
    """The store's id of `pubkey`, or of the only node when none is named."""
    async with store.read() as reader:
        known = await node_ids(reader)
    if pubkey is not None:
        if pubkey not in known:
            raise ValueError(f"the store has no node {pubkey}; it has: {', '.join(known) or '-'}")
        return known[pubkey]
    if len(known) != 1:
        listed = ", ".join(known) or "none yet (run lnpilot collect)"
        raise ValueError(f"name the node with --node; the store holds {listed}")
    return next(iter(known.values()))


def export_command(
    ctx: typer.Context,
    kind: Annotated[ExportKind, typer.Argument(help="What to export.")],
    start: Annotated[
        str | None, typer.Option("--from", help="Start, UTC (default: 30 days before --to).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="End, exclusive (default: now).")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = (
        ExportFormat.CSV
    ),
    period: Annotated[
        Period, typer.Option("--period", help="Accounting period: day or month.")
    ] = Period.MONTH,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file (default: stdout).")
    ] = None,
    node: Annotated[
        str | None, typer.Option("--node", help="Node pubkey (default: the store's only node).")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: the daemon's, from the configuration)."),
    ] = None,
) -> None:
    """Export forwards, fee changes, rebalances, payments or accounting as CSV or JSON."""
    until = parse_utc(end, "--to") if end else datetime.now(UTC)
    since = parse_utc(start, "--from") if start else until - DEFAULT_SPAN
    try:
        check_range(since, until)
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    url = db or store_url(state_of(ctx).settings())

    async def main() -> None:
        async with await Store.open(url) as store:
            node_id = await pick_node(store, node)
            chunks = export(store, node_id, kind, since, until, fmt, period=period)
            async with aclosing(chunks):
                if out is None:
                    async for text in chunks:
                        sys.stdout.write(text)
                    sys.stdout.flush()
                    return
                partial = out.with_name(f".{out.name}.partial")
                with partial.open("w", encoding="utf-8", newline="") as file:
                    async for text in chunks:
                        file.write(text)
                os.replace(partial, out)

    try:
        asyncio.run(main())
    except BrokenPipeError:
        # the reader stopped early (``| head``): not an error; keep Python's exit quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    except (SQLAlchemyError, OSError) as exc:
        fail(exc, ExitCode.FAILED)
