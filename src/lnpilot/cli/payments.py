"""``lnpilot payments``: the configured wallet's payments, listed or watched live."""

from __future__ import annotations

from typing import Annotated

import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, run
from lnpilot.lnbits import LNbitsClient

app = typer.Typer(help="Payments of the configured wallet.", no_args_is_help=True)


@app.command("list")
def list_payments(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="How many of the newest to skip.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Incoming and outgoing payments, newest first (the invoice key suffices)."""
    page = run(
        ctx,
        lambda client: client.payments.list_paginated(
            limit=limit, offset=offset, sortby="time", direction="desc"
        ),
    )
    if as_json:
        output.emit_json(
            {
                "total": page.total,
                "limit": limit,
                "offset": offset,
                "payments": [output.payment_json(p) for p in page.data],
            }
        )
        return
    if not page.data:
        output.stdout.print(f"No payments at offset {offset} (total {page.total}).")
        return
    title = f"Payments {offset + 1}-{offset + len(page.data)} of {page.total}"
    output.stdout.print(output.payments_table(page.data, title))


def watch(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Print the wallet's payments live as they happen, one line each; Ctrl-C stops.

    After a lost connection the stream reconnects by itself and catches up on what it
    missed, so no update is skipped silently.
    """

    async def follow(client: LNbitsClient) -> None:
        wallet = await client.wallet.get()

        def listening() -> None:
            # Said only once the socket is open: a payment made after this line is seen.
            output.stderr.print(
                f"Watching wallet {wallet.name!r} (balance {output.sat(wallet.balance_msat)}). "
                "Ctrl-C to stop."
            )

        async for update in client.stream.wallet_payments(on_connected=listening):
            if as_json:
                output.emit_json(output.update_json(update), compact=True)
            else:
                output.stdout.print(output.update_line(update), soft_wrap=True)

    try:
        run(ctx, follow)
    except KeyboardInterrupt:
        output.stderr.print("Stopped.")
        raise typer.Exit(ExitCode.OK) from None
