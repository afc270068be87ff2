"""Wallets: balance, create, rename, delete, list, keys, sharing."""

from __future__ import annotations

import builtins
from typing import Any

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import JsonObject, Page, Wallet, WalletBalance
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource, list_params

INV, ADM, BEARER = Credential.INVOICE_KEY, Credential.ADMIN_KEY, Credential.BEARER

GET_WALLET = operation("GET", "/api/v1/wallet", INV, cache_scope="wallet")
LIST_WALLETS = operation("GET", "/api/v1/wallets", BEARER, cache_scope="wallets")
LIST_WALLETS_PAGED = operation("GET", "/api/v1/wallet/paginated", BEARER, cache_scope="wallets")
CREATE_WALLET = operation("POST", "/api/v1/wallet", BEARER, invalidates=("wallets",))
RENAME_WALLET = operation(
    "PUT", "/api/v1/wallet/{new_name}", ADM, idempotent=True, invalidates=("wallet", "wallets")
)
UPDATE_WALLET = operation(
    "PATCH", "/api/v1/wallet", ADM, idempotent=True, invalidates=("wallet", "wallets")
)
DELETE_WALLET = operation(
    "DELETE", "/api/v1/wallet/{wallet_id}", BEARER, idempotent=True, invalidates=("wallets",)
)
RESET_KEYS = operation(
    "PUT", "/api/v1/wallet/reset/{wallet_id}", BEARER, invalidates=("wallet", "wallets")
)
STORED_PAYLINKS = operation(
    "PUT", "/api/v1/wallet/stored_paylinks/{wallet_id}", ADM, idempotent=True
)
SHARE_INVITE = operation("PUT", "/api/v1/wallet/share/invite", ADM)
SHARE_REJECT = operation("DELETE", "/api/v1/wallet/share/invite/{share_request_id}", BEARER)
SHARE_ACCEPT = operation("PUT", "/api/v1/wallet/share", ADM)
SHARE_DELETE = operation("DELETE", "/api/v1/wallet/share/{share_request_id}", ADM)


class WalletResource(Resource):
    """The configured wallet (keys) and the logged-in user's wallets (bearer)."""

    async def get(self, *, bypass_cache: bool = False) -> WalletBalance:
        """Name and balance (msat) of the wallet whose key is configured."""
        return WalletBalance.model_validate(
            await self._t.request(GET_WALLET, bypass_cache=bypass_cache)
        )

    async def list(self) -> builtins.list[Wallet]:
        """Every wallet of the logged-in user, with keys."""
        return [Wallet.model_validate(w) for w in await self._t.request(LIST_WALLETS)]

    async def list_paginated(
        self, *, limit: int | None = None, offset: int | None = None, search: str | None = None
    ) -> Page[Wallet]:
        body = await self._t.request(
            LIST_WALLETS_PAGED, params=list_params(limit=limit, offset=offset, search=search)
        )
        return Page[Wallet].model_validate(body)

    async def create(self, name: str) -> Wallet:
        """A new wallet for the logged-in user."""
        _require_name(name)
        return Wallet.model_validate(await self._t.request(CREATE_WALLET, json={"name": name}))

    async def rename(self, new_name: str) -> WalletBalance:
        """Rename the configured wallet (admin key)."""
        _require_name(new_name)
        body = await self._t.request(RENAME_WALLET, path_params={"new_name": new_name})
        return WalletBalance.model_validate({"balance": 0, **body})

    async def update(self, **fields: Any) -> JsonObject:
        """Patch wallet fields (name, icon, color, currency, pinned...) with the admin key."""
        result: JsonObject = await self._t.request(UPDATE_WALLET, json=fields)
        return result

    async def delete(self, wallet_id: str) -> None:
        """Delete one of the logged-in user's wallets."""
        await self._t.request(DELETE_WALLET, path_params={"wallet_id": wallet_id})

    async def reset_keys(self, wallet_id: str) -> Wallet:
        """New admin and invoice keys for a wallet; the old ones stop working."""
        body = await self._t.request(RESET_KEYS, path_params={"wallet_id": wallet_id})
        return Wallet.model_validate(body)

    async def set_stored_paylinks(
        self, wallet_id: str, links: builtins.list[JsonObject]
    ) -> builtins.list[JsonObject]:
        """Replace the pay links (``lnurl``, ``label``, ``last_used``) the wallet keeps to
        pay again; LNbits answers the stored list. Only the wallet's own admin key may."""
        result: builtins.list[JsonObject] = await self._t.request(
            STORED_PAYLINKS, path_params={"wallet_id": wallet_id}, json={"links": links}
        )
        return result

    async def share_invite(self, username: str, permissions: builtins.list[str]) -> JsonObject:
        """Invite another user to share the configured wallet."""
        result: JsonObject = await self._t.request(
            SHARE_INVITE,
            json={"username": username, "permissions": permissions, "status": "invite_sent"},
        )
        return result

    async def share_accept(self, request: JsonObject) -> JsonObject:
        result: JsonObject = await self._t.request(SHARE_ACCEPT, json=request)
        return result

    async def share_reject(self, share_request_id: str) -> JsonObject:
        result: JsonObject = await self._t.request(
            SHARE_REJECT, path_params={"share_request_id": share_request_id}
        )
        return result

    async def share_delete(self, share_request_id: str) -> JsonObject:
        result: JsonObject = await self._t.request(
            SHARE_DELETE, path_params={"share_request_id": share_request_id}
        )
        return result


def _require_name(name: str) -> None:
    if not name or not name.strip() or len(name) > 200:
        raise ValueError("wallet name must be 1 to 200 characters, not blank")
