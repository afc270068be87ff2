"""``lnpilot tokens``: create, list and revoke the REST API's bearer tokens.

A token is printed once, when created: the store keeps only its hash. ``read`` tokens see
everything the API shows; ``admin`` tokens may also change things (fees, silences,
incidents), and every change they make is audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich import box
from rich.table import Table

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, state_of
from lnpilot.service.daemon import store_url
from lnpilot.store import Store
from lnpilot.store.tokens import ApiToken, Scope, create_token, list_tokens, revoke_token

T = TypeVar("T")
app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: the daemon's, from the configuration)."),
]


def _with_store(ctx: typer.Context, db: str | None, work: Callable[[Store], Awaitable[T]]) -> T:
    url = db or store_url(state_of(ctx).settings())

    async def main() -> T:
        async with await Store.open(url) as store:
            return await work(store)

    return asyncio.run(main())


def _json(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.id,
        "name": token.name,
        "scope": token.scope.value,
        "created_at": token.created_at.isoformat(),
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Who or what uses it (e.g. grafana, alice).")],
    scope: Annotated[Scope, typer.Option("--scope", help="read, or admin to change things.")] = (
        Scope.READ
    ),
    as_json: JsonFlag = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print the token alone (for `> file`), no header line."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a token and print it: it is shown this once only."""

    async def work(store: Store) -> tuple[ApiToken, str]:
        async with store.transaction() as tx:
            return await create_token(tx, name, scope, datetime.now(UTC))

    try:
        token, secret = _with_store(ctx, db, work)
    except ValueError as exc:  # the name
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    if as_json:
        output.emit_json({**_json(token), "token": secret})
        return
    if not quiet:
        # The header goes to stdout with the token on purpose: a person reads both together.
        # Redirecting into a file wants the token alone, hence --quiet.
        output.stdout.print(f"Token {token.id} ({token.name}, {token.scope.value}); keep it now:")
    typer.echo(secret)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False, db: DbOption = None) -> None:
    """Tokens with their scope and state (never the tokens themselves)."""

    async def work(store: Store) -> list[ApiToken]:
        async with store.read() as reader:
            return await list_tokens(reader)

    found = _with_store(ctx, db, work)
    if as_json:
        output.emit_json([_json(t) for t in found])
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("id", "name", "scope", "created (UTC)", "revoked (UTC)"):
        table.add_column(column)
    for t in found:
        revoked = output.when(t.revoked_at, zone=False) if t.revoked_at else ""
        table.add_row(
            str(t.id), t.name, t.scope.value, output.when(t.created_at, zone=False), revoked
        )
    output.stdout.print(table if found else "No tokens.")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="The token's id (see tokens list).")],
    db: DbOption = None,
) -> None:
    """Revoke a token now: requests with it are refused from then on."""

    async def work(store: Store) -> bool:
        async with store.transaction() as tx:
            return await revoke_token(tx, token_id, datetime.now(UTC))

    if not _with_store(ctx, db, work):
        output.error(f"no unrevoked token {token_id}")
        raise typer.Exit(ExitCode.FAILED)
    output.stdout.print(f"Token {token_id} revoked.")
