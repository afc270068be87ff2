"""``lnpilot users``: users and wallets managed through LNbits' UserManager extension.

The configured wallet's owner is the operator. Every command naming a user or wallet by id
first checks it is one of the operator's: UserManager itself does not (see
docs/extensions.md), so without that check these commands could act on anyone's users.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from lnpilot.cli import output
from lnpilot.cli.runtime import JsonFlag, run
from lnpilot.lnbits import LNbitsClient
from lnpilot.lnbits.extension_models import ManagedUser

app = typer.Typer(help="Users managed with the UserManager extension.", no_args_is_help=True)


def _user_json(user: ManagedUser) -> dict[str, object]:
    """A user without its wallets' keys (they are secrets; read them in LNbits)."""
    return {
        "id": user.id,
        "name": user.name,
        "extra": user.extra,
        "wallets": [{"id": w.id, "name": w.name} for w in user.wallets],
    }


async def _users_with_wallets(client: LNbitsClient) -> list[ManagedUser]:
    """UserManager lists users without their wallets: join them from the wallet list."""
    users = await client.usermanager.list_users()
    wallets = await client.usermanager.list_wallets()
    return [
        user.model_copy(update={"wallets": [w for w in wallets if w.user == user.id]})
        for user in users
    ]


@app.command("list")
def list_users(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every user the configured wallet's owner manages (admin key)."""
    users = run(ctx, _users_with_wallets)
    if as_json:
        output.emit_json({"users": [_user_json(u) for u in users]})
        return
    if not users:
        output.stdout.print("No managed users.")
        return
    table = Table(title=f"Managed users ({len(users)})", box=box.SIMPLE_HEAD)
    for column in ("id", "name", "wallets", "extra"):
        table.add_column(column)
    for user in users:
        table.add_row(
            user.id,
            user.name,
            ", ".join(f"{w.name} ({w.id})" for w in user.wallets),
            ", ".join(f"{k}={v}" for k, v in (user.extra or {}).items()),
        )
    output.stdout.print(table)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user's name (also its core wallet's).")],
    wallet: Annotated[str | None, typer.Option(help="Wallet name (default: the user's).")] = None,
    extra: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE kept with the user; repeatable.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a user with one wallet."""
    pairs: dict[str, str] = {}
    for item in extra or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r}: give KEY=VALUE", param_hint="--extra")
        pairs[key] = value
    user = run(
        ctx,
        lambda client: client.usermanager.create_user(name, wallet or name, extra=pairs or None),
    )
    if as_json:
        output.emit_json(_user_json(user))
    else:
        output.stdout.print(
            f"Created user {user.name} ({user.id}) with wallet {user.wallets[0].id}.",
            soft_wrap=True,
        )


@app.command()
def delete(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The managed user's id.")],
    as_json: JsonFlag = False,
) -> None:
    """Delete a managed user (UserManager leaves its core wallets alive)."""
    run(ctx, lambda client: client.usermanager.delete_user(user_id))
    if as_json:
        output.emit_json({"deleted": user_id})
    else:
        output.stdout.print(f"Deleted user {user_id}.")


@app.command()
def transactions(
    ctx: typer.Context,
    wallet_id: Annotated[str, typer.Argument(help="A managed user's wallet id.")],
    as_json: JsonFlag = False,
) -> None:
    """Payments of a managed user's wallet (msat in JSON, sat in the table)."""
    payments = run(ctx, lambda client: client.usermanager.transactions(wallet_id))
    if as_json:
        output.emit_json(
            {"wallet_id": wallet_id, "payments": [output.payment_json(p) for p in payments]}
        )
        return
    if not payments:
        output.stdout.print(f"No payments in wallet {wallet_id}.")
        return
    output.stdout.print(output.payments_table(payments, f"Payments of wallet {wallet_id}"))
