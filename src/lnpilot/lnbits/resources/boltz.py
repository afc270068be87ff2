"""The Boltz extension (`/boltz/api/v1/`): submarine, reverse and auto reverse swaps.

Boltz 1.1.0 behaves as recorded in the shared contracts, and this client answers each point:

- The `wallet` in a create body is never checked against the key: any admin key can create a
  swap, even a reverse swap that PAYS, in someone else's wallet. The client never takes a
  wallet id from its caller: it asks LNbits which wallet its admin key opens and puts that.
- Creating a swap is never retried: a submarine swap creates an invoice and a backend swap,
  a reverse swap pays Lightning out. A create whose answer is lost is reported with
  ``request_sent`` and must be looked up in :meth:`BoltzResource.reverse_swaps` /
  :meth:`BoltzResource.swaps` before anything is sent again.
- `feerate` omitted makes the create fail AFTER the invoice and backend swap exist; the
  client always sends it (False unless a fee rate is given).
- `POST /swap/status` never works (an un-awaited coroutine: 400 "'coroutine' object is not
  iterable"). :meth:`BoltzResource.swap_status` sends it and, on that known failure, answers
  from the swap lists instead; it says which it did.
- Reverse-swap claims are never broadcast by the extension (another un-awaited coroutine):
  a reverse swap shows `complete` once its Lightning payment succeeded, which says nothing
  about the on-chain claim. Its claim key and preimage are in the swap record for a manual
  claim.
- Settings need a user session of an admin (bearer), are global, and `PUT` replaces all.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from typing import Literal

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.errors import InvalidRequestError, NotFoundError
from lnpilot.lnbits.extension_models import (
    AutoReverseSwap,
    BoltzPair,
    BoltzSettings,
    ReverseSwap,
    SubmarineSwap,
)
from lnpilot.lnbits.models import WalletBalance
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource
from lnpilot.lnbits.retry import NO_RETRY

NONE, INV, ADM, BEARER = (
    Credential.NONE,
    Credential.INVOICE_KEY,
    Credential.ADMIN_KEY,
    Credential.BEARER,
)
_P = "/boltz/api/v1"
_WRITES = ("payments", "wallet")

LIST_SWAPS = operation("GET", f"{_P}/swap", INV)
CREATE_SWAP = operation("POST", f"{_P}/swap", ADM, invalidates=_WRITES)
REFUND = operation("POST", f"{_P}/swap/refund", ADM, invalidates=_WRITES)
STATUS = operation("POST", f"{_P}/swap/status", ADM)
LIST_REVERSE = operation("GET", f"{_P}/swap/reverse", INV)
CREATE_REVERSE = operation("POST", f"{_P}/swap/reverse", ADM, invalidates=_WRITES)
LIST_AUTO = operation("GET", f"{_P}/swap/reverse/auto", INV)
CREATE_AUTO = operation("POST", f"{_P}/swap/reverse/auto", ADM)
DELETE_AUTO = operation("DELETE", f"{_P}/swap/reverse/auto/{{swap_id}}", ADM, idempotent=True)
PAIRS = operation("GET", f"{_P}/swap/boltz", NONE)
GET_SETTINGS = operation("GET", f"{_P}/settings", BEARER)
PUT_SETTINGS = operation("PUT", f"{_P}/settings", BEARER, idempotent=True)
DELETE_SETTINGS = operation("DELETE", f"{_P}/settings", BEARER, idempotent=True)
#: The core wallet read with the ADMIN key: the only way to learn which wallet that key opens.
OWN_WALLET = operation("GET", "/api/v1/wallet", ADM, name="admin key's wallet id")

Direction = Literal["send", "receive"]
_STATUS_BUG = "'coroutine' object is not iterable"


@dataclass(frozen=True)
class SwapState:
    """A swap's status and where it came from (`POST /swap/status` or the swap lists)."""

    swap_id: str
    status: str
    source: Literal["status route", "swap list"]


