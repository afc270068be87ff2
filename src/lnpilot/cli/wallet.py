"""``lnpilot wallet``: the configured wallet."""

from __future__ import annotations

import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import JsonFlag, run

app = typer.Typer(help="The configured wallet.", no_args_is_help=True)


@app.command()
def show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Name, id and balance of the wallet whose key is configured (invoice key suffices)."""
    wallet = run(ctx, lambda client: client.wallet.get())
    if as_json:
        output.emit_json(output.wallet_json(wallet))
    else:
        output.stdout.print(output.wallet_table(wallet))
