"""Account authentication: first install, login, the current user, password changes, and
access control lists with their API tokens.

The transport logs in by itself when a bearer call needs it and again when the token
expires; these methods are for explicit use (bootstrap, tooling, tests).

An access control list (ACL) names, per API route, whether a token may read (GET) and/or
write (POST, PUT, PATCH, DELETE) it; an API token is a bearer token bound to one ACL, with
an expiry. That is least privilege for a bearer: lnpilot's monitor can run on a token that
reads the node and user routes and writes nothing, instead of the account's password.
LNbits asks for the account's password again for every change to them.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from pydantic import Field

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import AccessToken, JsonObject, LNbitsModel, User
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource

NONE, B = Credential.NONE, Credential.BEARER

FIRST_INSTALL = operation("PUT", "/api/v1/auth/first_install", NONE)
LOGIN = operation("POST", "/api/v1/auth", NONE)
ME = operation("GET", "/api/v1/auth", B)
LOGOUT = operation("POST", "/api/v1/auth/logout", B)
REGISTER = operation("POST", "/api/v1/auth/register", NONE)
PASSWORD = operation("PUT", "/api/v1/auth/password", B)
#: Sets the fields given to the same values each time: safe to resend.
PROFILE = operation("PATCH", "/api/v1/auth", B, idempotent=True)
PUBKEY = operation("PUT", "/api/v1/auth/pubkey", B, idempotent=True)
LOGIN_USR = operation("POST", "/api/v1/auth/usr", NONE)
RESET = operation("PUT", "/api/v1/auth/reset", NONE)
ACLS = operation("GET", "/api/v1/auth/acl", B)
#: Creates a list when its id is unknown (a new id each time: not safe to resend).
SAVE_ACL = operation("PUT", "/api/v1/auth/acl", B)
DELETE_ACL = operation("DELETE", "/api/v1/auth/acl", B, idempotent=True)
CREATE_TOKEN = operation("POST", "/api/v1/auth/acl/token", B)
DELETE_TOKEN = operation("DELETE", "/api/v1/auth/acl/token", B, idempotent=True)


class EndpointAccess(LNbitsModel):
    """One API route (``path`` is its prefix, e.g. ``/api/v1/wallet``) and what an ACL's
    tokens may do on it."""

    path: str
    name: str
    read: bool = False
    write: bool = False


class TokenRef(LNbitsModel):
    """An API token as its ACL lists it: never the token itself, only its id."""

    id: str
    name: str
    expires_at: int | None = None


class AccessControlList(LNbitsModel):
    id: str
    name: str
    endpoints: builtins.list[EndpointAccess] = Field(default_factory=list)
    token_id_list: builtins.list[TokenRef] = Field(default_factory=list)

    def allowing(self, *, read: Iterable[str] = (), write: Iterable[str] = ()) -> AccessControlList:
        """This list with exactly the given route paths readable/writable, all else denied.

        A path LNbits does not list is refused, naming the ones it does."""
        read, write = set(read), set(write)
        known = {e.path for e in self.endpoints}
        unknown = sorted((read | write) - known)
        if unknown:
            listed = ", ".join(sorted(known))
            raise ValueError(f"no such API route(s) {', '.join(unknown)}; LNbits lists: {listed}")
        endpoints = [
            e.model_copy(update={"read": e.path in read, "write": e.path in write})
            for e in self.endpoints
        ]
        return self.model_copy(update={"endpoints": endpoints})


class UserAcls(LNbitsModel):
    id: str
    access_control_list: builtins.list[AccessControlList] = Field(default_factory=list)

    def get(self, acl_id: str) -> AccessControlList:
        for acl in self.access_control_list:
            if acl.id == acl_id:
                return acl
        raise KeyError(f"no access control list {acl_id!r}")


class ApiToken(LNbitsModel):
    """A new API token: ``api_token`` is the bearer secret, shown once by LNbits."""

    id: str
    api_token: str = Field(repr=False)


class AuthResource(Resource):
    async def first_install(self, username: str, password: str) -> None:
        """Create the superuser on a fresh LNbits; keeps the returned token for later calls."""
        answer = await self._t.request(
            FIRST_INSTALL,
            json={"username": username, "password": password, "password_repeat": password},
        )
        self._t.credentials.username, self._t.credentials.password = username, password
        self._t.credentials.set_access_token(AccessToken.model_validate(answer).access_token)

    async def login(self) -> None:
        """Log in with the configured username and password (bearer token kept)."""
        await self._t.login()

    async def me(self) -> User:
        return User.model_validate(await self._t.request(ME))

    async def logout(self) -> None:
        await self._t.request(LOGOUT)
        self._t.credentials.access_token = None

    async def register(self, username: str, password: str, email: str | None = None) -> None:
        """Register a new account and use it (when LNbits allows self-registration)."""
        body: JsonObject = {"username": username, "password": password, "password_repeat": password}
        if email:
            body["email"] = email
        answer = await self._t.request(REGISTER, json=body)
        self._t.credentials.username, self._t.credentials.password = username, password
        self._t.credentials.set_access_token(AccessToken.model_validate(answer).access_token)

    async def change_password(self, old_password: str, new_password: str) -> None:
        me = await self.me()
        await self._t.request(
            PASSWORD,
            json={
                "user_id": me.id,
                "username": me.username,
                "password_old": old_password,
                "password": new_password,
                "password_repeat": new_password,
            },
        )
        self._t.credentials.password = new_password

    async def update_username(self, username: str) -> User:
        """Rename the logged-in account (2 to 20 characters); later logins use the new name."""
        if not 2 <= len(username) <= 20:
            raise ValueError(f"username must be 2 to 20 characters, got {len(username)}")
        me = await self.me()
        body = await self._t.request(PROFILE, json={"user_id": me.id, "username": username})
        self._t.credentials.username = username
        return User.model_validate(body)

    async def set_nostr_pubkey(self, pubkey_hex: str) -> None:
        """The nostr key (64 hex characters, x-only) this account may log in with (NIP-98,
        where the super user allows it). LNbits asks for a recent login to change it, and
        refuses a key another account has."""
        if len(pubkey_hex) != 64 or any(c not in "0123456789abcdef" for c in pubkey_hex.lower()):
            raise ValueError("a nostr public key is 64 hex characters (x-only)")
        me = await self.me()
        await self._t.request(PUBKEY, json={"user_id": me.id, "pubkey": pubkey_hex.lower()})

    async def login_with_user_id(self, user_id: str) -> None:
        """Log in with a bare user id (accounts made by ``POST /api/v1/account`` have no
        password). LNbits refuses it unless ``user-id-only`` is among
        ``auth_allowed_methods``: a user id is then a password that cannot be changed."""
        answer = await self._t.request(LOGIN_USR, json={"usr": user_id})
        self._t.credentials.set_access_token(AccessToken.model_validate(answer).access_token)

    async def reset_password(self, reset_key: str, new_password: str) -> None:
        """Set a new password with a reset key an admin got for this user
        (``client.users.reset_password_key``); the key works for a limited time only."""
        if len(new_password) < 8:
            raise ValueError("the new password must have at least 8 characters")
        await self._t.request(
            RESET,
            json={
                "reset_key": reset_key,
                "password": new_password,
                "password_repeat": new_password,
            },
        )

    async def acls(self) -> UserAcls:
        """The account's access control lists, every API route listed in each."""
        return UserAcls.model_validate(await self._t.request(ACLS))

    async def create_acl(self, name: str, password: str) -> AccessControlList:
        """A new list that allows nothing yet (LNbits fills in every route, all denied)."""
        if not name.strip():
            raise ValueError("an access control list needs a name")
        before = {a.id for a in (await self.acls()).access_control_list}
        body = await self._t.request(
            SAVE_ACL, json={"id": "", "name": name, "endpoints": [], "password": password}
        )
        made = [a for a in UserAcls.model_validate(body).access_control_list if a.id not in before]
        if len(made) != 1:
            raise RuntimeError(f"LNbits answered {len(made)} new access control lists, not 1")
        return made[0]

    async def update_acl(self, acl: AccessControlList, password: str) -> AccessControlList:
        """Store ``acl`` (see :meth:`AccessControlList.allowing`) as it is."""
        body = await self._t.request(
            SAVE_ACL, json=acl.model_dump(mode="json") | {"password": password}
        )
        return UserAcls.model_validate(body).get(acl.id)

    async def delete_acl(self, acl_id: str, password: str) -> None:
        """Delete a list; its tokens stop working with it."""
        await self._t.request(DELETE_ACL, json={"id": acl_id, "password": password})

    async def create_api_token(
        self, acl_id: str, name: str, password: str, *, expiry_minutes: int
    ) -> ApiToken:
        """A bearer token limited to what list ``acl_id`` allows, valid ``expiry_minutes``.

        Use it as ``access_token`` of another client. Needs an account with a username."""
        if expiry_minutes < 1:
            raise ValueError(f"expiry_minutes must be >= 1, got {expiry_minutes}")
        body = await self._t.request(
            CREATE_TOKEN,
            json={
                "acl_id": acl_id,
                "token_name": name,
                "password": password,
                "expiration_time_minutes": expiry_minutes,
            },
        )
        return ApiToken.model_validate(body)

    async def delete_api_token(self, acl_id: str, token_id: str, password: str) -> None:
        """Revoke a token: LNbits refuses it from the next request on."""
        await self._t.request(
            DELETE_TOKEN, json={"id": token_id, "acl_id": acl_id, "password": password}
        )
