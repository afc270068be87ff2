"""``lnpilot lnbits``: the LNbits server itself, as its super user sees it.

``settings show`` prints the server's settings with every secret masked (the funding
source's credentials, OAuth secrets, the admin users' ids: see
:mod:`lnpilot.lnbits.resources.admin`). It needs the login of an admin account
(``lnbits.username``/``password`` or ``access_token``): LNbits shows its settings to admins
only.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from lnpilot.cli import output
from lnpilot.cli.runtime import JsonFlag, run

app = typer.Typer(help="The LNbits server: its settings (admin login).", no_args_is_help=True)
settings_app = typer.Typer(help="The server's settings, secrets masked.", no_args_is_help=True)
app.add_typer(settings_app, name="settings")


@settings_app.command()
def show(
    ctx: typer.Context,
    grep: Annotated[
        str | None, typer.Option("--grep", help="Only settings whose name contains this.")
    ] = None,
    set_only: Annotated[
        bool, typer.Option("--set", help="Only settings with a value (not null or empty).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """The server's settings, every secret shown as ***."""
    settings = run(ctx, lambda client: client.admin.settings())
    shown = {
        key: value
        for key, value in settings.masked().items()
        if (grep is None or grep.lower() in key.lower())
        and (not set_only or value not in (None, "", [], {}))
    }
    if as_json:
        output.emit_json({"settings": shown})
        return
    if not shown:
        output.stdout.print("No setting matches.")
    width = max((len(key) for key in shown), default=0)
    for key, value in shown.items():
        output.stdout.print(f"{key:<{width}}  {escape(_text(value))}", soft_wrap=True)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value) or "[]"
    return str(value)
