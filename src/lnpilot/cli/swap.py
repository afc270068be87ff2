"""``lnpilot swap``: Lightning <-> on-chain swaps through LNbits' Boltz extension.

``out`` (a reverse swap) pays Lightning out of the wallet and receives on-chain: the channel
the payment leaves through gains inbound liquidity. ``in`` (a submarine swap) gives an
address to pay on-chain and receives Lightning into the wallet. Both are dry runs by
default: they print the quote and what would be done; ``--apply`` does it after a
confirmation (``--yes`` skips the question). The quote is Boltz's pair fees, in sats and
ppm, to compare with what a circular rebalance would cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import click
import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, run
from lnpilot.lnbits import LNbitsClient
from lnpilot.lnbits.resources.boltz import SwapQuote, quote_swap

app = typer.Typer(help="On-chain swaps through the Boltz extension.", no_args_is_help=True)

AmountArg = Annotated[int, typer.Argument(min=1, help="Lightning amount in sat.")]
PairOpt = Annotated[str, typer.Option("--pair", help="Boltz pair.")]
ApplyFlag = Annotated[bool, typer.Option("--apply", help="Create the swap (without: dry run).")]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before creating it.")]


def _quote(ctx: typer.Context, kind: Literal["out", "in"], amount_sat: int, pair: str) -> SwapQuote:
    pairs = run(ctx, lambda client: client.boltz.pairs())
    if pair not in pairs:
        output.error(f"pair {pair!r} not offered; the backend offers {sorted(pairs)}")
        raise typer.Exit(ExitCode.BAD_INPUT)
    return quote_swap(pair, pairs[pair], kind, amount_sat)


def _quote_json(quote: SwapQuote) -> dict[str, object]:
    return {
        "kind": quote.kind,
        "pair": quote.pair,
        "lightning_sat": quote.lightning_sat,
        "onchain_sat": quote.onchain_sat,
        "boltz_fee_sat": quote.boltz_fee_sat,
        "miner_fee_sat": quote.miner_fee_sat,
        "cost_sat": quote.cost_sat,
        "cost_ppm": quote.cost_ppm,
        "within_limits": quote.within_limits,
    }


def _quote_line(quote: SwapQuote) -> str:
    ln, chain = f"{quote.lightning_sat:,} sat", f"{quote.onchain_sat:,} sat"
    moves = (
        f"pay {ln} over Lightning, receive {chain} on-chain"
        if quote.kind == "out"
        else f"send {chain} on-chain, receive {ln} over Lightning"
    )
    limits = "" if quote.within_limits else " (OUTSIDE the pair's limits: it would be refused)"
    return (
        f"swap {quote.kind} on {quote.pair}: {moves}; cost {quote.cost_sat:,} sat "
        f"(Boltz {quote.boltz_fee_sat:,} + miners {quote.miner_fee_sat:,}) = {quote.cost_ppm:,} ppm"
        f"{limits}"
    )


@app.command()
def quote(
    ctx: typer.Context,
    amount_sat: AmountArg,
    direction: Annotated[str, typer.Option("--direction", help="out or in.")] = "out",
    pair: PairOpt = "BTC/BTC",
    as_json: JsonFlag = False,
) -> None:
    """What a swap would cost, by the backend's current pair fees."""
    if direction not in ("out", "in"):
        raise typer.BadParameter("give out or in", param_hint="--direction")
    made = _quote(ctx, "out" if direction == "out" else "in", amount_sat, pair)
    if as_json:
        output.emit_json(_quote_json(made))
    else:
        output.stdout.print(_quote_line(made), soft_wrap=True)


def _approved(made: SwapQuote, apply: bool, yes: bool, as_json: bool) -> bool:
    (output.stderr if as_json else output.stdout).print(_quote_line(made), soft_wrap=True)
    if not apply:
        output.stderr.print("Dry run: nothing created (add --apply to create the swap).")
        return False
    if not made.within_limits:
        output.error("Outside the pair's limits: not created.")
        raise typer.Exit(ExitCode.BAD_INPUT)
    if yes:
        return True
    try:
        confirmed = typer.confirm("Create this swap?", default=False, err=as_json)
    except click.exceptions.Abort:  # end of input counts as "no"
        confirmed = False
    if not confirmed:
        output.error("Not created.")
        raise typer.Exit(ExitCode.FAILED)
    return True


