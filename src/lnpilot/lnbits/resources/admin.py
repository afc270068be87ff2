"""The super user's view of the LNbits server: its settings (``/admin/api/v1/settings``),
the node-versus-wallets balance check, the background tasks, and LNbits' own request audit.

The settings hold the funding source's credentials (macaroons, API keys, mnemonics), the
OAuth secrets, and the ids of the admin users (an LNbits user id logs in by itself where
``?usr=`` logins are allowed). So the client never hands them out raw to be printed:
:meth:`ServerSettings.masked` replaces every value whose key names a secret, and the
password of any URL, with ``***``; what stays readable is what an operator checks (site,
funding source class, limits, fees, allowed IPs, extension sources).
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AliasChoices, Field, field_validator

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import LNbitsModel, Page
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource, list_params

B = Credential.BEARER
GET_SETTINGS = operation("GET", "/admin/api/v1/settings", B)
#: LNbits merges the body into its current settings and writes them all: sending the same
#: changes again leaves the same settings, so a retry is safe.
PATCH_SETTINGS = operation("PATCH", "/admin/api/v1/settings", B, idempotent=True)
DEFAULT_SETTING = operation("GET", "/admin/api/v1/settings/default", B)
BALANCE_AUDIT = operation("GET", "/admin/api/v1/audit", B)
TASKS = operation("GET", "/admin/api/v1/monitor", B)
TEST_EMAIL = operation("GET", "/admin/api/v1/testemail", B)
#: Asks the provider whether the configured credentials work; changes nothing.
FIAT_CHECK = operation("PUT", "/api/v1/fiat/check/{provider}", B, idempotent=True)
REQUEST_AUDIT = operation("GET", "/audit/api/v1", B)
REQUEST_AUDIT_STATS = operation("GET", "/audit/api/v1/stats", B)

#: Keys the settings answer carries that describe the server rather than configure it:
#: LNbits ignores them on a write, so a change to them would be lost without a word.
READ_ONLY_SETTINGS = frozenset({"is_super_user", "lnbits_allowed_funding_sources"})

MASK = "***"
#: A key naming a credential, or who may log in (user ids are credentials in LNbits).
_SECRET_KEY = re.compile(
    r"key|secret|macaroon|token|pass|cert|mnemonic|seed|private|_users$|^super_user$"
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@", re.I)


@dataclass(frozen=True)
class SettingChange:
    """One setting a write would change, both values masked (safe to print and record)."""

    key: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ServerSettings:
    """The settings as LNbits answers them (a flat object, one key per setting)."""

    values: dict[str, Any]

    def masked(self) -> dict[str, Any]:
        """The settings safe to print: secrets as ``***`` (unset ones, and booleans such
        as ``*_backup_confirmed``, stay visible: that a secret is unset is not a secret)."""
        return {key: _mask(key, value) for key, value in sorted(self.values.items())}

    def diff(self, changes: dict[str, Any]) -> builtins.list[SettingChange]:
        """What writing ``changes`` would change, each side masked like :meth:`masked`;
        an unknown or read-only key is refused with the allowed ones named."""
        _check_keys(changes, self.writable_keys)
        return [
            SettingChange(key, _mask(key, self.values[key]), _mask(key, value))
            for key, value in sorted(changes.items())
            if self.values[key] != value
        ]

    def parse(self, key: str, text: str) -> Any:
        """``text`` as a value of setting ``key``: JSON where the current value is not a
        string (true, 21, ["a"]), the text itself where it is. A wrong type is refused."""
        _check_keys([key], self.writable_keys)
        current = self.values[key]
        if isinstance(current, str):
            return text
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            if current is None:
                return text  # unset: LNbits does not tell its type; a word is a string
            raise ValueError(
                f"{key}: {text!r} is not a JSON value; it holds {type(current).__name__} "
                f"(e.g. {json.dumps(current)[:60]})"
            ) from None
        if current is not None and value is not None and _kind(value) != _kind(current):
            raise ValueError(f"{key}: holds {_kind(current)}, got {_kind(value)} {text!r}")
        return value

    @property
    def writable_keys(self) -> frozenset[str]:
        """The keys a write may name: everything LNbits shows except what it ignores."""
        return frozenset(self.values) - READ_ONLY_SETTINGS


class BalanceDelta(LNbitsModel):
    """``GET /admin/api/v1/audit``: what the wallets hold against what the node holds.

    LNbits answers whole sats. A positive delta means the wallets are owed more than the
    funding source has: the server is under-reserved (its watchdog can switch it to
    VoidWallet on it)."""

    lnbits_balance_sat: int = Field(alias="lnbits_balance_sats")
    node_balance_sat: int = Field(alias="node_balance_sats")

    @property
    def delta_sat(self) -> int:
        return self.lnbits_balance_sat - self.node_balance_sat


class CheckResult(LNbitsModel):
    """LNbits' answer to "does this work?": it says no in the body (HTTP 200), not with an
    error status, so ``success`` must be read."""

    success: bool = Field(validation_alias=AliasChoices("success", "status"))
    message: str = ""

    @field_validator("success", mode="before")
    @classmethod
    def _status_word(cls, value: Any) -> Any:
        # The test e-mail answers {"status": "error" | "ok", ...}.
        return value == "ok" if isinstance(value, str) else value


class ServerTask(LNbitsModel):
    """One background task of the server (``GET /admin/api/v1/monitor``): invoice
    listeners, extension workers. A missing one is why payments stop being noticed."""

    name: str
    created_at: datetime


class RequestAuditEntry(LNbitsModel):
    """One request LNbits recorded in its own audit (``/audit/api/v1``), when the super user
    turned it on (``lnbits_audit_enabled``). Who did what, through which route, with what
    answer; not to be confused with lnpilot's audit log of its own API."""

    component: str | None = None
    ip_address: str | None = None
    user_id: str | None = None
    path: str | None = None
    request_type: str | None = None
    request_method: str | None = None
    response_code: str | None = None
    duration: float | None = None
    created_at: datetime | None = None


