"""``lnpilot open suggest``: whom to open a channel to and how large, from the public graph.

It reads the node (the graph, our channels, the on-chain balance as the default budget) and
sends nothing. Each candidate's score comes with its parts (see
:mod:`lnpilot.lifecycle.open`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.markup import escape

from lnpilot.cli import output
from lnpilot.cli.collect import DbOption, with_node_and_store
from lnpilot.cli.runtime import ExitCode, JsonFlag
from lnpilot.lifecycle.open import OpenError, Suggestion, suggest
from lnpilot.node.backend import NodeBackend
from lnpilot.store import Store

app = typer.Typer(help="Opening channels: whom to, and how large.")
_SUGGESTION = TypeAdapter(Suggestion)


@app.command("suggest")
def suggest_command(
    ctx: typer.Context,
    budget_sat: Annotated[
        int | None,
        typer.Option("--budget-sat", help="Sat to spend on channels (default: on-chain balance)."),
    ] = None,
    count: Annotated[int, typer.Option("--count", help="How many candidates.")] = 3,
    fee_rate: Annotated[
        int, typer.Option("--fee-rate", help="On-chain fee rate to price open and close, sat/vB.")
    ] = 10,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Candidate peers ranked from the public graph, each score with its parts and a size."""

    async def work(backend: NodeBackend, _store: Store) -> Suggestion:
        budget = budget_sat
        if budget is None:
            budget = (await backend.onchain_balance()).confirmed_sat
        info = await backend.get_info()
        return suggest(
            await backend.describe_graph(),
            info.pubkey,
            await backend.list_channels() + await backend.list_pending_channels(),
            datetime.now(UTC),
            budget_sat=budget,
            count=count,
            fee_rate_sat_per_vbyte=fee_rate,
        )

    try:
        found = with_node_and_store(ctx, db, work)
    except OpenError as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    if as_json:
        output.emit_json(_SUGGESTION.dump_python(found, mode="json"))
        return
    output.stdout.print(
        f"Budget {found.budget_sat:,} sat at {found.fee_rate_sat_per_vbyte} sat/vB; "
        + "; ".join(found.reasons),
        soft_wrap=True,
    )
    if not found.candidates:
        output.stdout.print("No candidate: every node of the graph is our peer already.")
    for rank, c in enumerate(found.candidates, start=1):
        fee = f"{c.median_fee_rate_ppm} ppm" if c.median_fee_rate_ppm is not None else "unknown"
        output.stdout.print(
            f"{rank}. {escape(c.alias or '')} {c.pubkey} score {c.score:.2f}: "
            f"open {c.recommended_capacity_sat:,} sat"
        )
        parts = ", ".join(f"{name} {value:.2f}" for name, value in c.parts.items())
        output.stdout.print(
            f"   {parts} ({c.capacity_sat:,} sat in {c.num_channels} channels, median fee "
            f"{fee}, reached by {c.peers_reaching} of our peers)",
            soft_wrap=True,
        )
