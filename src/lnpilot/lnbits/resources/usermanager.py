"""The UserManager extension (`/usermanager/api/v1/`): users and wallets an operator manages.

UserManager 1.0.0 checks no ownership (recorded in the shared contracts): any key with the
extension enabled can read, change and delete users and wallets it did not create, and read
any wallet's transactions. This client puts the check back on its side: every call naming a
user or wallet by id first confirms, through the routes the extension DOES scope to the
operator (`GET /users`, `GET /wallets`), that the id belongs to this key's operator, and
refuses with :class:`NotOwnedError` otherwise (``check_owner=False`` skips that, for an
operator who knows what they do). Other recorded behaviour handled here:

- `PUT /users/{id}` with nothing to change, or for an unknown user, is a 500 on LNbits'
  side: the client refuses an empty update and never retries that 500;
- `GET /users` ignores every filter except `limit`/`offset` and `extra` (exact match), and
  pages by 10 by default: :meth:`UserManagerResource.list_users` pages through all of them;
- `DELETE /users/{id}` leaves the core wallets alive even with `delete_core=true`.
"""

from __future__ import annotations

import builtins
import json

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.errors import NotOwnedError
from lnpilot.lnbits.extension_models import ManagedUser, ManagedWallet
from lnpilot.lnbits.models import Payment
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource

NONE, INV, ADM = Credential.NONE, Credential.INVOICE_KEY, Credential.ADMIN_KEY
_P = "/usermanager/api/v1"

LIST_USERS = operation("GET", f"{_P}/users", ADM)
CREATE_USER = operation("POST", f"{_P}/users", ADM)
GET_USER = operation("GET", f"{_P}/users/{{user_id}}", INV)
# Not idempotent for retries: its 500s (empty body, unknown user) are deterministic.
UPDATE_USER = operation("PUT", f"{_P}/users/{{user_id}}", ADM, idempotent=False)
DELETE_USER = operation("DELETE", f"{_P}/users/{{user_id}}", ADM, idempotent=True)
SET_EXTENSION = operation("POST", f"{_P}/extensions", NONE, idempotent=True)
CREATE_WALLET = operation("POST", f"{_P}/wallets", ADM)
LIST_WALLETS = operation("GET", f"{_P}/wallets", ADM)
LIST_USER_WALLETS = operation("GET", f"{_P}/wallets/{{user_id}}", ADM)
DELETE_WALLET = operation("DELETE", f"{_P}/wallets/{{wallet_id}}", ADM, idempotent=True)
TRANSACTIONS = operation("GET", f"{_P}/transactions/{{wallet_id}}", INV)

_PAGE = 100


