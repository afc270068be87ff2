"""``lnpilot dev``: tools for working on lnpilot by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode
from lnpilot.devtools import LNbitsStartError, LNbitsUnavailable, run_dev_server
from lnpilot.devtools.lnbits_server import find_extension_archives

app = typer.Typer(help="Development helpers.", no_args_is_help=True)


@app.command()
def lnbits(
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port on 127.0.0.1 (default: a free one).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep LNbits' state here and reuse it (default: a fresh temp dir)."),
    ] = None,
    extensions: Annotated[
        bool,
        typer.Option(
            "--extensions",
            help="Install the real LNDHub, UserManager and Boltz releases from the shared "
            "folder (offline), enabled for every wallet.",
        ),
    ] = False,
) -> None:
    """Run a real LNbits (FakeWallet) with two funded wallets until Ctrl-C.

    Prints the URL, the superuser's credentials and every wallet's keys: this is a
    throw-away development server, and those are what you need to point lnpilot at it.
    """
    try:
        archives = find_extension_archives() if extensions else None
        run_dev_server(port=port, data_dir=data_dir, extensions=archives)
    except LNbitsUnavailable as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    except LNbitsStartError as exc:
        output.error(f"LNbits failed: {exc}")
        raise typer.Exit(ExitCode.FAILED) from None
