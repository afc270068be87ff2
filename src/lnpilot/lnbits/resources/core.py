"""Core endpoints: health, status, currencies, rates, conversion, account creation."""

from __future__ import annotations

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import CreatedAccount, Health, JsonObject
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource

NONE, B = Credential.NONE, Credential.BEARER

HEALTH = operation("GET", "/api/v1/health", NONE)
STATUS = operation("GET", "/api/v1/status", B)
CURRENCIES = operation("GET", "/api/v1/currencies", NONE, cache_scope="core")
RATE = operation("GET", "/api/v1/rate/{currency}", NONE, cache_scope="core")
RATE_HISTORY = operation("GET", "/api/v1/rate/history", B, cache_scope="core")
CONVERSION = operation("POST", "/api/v1/conversion", NONE, idempotent=True)
CREATE_ACCOUNT = operation("POST", "/api/v1/account", NONE)
#: Pushing the same text again only repeats a notice to the listeners: safe to retry.
WS_PUSH = operation("POST", "/api/v1/ws/{item_id}", NONE, idempotent=True)


class CoreResource(Resource):
    async def health(self) -> Health:
        """Liveness of LNbits (no credential)."""
        return Health.model_validate(await self._t.request(HEALTH))

    async def status(self) -> JsonObject:
        """Server and funding-source status as the logged-in user sees it."""
        result: JsonObject = await self._t.request(STATUS)
        return result

    async def currencies(self) -> list[str]:
        return [str(c) for c in await self._t.request(CURRENCIES)]

    async def rate(self, currency: str) -> JsonObject:
        """Price of one BTC (``rate``) and sats per unit (``price``) of a fiat currency."""
        result: JsonObject = await self._t.request(RATE, path_params={"currency": currency})
        return result

    async def rate_history(self) -> list[JsonObject]:
        result: list[JsonObject] = await self._t.request(RATE_HISTORY)
        return result

    async def convert(self, amount: float, *, from_: str = "sat", to: str = "usd") -> JsonObject:
        """Convert between sat and a fiat currency at LNbits' current rate."""
        result: JsonObject = await self._t.request(
            CONVERSION, json={"amount": amount, "from_": from_, "to": to}
        )
        return result

    async def push_to_websocket(self, item_id: str, data: str) -> bool:
        """Send ``data`` to every listener of LNbits' websocket ``/api/v1/ws/{item_id}``
        (a point-of-sale display, a page waiting for a payment); False when LNbits could
        not hand it over. Needs no key: anyone who knows the id can push to it, so an id
        that matters should be hard to guess."""
        if not item_id or "/" in item_id:
            raise ValueError(f"item_id must be a non-empty path segment, got {item_id!r}")
        body = await self._t.request(
            WS_PUSH, path_params={"item_id": item_id}, params={"data": data}
        )
        return bool(body["sent"])

    async def create_account(self, name: str) -> CreatedAccount:
        """A new anonymous user with one wallet; returns that wallet with its keys.

        Not retried once sent: a second call would create a second user.
        """
        return CreatedAccount.model_validate(
            await self._t.request(CREATE_ACCOUNT, json={"name": name})
        )