class CountStat(LNbitsModel):
    field: str = ""
    total: float = 0


class RequestAuditStats(LNbitsModel):
    """Counts of the recorded requests by method, answer, component, and the slowest."""

    request_method: builtins.list[CountStat] = Field(default_factory=list)
    response_code: builtins.list[CountStat] = Field(default_factory=list)
    component: builtins.list[CountStat] = Field(default_factory=list)
    long_duration: builtins.list[CountStat] = Field(default_factory=list)


class AdminResource(Resource):
    """Server administration; needs a login of the super user or an admin (bearer)."""

    async def settings(self) -> ServerSettings:
        body = await self._t.request(GET_SETTINGS)
        if not isinstance(body, dict):
            raise TypeError(f"LNbits answered the settings with {type(body).__name__}")
        return ServerSettings(body)

    async def update_settings(self, changes: dict[str, Any]) -> None:
        """Change some settings, leaving the others as they are.

        LNbits silently drops a key it does not know, so an unknown key is refused here,
        before sending, with the allowed ones named (the current settings tell which)."""
        if not changes:
            raise ValueError("no setting to change")
        _check_keys(changes, (await self.settings()).writable_keys)
        await self._t.request(PATCH_SETTINGS, json=changes)

    async def default_value(self, key: str) -> Any:
        """What a setting is on a fresh install (to show, or to reset one setting to).

        LNbits answers 500 for a key it does not have, so the key is checked first."""
        _check_keys([key], (await self.settings()).writable_keys)
        body = await self._t.request(DEFAULT_SETTING, params={"field_name": key})
        return body["default_value"]

    async def balance_delta(self) -> BalanceDelta:
        """The wallets' total against the funding source's balance (LNbits' own audit)."""
        return BalanceDelta.model_validate(await self._t.request(BALANCE_AUDIT))

    async def send_test_email(self) -> CheckResult:
        """Send LNbits' test e-mail to the notification addresses; ``success`` False with
        LNbits' reason when e-mail is off or the server refused it."""
        return CheckResult.model_validate(await self._t.request(TEST_EMAIL))

    async def check_fiat_provider(self, provider: str) -> CheckResult:
        """Whether the fiat provider (``stripe``, ``paypal``, ...) answers with the
        configured credentials; an unconfigured one is ``success`` False, not an error."""
        if not provider.isidentifier():
            raise ValueError(f"provider must be a name such as 'stripe', got {provider!r}")
        return CheckResult.model_validate(
            await self._t.request(FIAT_CHECK, path_params={"provider": provider})
        )

    async def tasks(self) -> builtins.list[ServerTask]:
        return [ServerTask.model_validate(t) for t in await self._t.request(TASKS)]

    async def request_audit(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Page[RequestAuditEntry]:
        """LNbits' record of the requests it served, newest first (empty unless enabled)."""
        params = list_params(
            limit=limit, offset=offset, sortby="created_at", direction="desc", filters=filters
        )
        return Page[RequestAuditEntry].model_validate(
            await self._t.request(REQUEST_AUDIT, params=params)
        )

    async def request_audit_stats(self) -> RequestAuditStats:
        return RequestAuditStats.model_validate(await self._t.request(REQUEST_AUDIT_STATS))


def _kind(value: Any) -> str:
    """A JSON type name; int and float are one kind (LNbits' numbers take either)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "string" if isinstance(value, str) else type(value).__name__


def _check_keys(keys: Iterable[str], allowed: frozenset[str]) -> None:
    unknown = sorted(set(keys) - allowed)
    if unknown:
        named = ", ".join(sorted(allowed))
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}; allowed: {named}")


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