class BoltzResource(Resource):
    """Swaps of the wallet whose admin key is configured (amounts in sats)."""

    async def pairs(self) -> dict[str, BoltzPair]:
        """The backend's pairs with limits and fees (public; each call asks the backend)."""
        body = await self._t.request(PAIRS)
        return {name: BoltzPair.model_validate(pair) for name, pair in body.items()}

    async def swaps(self, *, all_wallets: bool = False) -> builtins.list[SubmarineSwap]:
        body = await self._t.request(LIST_SWAPS, params={"all_wallets": str(all_wallets).lower()})
        return [SubmarineSwap.model_validate(s) for s in body]

    async def reverse_swaps(self, *, all_wallets: bool = False) -> builtins.list[ReverseSwap]:
        body = await self._t.request(LIST_REVERSE, params={"all_wallets": str(all_wallets).lower()})
        return [ReverseSwap.model_validate(s) for s in body]

    async def auto_swaps(self, *, all_wallets: bool = False) -> builtins.list[AutoReverseSwap]:
        body = await self._t.request(LIST_AUTO, params={"all_wallets": str(all_wallets).lower()})
        return [AutoReverseSwap.model_validate(s) for s in body]

    async def create_swap(
        self,
        amount_sat: int,
        *,
        refund_address: str,
        direction: Direction = "receive",
        asset: str = "BTC/BTC",
        feerate_sat_vb: int | None = None,
    ) -> SubmarineSwap:
        """A submarine swap: on-chain to the swap address, Lightning into this wallet."""
        _check_amount(amount_sat)
        body = {
            "wallet": await self._own_wallet_id(),
            "asset": asset,
            "refund_address": refund_address,
            "amount": amount_sat,
            "direction": direction,
            **_feerate(feerate_sat_vb),
        }
        answer = await self._t.request(CREATE_SWAP, json=body, retry=NO_RETRY)
        return SubmarineSwap.model_validate(answer)

    async def create_reverse_swap(
        self,
        amount_sat: int,
        *,
        onchain_address: str,
        direction: Direction = "send",
        asset: str = "BTC/BTC",
        instant_settlement: bool = True,
        feerate_sat_vb: int | None = None,
    ) -> ReverseSwap:
        """A reverse swap: pays `amount_sat` out over Lightning, on-chain to the address.

        Sent once, never retried (it pays). LNbits answers 405 for an insufficient balance.
        """
        _check_amount(amount_sat)
        body = {
            "wallet": await self._own_wallet_id(),
            "asset": asset,
            "amount": amount_sat,
            "direction": direction,
            "instant_settlement": instant_settlement,
            "onchain_address": onchain_address,
            **_feerate(feerate_sat_vb),
        }
        answer = await self._t.request(CREATE_REVERSE, json=body, retry=NO_RETRY)
        return ReverseSwap.model_validate(answer)

    async def create_auto_swap(
        self,
        amount_sat: int,
        *,
        balance_sat: int,
        onchain_address: str,
        asset: str = "BTC/BTC",
        instant_settlement: bool = True,
        feerate_limit_sat: int | None = None,
    ) -> AutoReverseSwap:
        """Swap out `amount_sat` whenever the wallet holds `balance_sat` more than that."""
        _check_amount(amount_sat)
        if balance_sat < 0:
            raise ValueError(f"balance_sat must be >= 0, got {balance_sat}")
        body: dict[str, object] = {
            "wallet": await self._own_wallet_id(),
            "asset": asset,
            "amount": amount_sat,
            "balance": balance_sat,
            "instant_settlement": instant_settlement,
            "onchain_address": onchain_address,
        }
        if feerate_limit_sat is not None:
            body["feerate_limit"] = feerate_limit_sat
        answer = await self._t.request(CREATE_AUTO, json=body, retry=NO_RETRY)
        return AutoReverseSwap.model_validate(answer)

    async def delete_auto_swap(self, swap_id: str) -> None:
        """Delete an auto swap of this wallet. The extension answers "OK" for any id and
        checks no owner, so the client looks for the id among this wallet's first."""
        if not any(s.id == swap_id for s in await self.auto_swaps()):
            raise NotFoundError(
                f"auto swap {swap_id} is not one of this wallet's",
                method=DELETE_AUTO.method,
                path=DELETE_AUTO.render_path(swap_id=swap_id),
            )
        await self._t.request(DELETE_AUTO, path_params={"swap_id": swap_id})

    async def refund(self, swap_id: str) -> SubmarineSwap:
        """Refund a submarine swap after its timeout. The answer is the swap as it was
        BEFORE the refund (status still "pending"): read the list to see "refunded"."""
        answer = await self._t.request(REFUND, params={"swap_id": swap_id}, retry=NO_RETRY)
        return SubmarineSwap.model_validate(answer)

    async def swap_status(self, swap_id: str) -> SwapState:
        """Where a swap stands. Boltz 1.1.0's status route always fails (see module doc);
        on that known failure the answer comes from this wallet's swap lists."""
        try:
            body = await self._t.request(STATUS, params={"swap_id": swap_id}, retry=NO_RETRY)
        except InvalidRequestError as exc:
            if _STATUS_BUG not in exc.message:
                raise
        else:
            return SwapState(swap_id, str(body.get("status", body)), "status route")
        states = [(s.id, s.status) for s in await self.swaps()]
        states += [(s.id, s.status) for s in await self.reverse_swaps()]
        for found_id, status in states:
            if found_id == swap_id:
                return SwapState(swap_id, status, "swap list")
        raise NotFoundError(
            f"swap {swap_id} is not one of this wallet's swaps",
            method=STATUS.method,
            path=STATUS.path,
        )

    async def settings(self) -> BoltzSettings:
        return BoltzSettings.model_validate(await self._t.request(GET_SETTINGS))

    async def update_settings(
        self,
        boltz_url: str,
        *,
        boltz_network: str = "main",
        boltz_network_liquid: str = "liquidv1",
    ) -> BoltzSettings:
        """Replace the global settings (a PUT resets what it does not name).

        A GET goes first: the extension's PUT is an UPDATE of a row only a GET creates, so
        on a fresh install or after a reset a PUT alone answers 200 and stores nothing.
        """
        if not boltz_url.startswith(("http://", "https://")):
            raise ValueError(f"boltz_url must start with http:// or https://, got {boltz_url!r}")
        body = {
            "boltz_url": boltz_url,
            "boltz_network": boltz_network,
            "boltz_network_liquid": boltz_network_liquid,
        }
        await self._t.request(GET_SETTINGS)
        await self._t.request(PUT_SETTINGS, json=body)
        return await self.settings()

    async def reset_settings(self) -> None:
        """Delete the settings (defaults come back; a PUT right after stores nothing)."""
        await self._t.request(DELETE_SETTINGS)

    async def _own_wallet_id(self) -> str:
        wallet = WalletBalance.model_validate(await self._t.request(OWN_WALLET))
        if wallet.id is None:
            raise InvalidRequestError(
                "LNbits did not say which wallet the admin key opens",
                method=OWN_WALLET.method,
                path=OWN_WALLET.path,
            )
        return wallet.id


