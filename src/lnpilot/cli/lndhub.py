"""``lnpilot lndhub``: the LNDHub URL of the configured wallet, and an end-to-end test of one.

A wallet app (BlueWallet, Zeus) connects to LNbits' LNDHub extension with a URL that holds
the wallet's key; ``url`` prints it (that is its point), ``test`` uses one the way an app
does and says what worked.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, exit_code_for, fail, run, state_of
from lnpilot.lnbits import LNbitsClient, LNbitsError
from lnpilot.lnbits.credentials import lndhub_token
from lnpilot.lnbits.resources.lndhub import LndhubUrl

app = typer.Typer(help="LNDHub access for wallet apps (BlueWallet, Zeus).", no_args_is_help=True)

InvoiceFlag = Annotated[
    bool, typer.Option("--invoice", help="The invoice-key URL (receive and read, no spending).")
]


def _configured_url(ctx: typer.Context, invoice: bool) -> LndhubUrl:
    lnbits = state_of(ctx).settings().lnbits
    key = lnbits.invoice_key if invoice else lnbits.admin_key
    if key is None:
        which = "invoice_key" if invoice else "admin_key"
        output.error(f"config: [lnbits] {which} is needed to make this LNDHub URL")
        raise typer.Exit(ExitCode.BAD_INPUT)
    return LndhubUrl(
        "invoice" if invoice else "admin",
        key.get_secret_value(),
        str(lnbits.url).rstrip("/"),
    )


@app.command()
def url(ctx: typer.Context, invoice: InvoiceFlag = False, as_json: JsonFlag = False) -> None:
    """Print the configured wallet's LNDHub URL (it CONTAINS the key: share it like one)."""
    made = _configured_url(ctx, invoice)
    run(ctx, lambda client: client.lndhub.info())  # the extension answers on this LNbits
    if as_json:
        output.emit_json({"kind": made.kind, "url": str(made)})
    else:
        typer.echo(str(made))


@app.command()
def test(
    ctx: typer.Context,
    lndhub_url: Annotated[
        str | None, typer.Argument(help="The URL to test (default: the configured wallet's).")
    ] = None,
    invoice: InvoiceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Use an LNDHub URL as a wallet app does: auth, info, balance, a 1-sat invoice, lists."""
    try:
        target = LndhubUrl.parse(lndhub_url) if lndhub_url else _configured_url(ctx, invoice)
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    try:
        steps = asyncio.run(_exercise(target))
    except LNbitsError as exc:
        fail(exc, exit_code_for(exc))
    if as_json:
        output.emit_json({"kind": target.kind, "lnbits": target.lnbits_url, "steps": steps})
        return
    for name, result in steps.items():
        output.stdout.print(f"[green]ok[/green] {name}: {result}")


async def _exercise(target: LndhubUrl) -> dict[str, object]:
    admin = target.kind == "admin"
    async with LNbitsClient(
        target.lnbits_url,
        admin_key=target.key if admin else None,
        invoice_key=None if admin else target.key,
    ) as client:
        steps: dict[str, object] = {}
        tokens = await client.lndhub.auth(target.kind, target.key)
        # /auth accepts anything: the check is that it speaks LndHub, not that the key is good.
        steps["auth"] = "token issued" + (
            " (same as lnpilot makes)"
            if tokens.access_token == lndhub_token(target.key, target.kind)
            else ""
        )
        steps["getinfo"] = (await client.lndhub.info()).alias
        steps["balance_sat"] = await client.lndhub.balance_sat()
        made = await client.lndhub.add_invoice(1, "lnpilot lndhub test")
        steps["addinvoice"] = made.payment_hash
        listed = await client.lndhub.user_invoices(limit=200)
        steps["getuserinvoices"] = f"{len(listed)} invoices, the new one listed: " + (
            "yes" if any(i.payment_hash == made.payment_hash for i in listed) else "no"
        )
        steps["gettxs"] = f"{len(await client.lndhub.transactions(limit=200))} outgoing payments"
        return steps
