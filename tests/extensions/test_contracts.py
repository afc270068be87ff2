"""The recorded extension exchanges (../shared/contracts) against the client and the running
extensions, so that a future extension release that changes a shape is caught.

Two checks: every recorded 2xx answer reads with the model the client uses for its route,
and the running extension's answers, route by route, have the same fields as one of the
recorded answers of that route (a field added, renamed or dropped fails).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from lnpilot.devtools import LNbitsServer
from lnpilot.devtools.boltz_backend import BoltzBackend
from lnpilot.lnbits import LNbitsClient
from lnpilot.lnbits.extension_models import (
    AutoReverseSwap,
    BoltzPair,
    BoltzSettings,
    LndhubDecoded,
    LndhubInfo,
    LndhubInvoice,
    LndhubTokens,
    LndhubTransaction,
    LndhubUserInvoice,
    ManagedUser,
    ManagedWallet,
    ReverseSwap,
    SubmarineSwap,
)
from lnpilot.lnbits.models import Payment
from lnpilot.lnbits.resources.lndhub import parse_pay_result

from .conftest import MakeWallet, recorded_contract

CONTRACTS = ("lndhub", "usermanager", "boltz")
REFUND_ADDRESS = "bcrt1qq09wgpk83fvzjdwuamvch03tjd76f0xfasze0z"
ONCHAIN_ADDRESS = "bcrt1qkvj8hzqfnkkspv4wndw08mfruppy07f3u6prf2"


def _one(model: type[BaseModel]) -> Callable[[Any], object]:
    return model.model_validate


def _many(model: type[BaseModel]) -> Callable[[Any], object]:
    return lambda body: [model.model_validate(item) for item in body]


def _null(body: Any) -> object:
    assert body is None
    return body


#: How the client reads each route's 2xx answer.
READERS: dict[tuple[str, str], Callable[[Any], object]] = {
    ("GET", "/lndhub/ext/getinfo"): _one(LndhubInfo),
    ("POST", "/lndhub/ext/auth"): _one(LndhubTokens),
    ("GET", "/lndhub/ext/balance"): lambda b: int(b["BTC"]["AvailableBalance"]),
    ("POST", "/lndhub/ext/addinvoice"): _one(LndhubInvoice),
    ("GET", "/lndhub/ext/decodeinvoice"): _one(LndhubDecoded),
    ("POST", "/lndhub/ext/payinvoice"): parse_pay_result,
    ("GET", "/lndhub/ext/gettxs"): _many(LndhubTransaction),
    ("GET", "/lndhub/ext/getuserinvoices"): _many(LndhubUserInvoice),
    ("GET", "/lndhub/ext/getbtc"): list,
    ("GET", "/lndhub/ext/getpending"): list,
    ("GET", "/lndhub/ext/checkrouteinvoice"): _null,
    ("GET", "/usermanager/api/v1/users"): _many(ManagedUser),
    ("POST", "/usermanager/api/v1/users"): _one(ManagedUser),
    ("GET", "/usermanager/api/v1/users/{user_id}"): _one(ManagedUser),
    ("PUT", "/usermanager/api/v1/users/{user_id}"): _one(ManagedUser),
    ("DELETE", "/usermanager/api/v1/users/{user_id}"): _null,
    ("POST", "/usermanager/api/v1/extensions"): dict,
    ("POST", "/usermanager/api/v1/wallets"): _one(ManagedWallet),
    ("GET", "/usermanager/api/v1/wallets"): _many(ManagedWallet),
    ("GET", "/usermanager/api/v1/wallets/{user_id}"): _many(ManagedWallet),
    ("DELETE", "/usermanager/api/v1/wallets/{wallet_id}"): _null,
    ("GET", "/usermanager/api/v1/transactions/{wallet_id}"): _many(Payment),
    ("GET", "/boltz/api/v1/swap"): _many(SubmarineSwap),
    ("POST", "/boltz/api/v1/swap"): _one(SubmarineSwap),
    ("POST", "/boltz/api/v1/swap/refund"): _one(SubmarineSwap),
    ("GET", "/boltz/api/v1/swap/reverse"): _many(ReverseSwap),
    ("POST", "/boltz/api/v1/swap/reverse"): _one(ReverseSwap),
    ("GET", "/boltz/api/v1/swap/reverse/auto"): _many(AutoReverseSwap),
    ("POST", "/boltz/api/v1/swap/reverse/auto"): _one(AutoReverseSwap),
    ("DELETE", "/boltz/api/v1/swap/reverse/auto/{swap_id}"): str,
    ("GET", "/boltz/api/v1/swap/boltz"): lambda b: {
        k: BoltzPair.model_validate(v) for k, v in b.items()
    },
    ("GET", "/boltz/api/v1/settings"): _one(BoltzSettings),
    ("PUT", "/boltz/api/v1/settings"): _one(BoltzSettings),
    ("DELETE", "/boltz/api/v1/settings"): _null,
}


def _recorded_2xx(ext_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in recorded_contract(ext_id)["exchanges"]
        if e.get("route_owner") != "core" and 200 <= e["response"]["status"] < 300
    ]


def _fields(body: Any) -> frozenset[str] | None:
    """The shape compared: a dict's keys, or the keys of a list's first item."""
    if isinstance(body, list):
        body = body[0] if body else None
    return frozenset(body) if isinstance(body, dict) else None


@pytest.mark.parametrize("ext_id", CONTRACTS)
def test_every_recorded_answer_reads_with_the_client_model(ext_id: str) -> None:
    routes = {(r["method"], r["path"]) for r in recorded_contract(ext_id)["routes"]}
    read: set[tuple[str, str]] = set()
    for exchange in _recorded_2xx(ext_id):
        route = (exchange["method"], exchange["path"])
        READERS[route](exchange["response"]["body"])
        read.add(route)
    assert routes - read <= {("POST", "/boltz/api/v1/swap/status")}  # never answers 2xx
    assert routes <= set(READERS) | {("POST", "/boltz/api/v1/swap/status")}


# --- the running extensions --------------------------------------------------------------------


@dataclass
class Recorder:
    """An httpx client for LNbitsClient that keeps each success (method, path, JSON body)."""

    http: httpx.AsyncClient
    seen: list[tuple[str, str, Any]] = field(default_factory=list)


@pytest.fixture
async def recorder(ext_server: LNbitsServer) -> AsyncIterator[Recorder]:
    seen: list[tuple[str, str, Any]] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        if response.is_success:
            body = response.json() if response.content else None
            seen.append((response.request.method, response.request.url.path, body))

    hooks = {"response": [keep]}
    async with httpx.AsyncClient(base_url=ext_server.url, event_hooks=hooks) as http:
        yield Recorder(http, seen)


def _template(method: str, path: str) -> tuple[str, str] | None:
    for m, template in READERS:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if m == method and re.match(pattern, path):
            return m, template
    return None


async def test_live_answers_have_the_recorded_fields(
    ext_server: LNbitsServer,
    boltz_backend: BoltzBackend,
    ext_wallet: MakeWallet,
    recorder: Recorder,
) -> None:
    def client(**kwargs: Any) -> LNbitsClient:
        return LNbitsClient(ext_server.url, http_client=recorder.http, **kwargs)

    a_keys, c_keys = ext_wallet(300_000), ext_wallet(0)
    a = client(invoice_key=a_keys.inkey, admin_key=a_keys.adminkey)
    c = client(invoice_key=c_keys.inkey, admin_key=c_keys.adminkey)
    su = ext_server.superuser
    admin = client(username=su.username, password=su.password)

    await a.lndhub.info()
    await a.lndhub.auth("admin", a_keys.adminkey)
    invoice = await c.lndhub.add_invoice(2_000, "contract")
    await a.lndhub.decode_invoice(invoice.payment_request)
    await a.lndhub.check_route(invoice.payment_request)
    await a.lndhub.pay_invoice(invoice.payment_request)
    await a.lndhub.balance_sat()
    await a.lndhub.transactions()
    await c.lndhub.user_invoices()
    await a.lndhub.onchain_addresses()
    await a.lndhub.pending()

    um = a.usermanager
    user = await um.create_user("contract-user", "contract-wallet", extra={"tag": "vip"})
    await um.list_users()
    await um.get_user(user.id)
    await um.update_user(user.id, user_name="renamed")
    wallet = await um.create_wallet(user.id, "second")
    await um.list_wallets()
    await um.user_wallets(user.id)
    managed = client(invoice_key=user.wallets[0].inkey)
    await a.payments.pay((await managed.payments.create_invoice(100, memo="bonus")).bolt11)
    await um.transactions(user.wallets[0].id)
    await um.set_extension(user.id, "lndhub", active=False)
    await um.delete_wallet(wallet.id)
    await um.delete_user(user.id)

    bz = a.boltz
    await admin.boltz.settings()
    await bz.pairs()
    swap = await bz.create_swap(100_000, refund_address=REFUND_ADDRESS)
    await bz.swaps()
    boltz_backend.tip_height = swap.timeout_block_height + 1
    try:
        await bz.refund(swap.id)
    finally:
        boltz_backend.tip_height = 1000
    await bz.create_reverse_swap(60_000, onchain_address=ONCHAIN_ADDRESS)
    await bz.reverse_swaps()
    auto = await bz.create_auto_swap(60_000, balance_sat=1_000, onchain_address=ONCHAIN_ADDRESS)
    await bz.auto_swaps()
    await bz.delete_auto_swap(auto.id)

    recorded: dict[tuple[str, str], set[frozenset[str] | None]] = {}
    for ext_id in CONTRACTS:
        for exchange in _recorded_2xx(ext_id):
            key = (exchange["method"], exchange["path"])
            recorded.setdefault(key, set()).add(_fields(exchange["response"]["body"]))
    compared = set()
    for method, path, body in recorder.seen:
        route = _template(method, path)
        if route is None or (fields := _fields(body)) is None:
            continue  # core calls, and empty lists or bare values (nothing to compare)
        known = {f for f in recorded.get(route, set()) if f is not None}
        assert fields in known, f"{method} {path}: fields {sorted(fields)} not recorded in {known}"
        compared.add(route)
    assert len(compared) >= 25, sorted(compared)
