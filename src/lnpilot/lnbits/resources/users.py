"""Users and their wallets, as an LNbits admin sees them (bearer of an admin account)."""

from __future__ import annotations

import builtins
from typing import Any

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import Account, JsonObject, Page, User, Wallet
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource, list_params

B = Credential.BEARER
_U = ("users",)

LIST = operation("GET", "/users/api/v1/user", B, cache_scope="users")
CREATE = operation("POST", "/users/api/v1/user", B, invalidates=_U)
GET = operation("GET", "/users/api/v1/user/{user_id}", B, cache_scope="users")
UPDATE = operation("PUT", "/users/api/v1/user/{user_id}", B, idempotent=True, invalidates=_U)
DELETE = operation("DELETE", "/users/api/v1/user/{user_id}", B, idempotent=True, invalidates=_U)
WALLETS = operation("GET", "/users/api/v1/user/{user_id}/wallet", B, cache_scope="users")
CREATE_WALLET = operation("POST", "/users/api/v1/user/{user_id}/wallet", B, invalidates=_U)
DELETE_WALLET = operation(
    "DELETE", "/users/api/v1/user/{user_id}/wallet/{wallet}", B, idempotent=True, invalidates=_U
)
DELETE_ALL_WALLETS = operation(
    "DELETE", "/users/api/v1/user/{user_id}/wallets", B, idempotent=True, invalidates=_U
)
UNDELETE_WALLET = operation(
    "PUT",
    "/users/api/v1/user/{user_id}/wallet/{wallet}/undelete",
    B,
    idempotent=True,
    invalidates=_U,
)
LIGHTNING_ADDRESS = operation(
    "PUT",
    "/users/api/v1/user/{user_id}/wallet/{wallet}/lightning-address",
    B,
    idempotent=True,
    invalidates=_U,
)
TOGGLE_ADMIN = operation("PUT", "/users/api/v1/user/{user_id}/admin", B, invalidates=_U)
TOGGLE_ACTIVE = operation("PUT", "/users/api/v1/user/{user_id}/activate", B, invalidates=_U)
RESET_PASSWORD = operation("PUT", "/users/api/v1/user/{user_id}/reset_password", B)
TOP_UP = operation(
    "PUT", "/users/api/v1/balance", B, idempotent=False, invalidates=("wallet", "payments", "users")
)


class UsersResource(Resource):
    """Admin user management; top-up needs the superuser."""

    async def list(
        self, *, limit: int | None = None, offset: int | None = None, search: str | None = None
    ) -> Page[Account]:
        body = await self._t.request(
            LIST, params=list_params(limit=limit, offset=offset, search=search)
        )
        return Page[Account].model_validate(body)

    async def create(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        email: str | None = None,
        extensions: builtins.list[str] | None = None,
        external_id: str | None = None,
    ) -> str:
        """Create a user; returns its id. A password needs a username (LNbits' rule)."""
        if password and not username:
            raise ValueError("a username is required when a password is given")
        body: dict[str, Any] = {
            "username": username,
            "password": password,
            "password_repeat": password,
            "email": email,
            "extensions": extensions,
            "external_id": external_id,
        }
        created = await self._t.request(CREATE, json={k: v for k, v in body.items() if v})
        return str(created["id"])

    async def get(self, user_id: str) -> User:
        return User.model_validate(await self._t.request(GET, path_params={"user_id": user_id}))

    async def update(self, user_id: str, **fields: Any) -> JsonObject:
        """Replace a user's profile fields (username, email, extensions, ...)."""
        result: JsonObject = await self._t.request(
            UPDATE, path_params={"user_id": user_id}, json={"id": user_id, **fields}
        )
        return result

    async def delete(self, user_id: str) -> None:
        await self._t.request(DELETE, path_params={"user_id": user_id})

    async def wallets(self, user_id: str) -> builtins.list[Wallet]:
        body = await self._t.request(WALLETS, path_params={"user_id": user_id})
        return [Wallet.model_validate(w) for w in body]

    async def create_wallet(
        self, user_id: str, name: str, *, currency: str | None = None
    ) -> Wallet:
        body = {"name": name, "currency": currency}
        answer = await self._t.request(
            CREATE_WALLET,
            path_params={"user_id": user_id},
            json={k: v for k, v in body.items() if v is not None},
        )
        return Wallet.model_validate(answer)

    async def delete_wallet(self, user_id: str, wallet_id: str) -> None:
        await self._t.request(DELETE_WALLET, path_params={"user_id": user_id, "wallet": wallet_id})

    async def delete_all_wallets(self, user_id: str) -> None:
        await self._t.request(DELETE_ALL_WALLETS, path_params={"user_id": user_id})

    async def undelete_wallet(self, user_id: str, wallet_id: str) -> None:
        await self._t.request(
            UNDELETE_WALLET, path_params={"user_id": user_id, "wallet": wallet_id}
        )

    async def set_lightning_address(self, user_id: str, wallet_id: str, username: str) -> None:
        await self._t.request(
            LIGHTNING_ADDRESS,
            path_params={"user_id": user_id, "wallet": wallet_id},
            json={"lightning_address": username},
        )

    async def toggle_admin(self, user_id: str) -> None:
        """Grant or revoke admin rights (superuser only; LNbits flips the flag)."""
        await self._t.request(TOGGLE_ADMIN, path_params={"user_id": user_id})

    async def toggle_activated(self, user_id: str) -> None:
        await self._t.request(TOGGLE_ACTIVE, path_params={"user_id": user_id})

    async def reset_password_key(self, user_id: str) -> str:
        """A one-time reset key to hand to the user (superuser only)."""
        return str(await self._t.request(RESET_PASSWORD, path_params={"user_id": user_id}))

    async def top_up(self, wallet_id: str, amount_sat: int) -> None:
        """Credit (or debit, when negative) a wallet; superuser only, recorded by LNbits.

        Not idempotent: never retried after it may have reached LNbits.
        """
        if not isinstance(amount_sat, int) or amount_sat == 0:
            raise ValueError(f"amount_sat must be a non-zero whole number, got {amount_sat!r}")
        await self._t.request(TOP_UP, json={"id": wallet_id, "amount": amount_sat})
