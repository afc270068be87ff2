"""The ``lnpilot`` application: the global ``--config`` option and the command tree.

Configuration is read lazily, by the commands that talk to LNbits, so ``decode``,
``dev lnbits`` and ``demo`` work on a machine with no configuration at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lnpilot.cli import (
    alerts,
    backup,
    channels,
    close,
    collect,
    decode,
    demo,
    dev,
    export,
    extensions,
    fees,
    invoice,
    lndhub,
    opening,
    pay,
    payments,
    rebalance,
    run,
    simnet,
    swap,
    tokens,
    users,
    wallet,
)
from lnpilot.cli.runtime import CliState
from lnpilot.config import CONFIG_ENV_VAR

app = typer.Typer(
    name="lnpilot",
    help="Monitor and control a Lightning node run through LNbits.",
    no_args_is_help=True,
    add_completion=False,
    # Tracebacks of unexpected errors must not print local variables: they hold keys.
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help=f"Configuration file (default: ${CONFIG_ENV_VAR}, else ./lnpilot.toml if any).",
        ),
    ] = None,
) -> None:
    """lnpilot: monitor and control a Lightning node run through LNbits."""
    ctx.obj = CliState(config_file=config)


app.command()(pay.pay)
app.command()(decode.decode)
app.command()(payments.watch)
app.command()(demo.demo)
app.add_typer(wallet.app, name="wallet")
app.add_typer(invoice.app, name="invoice")
app.add_typer(payments.app, name="payments")
app.add_typer(dev.app, name="dev")
alerts.register(app)
app.add_typer(fees.app, name="fees")
app.command()(collect.collect)
channels.register(app)
app.add_typer(simnet.app, name="simnet")
app.command()(run.run)
app.add_typer(tokens.app, name="tokens")
app.add_typer(rebalance.app, name="rebalance")
app.add_typer(extensions.app, name="extensions")
app.add_typer(lndhub.app, name="lndhub")
app.add_typer(users.app, name="users")
app.add_typer(backup.app, name="backup")
app.add_typer(close.app, name="close")
app.add_typer(opening.app, name="open")
app.command("export")(export.export_command)
app.add_typer(swap.app, name="swap")
