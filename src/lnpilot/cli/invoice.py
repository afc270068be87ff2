"""``lnpilot invoice``: receiving into the configured wallet."""

from __future__ import annotations

from typing import Annotated

import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import JsonFlag, run

app = typer.Typer(help="Invoices to receive into the configured wallet.", no_args_is_help=True)


@app.command()
def create(
    ctx: typer.Context,
    amount_sat: Annotated[
        int, typer.Option("--amount-sat", min=1, help="Amount to receive, in satoshi.")
    ],
    memo: Annotated[str | None, typer.Option(help="Description shown to the payer.")] = None,
    expiry_s: Annotated[
        int | None,
        typer.Option("--expiry-s", min=1, help="Seconds until the invoice expires."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a BOLT11 invoice (the invoice key suffices)."""
    invoice = run(
        ctx,
        lambda client: client.payments.create_invoice(amount_sat, memo=memo, expiry_s=expiry_s),
    )
    if as_json:
        output.emit_json(output.payment_json(invoice))
    else:
        output.stdout.print(output.payment_table(invoice, "Invoice created"))
