"""``lnpilot lnbits``: the LNbits server itself, as its super user sees it.

``settings show`` prints the server's settings with every secret masked (the funding
source's credentials, OAuth secrets, the admin users' ids: see
:mod:`lnpilot.lnbits.resources.admin`). It needs the login of an admin account
(``lnbits.username``/``password`` or ``access_token``): LNbits shows its settings to admins
only.

``settings set KEY=VALUE ...`` changes some settings and leaves the others as they are. It
shows the change (secrets masked on both sides) and writes nothing unless ``--apply`` is
given; an unknown key is refused with the allowed ones named (LNbits itself would drop it
without a word). A written change is recorded in lnpilot's audit log (``lnpilot`` API
``/api/v1/audit``) with who ran it and the masked before/after, whether LNbits took it or
refused it.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from lnpilot.cli import output
from lnpilot.cli.collect import DbOption
from lnpilot.cli.runtime import ExitCode, JsonFlag, exit_code_for, fail, state_of
from lnpilot.config import make_client
from lnpilot.lnbits import LNbitsClient, LNbitsError
from lnpilot.lnbits.resources.admin import SettingChange
from lnpilot.store import Store, audit, normalize_url, sqlite_url
from lnpilot.store.records import JsonValue

T = TypeVar("T")

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
    settings = _run(ctx, lambda client: client.admin.settings())
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


def _run(ctx: typer.Context, work: Callable[[LNbitsClient], Awaitable[T]]) -> T:
    """Run ``work`` on a client of the configuration; bad keys and values exit 2."""
    client = make_client(state_of(ctx).settings())

    async def main() -> T:
        async with client:
            return await work(client)

    try:
        return asyncio.run(main())
    except LNbitsError as exc:
        fail(exc, exit_code_for(exc))
    except ValueError as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None


def _pairs(assignments: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r}: give KEY=VALUE", param_hint="KEY=VALUE")
        pairs.append((key.strip(), value))
    return pairs


def _change_json(change: SettingChange) -> dict[str, JsonValue]:
    return {"key": change.key, "before": change.before, "after": change.after}


@settings_app.command("set")
def set_(
    ctx: typer.Context,
    assignments: Annotated[
        list[str],
        typer.Argument(
            metavar="KEY=VALUE...",
            help="Settings to change; VALUE is JSON where the setting is not text "
            '(true, 21, ["a","b"]).',
        ),
    ],
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the change (without: show it only).")
    ] = False,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Change server settings: shows the change, writes it with --apply (audited)."""
    pairs = _pairs(assignments)
    config = state_of(ctx).settings()
    try:
        store_url = normalize_url(db or config.service.database_url or sqlite_url(config.data_dir))
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)

    async def work(client: LNbitsClient) -> list[SettingChange]:
        current = await client.admin.settings()
        changes = {key: current.parse(key, text) for key, text in pairs}
        diff = current.diff(changes)
        if not apply or not diff:
            return diff
        wanted = {c.key: changes[c.key] for c in diff}
        outcome, error = "ok", None
        try:
            await client.admin.update_settings(wanted)
        except LNbitsError as exc:
            outcome = "refused" if exc.status is not None and exc.status < 500 else "failed"
            error = str(exc)
            raise
        finally:
            entry = audit.AuditEntry(
                at=datetime.now(UTC),
                actor=f"{getpass.getuser()} (cli)",
                action="lnbits.settings.set",
                target=client.transport.base_url,
                outcome=outcome,
                error=error,
                detail={"changes": [_change_json(c) for c in diff]},
            )
            async with await Store.open(store_url) as store, store.transaction() as tx:
                await audit.record(tx, entry)
        return diff

    diff = _run(ctx, work)
    if as_json:
        output.emit_json({"dry_run": not apply, "changes": [_change_json(c) for c in diff]})
        return
    if not diff:
        output.stdout.print("Nothing to change: every setting already has that value.")
        return
    width = max(len(c.key) for c in diff)
    for c in diff:
        output.stdout.print(
            f"{c.key:<{width}}  {escape(_text(c.before))} -> {escape(_text(c.after))}"
            + (" (a secret: changed, not shown)" if c.before == c.after else ""),
            soft_wrap=True,
        )
    if apply:
        output.stdout.print(f"Written: {len(diff)} setting(s) changed (audited).")
    else:
        output.stderr.print("Dry run: nothing written (add --apply to write it).")
