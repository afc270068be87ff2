"""Account authentication: first install, login, the current user, password changes.

The transport logs in by itself when a bearer call needs it and again when the token
expires; these methods are for explicit use (bootstrap, tooling, tests).
"""

from __future__ import annotations

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import AccessToken, JsonObject, User
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource

NONE, B = Credential.NONE, Credential.BEARER

FIRST_INSTALL = operation("PUT", "/api/v1/auth/first_install", NONE)
LOGIN = operation("POST", "/api/v1/auth", NONE)
ME = operation("GET", "/api/v1/auth", B)
LOGOUT = operation("POST", "/api/v1/auth/logout", B)
REGISTER = operation("POST", "/api/v1/auth/register", NONE)
PASSWORD = operation("PUT", "/api/v1/auth/password", B)


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
