"""Credentials and the rule "each call uses the weakest credential that can do it".

LNbits has three kinds: a wallet's invoice key (read and receive), its admin key (spend),
and a bearer token for a user account (user, admin and node APIs). Every operation of the
client declares the :class:`Credential` it needs; the transport picks the matching secret
and fails before sending anything when that secret was not configured.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass, field

from lnpilot.base.redact import MASK, register_secret
from lnpilot.lnbits.errors import MissingCredentialError


class Credential(enum.Enum):
    """What an operation needs, weakest first."""

    NONE = "none"
    INVOICE_KEY = "invoice key"
    ADMIN_KEY = "admin key"
    BEARER = "bearer token (username/password login)"
    #: The LNDHub extension reads only `Authorization: Bearer base64(login:key)`.
    LNDHUB_INVOICE_KEY = "invoice key (as an LNDHub token)"
    LNDHUB_ADMIN_KEY = "admin key (as an LNDHub token)"


@dataclass
class Credentials:
    """The secrets a client may use. Never printed: ``repr`` masks every value.

    An admin key also satisfies invoice-key calls (it is strictly stronger), but the
    client prefers the invoice key when both are set.
    """

    invoice_key: str | None = field(default=None, repr=False)
    admin_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for secret in (self.invoice_key, self.admin_key, self.password, self.access_token):
            register_secret(secret)

    def __repr__(self) -> str:
        def shown(value: str | None) -> str:
            return MASK if value else "None"

        return (
            f"Credentials(invoice_key={shown(self.invoice_key)}, "
            f"admin_key={shown(self.admin_key)}, username={self.username!r}, "
            f"password={shown(self.password)}, access_token={shown(self.access_token)})"
        )

    @property
    def can_login(self) -> bool:
        return bool(self.username and self.password)

    def set_access_token(self, token: str) -> None:
        register_secret(token)
        self.access_token = token

    def headers_for(self, needed: Credential, *, method: str, path: str) -> dict[str, str]:
        """The auth headers for a call needing ``needed``; raises if that secret is absent."""
        if needed is Credential.NONE:
            return {}
        if needed is Credential.INVOICE_KEY:
            key = self.invoice_key or self.admin_key
            if key:
                return {"X-Api-Key": key}
        elif needed is Credential.ADMIN_KEY:
            if self.admin_key:
                return {"X-Api-Key": self.admin_key}
        elif needed is Credential.LNDHUB_INVOICE_KEY:
            key = self.invoice_key or self.admin_key
            if key:
                return {"Authorization": f"Bearer {lndhub_token(key)}"}
        elif needed is Credential.LNDHUB_ADMIN_KEY:
            if self.admin_key:
                return {"Authorization": f"Bearer {lndhub_token(self.admin_key)}"}
        elif needed is Credential.BEARER:
            if self.access_token:
                return {"Authorization": f"Bearer {self.access_token}"}
            if self.can_login:
                # The transport logs in first; an empty header set tells it to.
                return {}
        raise MissingCredentialError(
            f"this call needs the {needed.value}; configure it ({_CONFIG_HINT[needed]})",
            method=method,
            path=path,
        )


LNDHUB_LOGIN = "lnpilot"
"""The login part of the LNDHub tokens we make: LNDHub ignores it, only the key counts."""


def lndhub_token(key: str, login: str = LNDHUB_LOGIN) -> str:
    """The LNDHub token of a wallet key: base64(login + ":" + key).

    Made locally instead of asking `/auth`, which answers the same for any password: a token
    proves nothing about who holds it, the key inside does. Standard base64 because the
    extension decodes with `b64decode` (it encodes with the URL-safe alphabet, which differs
    only for keys that are not hex). The token is a secret like the key and is masked in
    logs and errors.
    """
    if ":" in login:
        raise ValueError("an LNDHub login must not contain ':' (the token would be rejected)")
    token = base64.b64encode(f"{login}:{key}".encode()).decode()
    register_secret(token)
    return token


_CONFIG_HINT = {
    Credential.INVOICE_KEY: "invoice_key or admin_key / LNPILOT_LNBITS__INVOICE_KEY",
    Credential.ADMIN_KEY: "admin_key / LNPILOT_LNBITS__ADMIN_KEY",
    Credential.BEARER: "username and password, or access_token / LNPILOT_LNBITS__USERNAME",
    Credential.LNDHUB_INVOICE_KEY: "invoice_key or admin_key / LNPILOT_LNBITS__INVOICE_KEY",
    Credential.LNDHUB_ADMIN_KEY: "admin_key / LNPILOT_LNBITS__ADMIN_KEY",
    Credential.NONE: "",
}