@dataclass(frozen=True)
class SwapQuote:
    """What a swap of `lightning_sat` costs by the backend's pair fees (all sats).

    `out` (reverse): Lightning `lightning_sat` leaves, `onchain_sat` arrives after the claim
    fee. `in` (submarine): `onchain_sat` must be sent on-chain for `lightning_sat` to arrive
    (plus the fee of our own funding transaction, which the backend does not know).
    """

    kind: Literal["out", "in"]
    pair: str
    lightning_sat: int
    onchain_sat: int
    boltz_fee_sat: int
    miner_fee_sat: int
    within_limits: bool

    @property
    def cost_sat(self) -> int:
        return self.boltz_fee_sat + self.miner_fee_sat

    @property
    def cost_ppm(self) -> int:
        """The cost per million sats moved, to compare with routing fees."""
        return round(self.cost_sat * 1_000_000 / self.lightning_sat)


def quote_swap(
    pair_id: str, pair: BoltzPair, kind: Literal["out", "in"], lightning_sat: int
) -> SwapQuote:
    """Boltz v1's fee rules on a pair: a percentage of the amount plus miner fees (the lockup
    and our claim for a reverse swap; the lockup Boltz claims for a submarine swap)."""
    _check_amount(lightning_sat)
    limits = pair.limits
    within = limits.minimal_sat <= lightning_sat <= limits.maximal_sat
    base = pair.fees.miner_fees["baseAsset"]
    if kind == "out":
        boltz_fee = math.ceil(lightning_sat * pair.fees.percentage / 100)
        miner = int(base["reverse"]["lockup"]) + int(base["reverse"]["claim"])
        onchain = lightning_sat - boltz_fee - miner
    else:
        boltz_fee = math.ceil(lightning_sat * pair.fees.percentage_swap_in / 100)
        miner = int(base["normal"])
        onchain = lightning_sat + boltz_fee + miner
    return SwapQuote(kind, pair_id, lightning_sat, onchain, boltz_fee, miner, within)


def _check_amount(amount_sat: int) -> None:
    if not isinstance(amount_sat, int) or amount_sat < 1:
        raise ValueError(f"amount_sat must be a whole number >= 1, got {amount_sat!r}")


def _feerate(feerate_sat_vb: int | None) -> dict[str, object]:
    """Always send `feerate`: without it the extension fails after creating the swap."""
    if feerate_sat_vb is None:
        return {"feerate": False}
    if feerate_sat_vb < 1:
        raise ValueError(f"feerate_sat_vb must be >= 1, got {feerate_sat_vb}")
    return {"feerate": True, "feerate_value": feerate_sat_vb}