class UserManagerResource(Resource):
    """Users and wallets managed by the owner of the configured key."""

    async def list_users(
        self, *, extra: dict[str, str] | None = None
    ) -> builtins.list[ManagedUser]:
        """Every user this operator made (paged through; `extra` matches exactly). The list
        route gives users WITHOUT their wallets: see :meth:`list_wallets`."""
        users: builtins.list[ManagedUser] = []
        offset = 0
        while True:
            params: dict[str, str | int] = {"limit": _PAGE, "offset": offset}
            if extra is not None:
                params["extra"] = json.dumps(extra)
            page = await self._t.request(LIST_USERS, params=params)
            users += [ManagedUser.model_validate(u) for u in page]
            if len(page) < _PAGE:
                return users
            offset += _PAGE

    async def create_user(
        self, user_name: str, wallet_name: str, *, extra: dict[str, str] | None = None
    ) -> ManagedUser:
        """A new LNbits user with one wallet (named `user_name` in core, `wallet_name` here)."""
        if not user_name or not wallet_name:
            raise ValueError("user_name and wallet_name must not be empty")
        if extra is not None and not all(isinstance(v, str) for v in extra.values()):
            raise ValueError("extra values must be strings (UserManager stores text)")
        body: dict[str, object] = {"user_name": user_name, "wallet_name": wallet_name}
        if extra is not None:
            body["extra"] = extra
        return ManagedUser.model_validate(await self._t.request(CREATE_USER, json=body))

    async def get_user(self, user_id: str, *, check_owner: bool = True) -> ManagedUser:
        if check_owner:
            await self._own_user(user_id)
        body = await self._t.request(GET_USER, path_params={"user_id": user_id})
        return ManagedUser.model_validate(body)

    async def update_user(
        self,
        user_id: str,
        *,
        user_name: str | None = None,
        extra: dict[str, str] | None = None,
        check_owner: bool = True,
    ) -> ManagedUser:
        """Rename and/or merge `extra` keys (existing keys not named are kept)."""
        if user_name is None and extra is None:
            raise ValueError("nothing to update: give user_name and/or extra")
        if check_owner:
            await self._own_user(user_id)
        body: dict[str, object] = {}
        if user_name is not None:
            body["user_name"] = user_name
        if extra is not None:
            body["extra"] = extra
        answer = await self._t.request(UPDATE_USER, path_params={"user_id": user_id}, json=body)
        return ManagedUser.model_validate(answer)

    async def delete_user(
        self, user_id: str, *, delete_core: bool = True, check_owner: bool = True
    ) -> None:
        """Delete a managed user. Its core wallets survive even with `delete_core` (recorded)."""
        if check_owner:
            await self._own_user(user_id)
        await self._t.request(
            DELETE_USER,
            path_params={"user_id": user_id},
            params={"delete_core": str(delete_core).lower()},
        )

    async def set_extension(self, user_id: str, ext_id: str, *, active: bool) -> None:
        """Enable or disable an extension for a managed user (the route needs no key at all)."""
        await self._own_user(user_id)
        await self._t.request(
            SET_EXTENSION,
            params={"extension": ext_id, "userid": user_id, "active": str(active).lower()},
        )

    async def create_wallet(
        self, user_id: str, wallet_name: str, *, check_owner: bool = True
    ) -> ManagedWallet:
        """Another wallet for a managed user (an unknown id would make an orphan wallet)."""
        if check_owner:
            await self._own_user(user_id)
        body = await self._t.request(
            CREATE_WALLET, json={"user_id": user_id, "wallet_name": wallet_name}
        )
        return ManagedWallet.model_validate(body)

    async def list_wallets(self) -> builtins.list[ManagedWallet]:
        """Every wallet of every user this operator made."""
        return [ManagedWallet.model_validate(w) for w in await self._t.request(LIST_WALLETS)]

    async def user_wallets(
        self, user_id: str, *, check_owner: bool = True
    ) -> builtins.list[ManagedWallet]:
        if check_owner:
            await self._own_user(user_id)
        body = await self._t.request(LIST_USER_WALLETS, path_params={"user_id": user_id})
        return [ManagedWallet.model_validate(w) for w in body]

    async def delete_wallet(self, wallet_id: str, *, check_owner: bool = True) -> None:
        if check_owner:
            await self._own_wallet(wallet_id)
        await self._t.request(DELETE_WALLET, path_params={"wallet_id": wallet_id})

    async def transactions(
        self, wallet_id: str, *, check_owner: bool = True
    ) -> builtins.list[Payment]:
        """The wallet's core payments (msat, negative when outgoing)."""
        if check_owner:
            await self._own_wallet(wallet_id)
        body = await self._t.request(TRANSACTIONS, path_params={"wallet_id": wallet_id})
        return [Payment.model_validate(p) for p in body]

    async def _own_user(self, user_id: str) -> None:
        if not any(u.id == user_id for u in await self.list_users()):
            raise NotOwnedError(
                f"user {user_id} is not managed by this key's owner; refused (UserManager "
                "itself does not check; pass check_owner=False to act anyway)",
                path=f"{_P}/users/{user_id}",
            )

    async def _own_wallet(self, wallet_id: str) -> None:
        if not any(w.id == wallet_id for w in await self.list_wallets()):
            raise NotOwnedError(
                f"wallet {wallet_id} is not managed by this key's owner; refused (UserManager "
                "itself does not check; pass check_owner=False to act anyway)",
                path=f"{_P}/wallets/{wallet_id}",
            )
