"""``lnpilot open suggest | plan | run``: whom to open a channel to, how large, and opening it.

``suggest`` reads the node (the graph, our channels, the on-chain balance as the default
budget) and sends nothing. ``plan PEER --capacity-sat N`` stores a plan with the agreed
terms; ``run PLAN`` is a journaled dry run unless ``--apply``, and resumes where it stopped
(the policy step waits for the funding to confirm). Each candidate's score comes with its parts (see
:mod:`lnpilot.lifecycle.open`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from lnpilot.cli import output
from lnpilot.cli.channels import store_node_id
from lnpilot.cli.close import ByOption, checked, step_line, who
from lnpilot.cli.collect import DbOption
from lnpilot.cli.runtime import JsonFlag
from lnpilot.lifecycle.open import (
    OpenError,
    OpenTerms,
    Suggestion,
    plan_open,
    run_open,
    suggest_open,
)
from lnpilot.node.backend import NodeBackend
from lnpilot.store import Store

app = typer.Typer(help="Opening channels: whom to, how large, and opening them.")


@app.command("suggest")
def suggest_command(
    ctx: typer.Context,
    budget_sat: Annotated[
        int | None,
        typer.Option("--budget-sat", help="Sat to spend on channels (default: on-chain balance)."),
    ] = None,
    count: Annotated[int, typer.Option("--count", help="How many candidates.")] = 3,
    fee_rate: Annotated[
        int | None,
        typer.Option(
            "--fee-rate",
            help="On-chain fee rate to price open and close, sat/vB (default: the node's "
            "estimate; needed where the backend has none).",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Candidate peers ranked from the public graph, each score with its parts and a size."""

    async def work(backend: NodeBackend, store: Store) -> Suggestion:
        node_id, _ = await store_node_id(backend, store, None)
        return await suggest_open(
            backend,
            store,
            node_id,
            datetime.now(UTC),
            budget_sat=budget_sat,
            count=count,
            fee_rate_sat_per_vbyte=fee_rate,
        )

    found = checked(ctx, db, work, OpenError)
    if as_json:
        output.emit_model(Suggestion, found)
        return
    output.stdout.print(
        f"Budget {found.budget_sat:,} sat at {found.fee_rate_sat_per_vbyte} sat/vB "
        f"({found.fee_rate_source}); " + "; ".join(found.reasons),
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
            f"{fee}, reached by {c.peers_reaching} of our peers"
            + (
                f"; reaches {c.unserved_reached_msat // 1000:,} sat of our unserved demand)"
                if c.unserved_reached_msat
                else ")"
            ),
            soft_wrap=True,
        )


Opt = typer.Option


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    peer: Annotated[str, typer.Argument(help="The peer's node pubkey.")],
    capacity_sat: Annotated[int, Opt("--capacity-sat", help="Channel size in sat.")],
    address: Annotated[str | None, Opt("--address", help="host:port (default: gossip's).")] = None,
    fee_rate_ppm: Annotated[int | None, Opt("--fee-rate-ppm", help="Agreed fee rate.")] = None,
    base_fee_msat: Annotated[int | None, Opt("--base-fee-msat", help="Agreed base fee.")] = None,
    cltv_delta: Annotated[int | None, Opt("--cltv-delta", help="CLTV delta, blocks.")] = None,
    min_htlc_msat: Annotated[int | None, Opt("--min-htlc-msat", help="Smallest HTLC.")] = None,
    max_htlc_msat: Annotated[int | None, Opt("--max-htlc-msat", help="Largest HTLC.")] = None,
    remote_reserve_sat: Annotated[
        int | None,
        Opt("--remote-reserve-sat", help="Reserve the peer must keep, sat (set at open)."),
    ] = None,
    name: Annotated[str | None, Opt("--name", help="The agreement's name.")] = None,
    note: Annotated[str | None, Opt("--note", help="What was agreed, in words.")] = None,
    contact: Annotated[str | None, Opt("--contact", help="How to reach the peer.")] = None,
    sat_per_vbyte: Annotated[int | None, Opt("--fee-rate", help="Funding sat/vB.")] = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Store an open plan with the agreed terms; nothing is sent to the node."""
    terms = OpenTerms(
        fee_rate_ppm=fee_rate_ppm,
        base_fee_msat=base_fee_msat,
        cltv_delta=cltv_delta,
        min_htlc_msat=min_htlc_msat,
        max_htlc_msat=max_htlc_msat,
        remote_reserve_sat=remote_reserve_sat,
        name=name,
        note=note,
        contact=contact,
    )

    async def work(backend: NodeBackend, store: Store) -> int:
        node_id, _ = await store_node_id(backend, store, None)
        plan = await plan_open(
            backend,
            store,
            node_id,
            peer,
            capacity_sat,
            by=who(by),
            now=datetime.now(UTC),
            terms=terms,
            address=address,
            sat_per_vbyte=sat_per_vbyte,
        )
        assert plan.id is not None
        return plan.id

    plan_id = checked(ctx, db, work, OpenError)
    output.stdout.print(f"Plan {plan_id}: open {capacity_sat:,} sat to {peer}.")
    output.stdout.print(f"Dry run: lnpilot open run {plan_id}; to act: add --apply.")


@app.command("run")
def run_command(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(help="The plan's number.")],
    apply: Annotated[bool, Opt("--apply", help="Act (without it: a dry run).")] = False,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Take the plan's next steps: connect, open, set the policy, store the agreement."""

    async def work(backend: NodeBackend, store: Store) -> list[str]:
        report = await run_open(
            backend, store, plan_id, by=who(by), clock=lambda: datetime.now(UTC), apply=apply
        )
        return [step_line(s) for s in report.steps]

    lines = checked(ctx, db, work, OpenError)
    if not lines:
        output.stdout.print(f"Plan {plan_id} is finished: nothing to do.")
    for line in lines:
        output.stdout.print(escape(line), soft_wrap=True)
