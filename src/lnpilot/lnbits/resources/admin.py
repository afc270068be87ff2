"""The super user's view of the LNbits server: its settings (``/admin/api/v1/settings``).

The settings hold the funding source's credentials (macaroons, API keys, mnemonics), the
OAuth secrets, and the ids of the admin users (an LNbits user id logs in by itself where
``?usr=`` logins are allowed). So the client never hands them out raw to be printed:
:meth:`ServerSettings.masked` replaces every value whose key names a secret, and the
password of any URL, with ``***``; what stays readable is what an operator checks (site,
funding source class, limits, fees, allowed IPs, extension sources).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource

GET_SETTINGS = operation("GET", "/admin/api/v1/settings", Credential.BEARER)

MASK = "***"
#: A key naming a credential, or who may log in (user ids are credentials in LNbits).
_SECRET_KEY = re.compile(
    r"key|secret|macaroon|token|pass|cert|mnemonic|seed|private|_users$|^super_user$"
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@", re.I)


@dataclass(frozen=True)
class ServerSettings:
    """The settings as LNbits answers them (a flat object, one key per setting)."""

    values: dict[str, Any]

    def masked(self) -> dict[str, Any]:
        """The settings safe to print: secrets as ``***`` (unset ones, and booleans such
        as ``*_backup_confirmed``, stay visible: that a secret is unset is not a secret)."""
        return {key: _mask(key, value) for key, value in sorted(self.values.items())}


class AdminResource(Resource):
    """Server administration; needs a login of the super user or an admin (bearer)."""

    async def settings(self) -> ServerSettings:
        body = await self._t.request(GET_SETTINGS)
        if not isinstance(body, dict):
            raise TypeError(f"LNbits answered the settings with {type(body).__name__}")
        return ServerSettings(body)


def _mask(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool) or value == "" or value == []:
        return value
    if _SECRET_KEY.search(key):
        return MASK
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{MASK}@", value)
    if isinstance(value, list):
        return [_mask(key, item) for item in value]
    return value