def _quote_then_create(
    ctx: typer.Context,
    made: SwapQuote,
    create: Callable[[LNbitsClient], Awaitable[dict[str, object]]],
    flags: tuple[bool, bool, bool],
) -> dict[str, object] | None:
    """Show the quote; unless a dry run, create after approval. JSON goes out either way."""
    apply, yes, as_json = flags
    created = run(ctx, create) if _approved(made, apply, yes, as_json) else None
    if as_json:
        answer: dict[str, object] = {"dry_run": created is None, "quote": _quote_json(made)}
        output.emit_json(answer | ({"swap": created} if created else {}))
    return created


@app.command("out")
def swap_out(
    ctx: typer.Context,
    amount_sat: AmountArg,
    address: Annotated[str, typer.Option("--address", help="On-chain address to receive on.")],
    pair: PairOpt = "BTC/BTC",
    apply: ApplyFlag = False,
    yes: YesFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Reverse swap: pay Lightning out, receive on-chain (needs the admin key)."""

    async def create(client: LNbitsClient) -> dict[str, object]:
        swap = await client.boltz.create_reverse_swap(
            amount_sat, onchain_address=address, asset=pair
        )
        return {
            "id": swap.id,
            "status": swap.status,
            "onchain_amount_sat": swap.onchain_amount_sat,
            "lockup_address": swap.lockup_address,
            "timeout_block_height": swap.timeout_block_height,
        }

    made = _quote(ctx, "out", amount_sat, pair)
    created = _quote_then_create(ctx, made, create, (apply, yes, as_json))
    if created and not as_json:
        output.stdout.print(f"Created reverse swap {created['id']} ({created['status']}).")


@app.command("in")
def swap_in(
    ctx: typer.Context,
    amount_sat: AmountArg,
    refund_address: Annotated[
        str, typer.Option("--refund-address", help="On-chain address for a refund.")
    ],
    pair: PairOpt = "BTC/BTC",
    apply: ApplyFlag = False,
    yes: YesFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Submarine swap: get an address to pay on-chain, receive Lightning (admin key)."""

    async def create(client: LNbitsClient) -> dict[str, object]:
        swap = await client.boltz.create_swap(amount_sat, refund_address=refund_address, asset=pair)
        return {
            "id": swap.id,
            "status": swap.status,
            "address": swap.address,
            "expected_amount_sat": swap.expected_amount_sat,
            "timeout_block_height": swap.timeout_block_height,
        }

    made = _quote(ctx, "in", amount_sat, pair)
    created = _quote_then_create(ctx, made, create, (apply, yes, as_json))
    if created and not as_json:
        output.stdout.print(
            f"Created swap {created['id']}: send {created['expected_amount_sat']:,} sat to "
            f"{created['address']} before block {created['timeout_block_height']}.",
            soft_wrap=True,
        )


@app.command()
def status(ctx: typer.Context, swap_id: str, as_json: JsonFlag = False) -> None:
    """Where a swap of this wallet stands (Boltz's status route is broken: see the docs)."""
    state = run(ctx, lambda client: client.boltz.swap_status(swap_id))
    if as_json:
        output.emit_json({"id": state.swap_id, "status": state.status, "source": state.source})
    else:
        output.stdout.print(f"{state.swap_id}: {state.status} (from the {state.source})")


@app.command("list")
def list_swaps(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """This wallet's swaps, both kinds, with their status (no keys or preimages)."""

    async def both(client: LNbitsClient) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = [
            {
                "id": s.id,
                "kind": "in",
                "amount_sat": s.amount_sat,
                "status": s.status,
                "time": s.time.isoformat(),
            }
            for s in await client.boltz.swaps()
        ]
        rows += [
            {
                "id": s.id,
                "kind": "out",
                "amount_sat": s.amount_sat,
                "status": s.status,
                "time": s.time.isoformat(),
            }
            for s in await client.boltz.reverse_swaps()
        ]
        return rows

    rows = run(ctx, both)
    if as_json:
        output.emit_json({"swaps": rows})
        return
    if not rows:
        output.stdout.print("No swaps.")
    for row in rows:
        output.stdout.print(
            f"{row['id']}  {row['kind']:<3}  {row['amount_sat']:>12,} sat  {row['status']}"
        )
