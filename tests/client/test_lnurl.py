"""LNURL through a real LNbits: scan, pay (at most once), auth, and bad input.

A real LNbits (``lnurl_lnbits``: its own, with the two settings that let it fetch 127.0.0.1)
fetches a real LNURL service on 127.0.0.1 whose invoices are made by a real payee wallet, so a
payment here moves real balances. The ambiguous-outcome test puts the real fault proxy
between client and LNbits and drops LNbits' answer after it has paid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lnpilot.devtools import LNbitsServer, WalletKeys
from lnpilot.devtools.clients import MakeClient, client_factory
from lnpilot.devtools.fault_proxy import Fault, FaultProxy
from lnpilot.devtools.lnurl_service import LnurlService
from lnpilot.lnbits import (
    InvalidRequestError,
    LNbitsClient,
    NotFoundError,
    PaymentOutcomeUnknownError,
)
from lnpilot.lnbits.resources.lnurl import (
    LnurlAuth,
    LnurlPay,
    LnurlWithdraw,
    decode_lnurl,
    encode_lnurl,
    normalize_code,
)

pytestmark = [pytest.mark.lnbits]


@pytest.fixture(scope="module")
def wallets(lnurl_lnbits: LNbitsServer, lnurl_payee: WalletKeys) -> dict[str, WalletKeys]:
    payer = lnurl_lnbits.create_account("lnurl-payer")
    lnurl_lnbits.fund(payer.wallet_id, 100_000)
    return {"payer": payer, "payee": lnurl_payee}


@pytest.fixture
def service(lnurl_service: LnurlService) -> LnurlService:
    return lnurl_service


@pytest.fixture
async def build(lnurl_lnbits: LNbitsServer) -> AsyncIterator[MakeClient]:
    async with client_factory(lnurl_lnbits.url) as make:
        yield make


async def _balance_msat(client: LNbitsClient) -> int:
    return (await client.wallet.get(bypass_cache=True)).balance_msat


def test_lnurl_bech32_round_trip_and_bad_codes() -> None:
    url = "http://127.0.0.1:5000/pay?x=1"
    code = encode_lnurl(url)
    assert code.startswith("lnurl1")
    assert decode_lnurl(code) == url
    assert normalize_code("lightning:" + code.upper()) == code
    assert normalize_code("Alice@Example.com") == "alice@Example.com"
    for bad, words in [
        ("", "empty"),
        ("bob@localhost", "not a Lightning address"),
        ("lnurl1qqqqqq", "not a valid bech32"),
        ("lnbc1xyz", "not an LNURL"),
        (encode_lnurl(url).replace("lnurl1", "lnurl1q", 1), "bech32"),
    ]:
        with pytest.raises(ValueError, match=words) as info:
            normalize_code(bad)
        assert "lnurl" in str(info.value).lower() or "address" in str(info.value)


async def test_scan_pay_request_in_msat(service: LnurlService, build: MakeClient, wallets) -> None:
    client = build(wallets["payer"], admin=False)
    scanned = await client.lnurl.scan(encode_lnurl(service.pay_url))
    assert isinstance(scanned, LnurlPay)
    assert (scanned.min_sendable_msat, scanned.max_sendable_msat) == (1_000, 100_000_000)
    assert scanned.description == service.description
    assert scanned.comment_allowed == service.comment_allowed


async def test_scan_withdraw_offer_in_msat(
    service: LnurlService, build: MakeClient, wallets
) -> None:
    client = build(wallets["payer"], admin=False)
    scanned = await client.lnurl.scan(encode_lnurl(f"{service.url}/withdraw"))
    assert isinstance(scanned, LnurlWithdraw)
    assert (scanned.min_withdrawable_msat, scanned.max_withdrawable_msat) == (1_000, 50_000)
    assert scanned.default_description == "lnpilot test voucher"
    assert "k1" not in repr(scanned)
    with pytest.raises(ValueError, match="LNURL-withdraw, not an LNURL-pay"):
        await build(wallets["payer"]).lnurl.pay(encode_lnurl(f"{service.url}/withdraw"), 1_000)


async def test_pay_moves_the_amount_once(service: LnurlService, build: MakeClient, wallets) -> None:
    payer, payee = build(wallets["payer"]), build(wallets["payee"], admin=False)
    before_payer, before_payee = await _balance_msat(payer), await _balance_msat(payee)

    payment = await payer.lnurl.pay(encode_lnurl(service.pay_url), 21_000, comment="thanks")

    assert payment.is_paid and payment.amount_msat == -21_000
    assert payment.memo == service.description
    assert await _balance_msat(payee) - before_payee == 21_000
    assert before_payer - await _balance_msat(payer) == 21_000 - payment.fee_msat
    callbacks = [q for path, q in service.calls if path == "/pay/cb"]
    assert callbacks == [{"amount": "21000", "comment": "thanks"}]


async def test_out_of_bounds_amount_is_refused_before_sending(
    service: LnurlService, build: MakeClient, wallets
) -> None:
    payer = build(wallets["payer"])
    request = await payer.lnurl.scan(encode_lnurl(service.pay_url))
    assert isinstance(request, LnurlPay)
    for amount_msat, words in [(999, "1000 to 100000000 msat"), (100_000_001, "outside")]:
        with pytest.raises(ValueError, match=words):
            await payer.lnurl.pay(request, amount_msat)
    with pytest.raises(ValueError, match="at most 100"):
        await payer.lnurl.pay(request, 5_000, comment="x" * 101)
    assert not [p for p, _ in service.calls if p == "/pay/cb"]


async def test_lnbits_refusal_is_a_clear_error(
    service: LnurlService, build: MakeClient, wallets
) -> None:
    """The service refuses msat amounts that are not whole sat: LNbits passes its reason on."""
    payer = build(wallets["payer"])
    with pytest.raises(InvalidRequestError, match="whole satoshi"):
        await payer.lnurl.pay(encode_lnurl(service.pay_url), 1_500)


async def test_ambiguous_outcome_is_resolved_without_paying_again(
    service: LnurlService, lnurl_lnbits: LNbitsServer, wallets
) -> None:
    proxy = FaultProxy("127.0.0.1", lnurl_lnbits.port)
    await proxy.start()
    try:
        proxy.set_rule("POST", "/api/v1/payments/lnurl", Fault.DROP_RESPONSE_AFTER_UPSTREAM)
        async with client_factory(proxy.url) as make:
            payer = make(wallets["payer"])
            payee = make(wallets["payee"], admin=False, url=lnurl_lnbits.url)
            before_payee = await _balance_msat(payee)
            payment = await payer.lnurl.pay(encode_lnurl(service.pay_url), 7_000)
            assert payment.is_paid and payment.amount_msat == -7_000
            assert await _balance_msat(payee) - before_payee == 7_000
        sent = [r for r in proxy.records() if r.path.startswith("/api/v1/payments/lnurl")]
        assert len(sent) == 1 and sent[0].forwarded
    finally:
        await proxy.stop()


async def test_auth_signs_the_services_challenge(
    service: LnurlService, build: MakeClient, wallets
) -> None:
    client = build(wallets["payer"])
    challenge = await client.lnurl.scan(encode_lnurl(service.auth_url()))
    assert isinstance(challenge, LnurlAuth)
    assert challenge.domain == service.url.removeprefix("http://")
    await client.lnurl.auth(challenge)
    (query,) = [q for p, q in service.calls if p == "/auth" and "sig" in q]
    assert query["k1"] == challenge.k1 and len(query["key"]) == 66


async def test_auth_refusal_is_not_reported_by_lnbits_1_6_2(
    service: LnurlService, build: MakeClient, wallets
) -> None:
    """A known LNbits quirk, pinned: the service refuses, LNbits answers ``{}`` anyway.

    When a later LNbits passes the refusal on, this fails and the client raises it instead
    (``auth`` already turns an ``ERROR`` answer into InvalidRequestError).
    """
    client = build(wallets["payer"])
    challenge = await client.lnurl.scan(encode_lnurl(service.auth_url()))
    assert isinstance(challenge, LnurlAuth)
    unknown_k1 = "00" * 32
    forged = challenge.model_copy(
        update={"k1": unknown_k1, "callback": challenge.callback.replace(challenge.k1, unknown_k1)}
    )
    await client.lnurl.auth(forged)
    # LNbits did call the service with the unknown k1 (which the service answers ERROR).
    assert [q for p, q in service.calls if p == "/auth" and q.get("k1") == forged.k1 and "sig" in q]


async def test_scan_of_a_pay_code_is_not_an_auth(
    service: LnurlService, build: MakeClient, wallets
) -> None:
    client = build(wallets["payer"])
    with pytest.raises(ValueError, match="LNURL-pay, not an LNURL-auth"):
        await client.lnurl.auth(encode_lnurl(service.pay_url))


async def test_lnbits_own_lightning_address_is_served(
    lnurl_lnbits: LNbitsServer, build: MakeClient, wallets
) -> None:
    """LNbits serves LUD-16 for its wallets' Lightning addresses, without any key."""
    payee = build(wallets["payee"])
    await payee.wallet.update(lightning_address="lnpilot-payee")
    public = build()
    served = await public.lnurl.lightning_address("lnpilot-payee")
    host = lnurl_lnbits.url.removeprefix("http://")
    assert served.identifier == f"lnpilot-payee@{host}"
    assert (served.min_sendable_msat, served.comment_allowed) == (1_000, 799)
    with pytest.raises(NotFoundError, match="Lightning address not found"):
        await public.lnurl.lightning_address("nobody-here")
    with pytest.raises(ValueError, match="not a Lightning address name"):
        await public.lnurl.lightning_address("Bob@example.com")


async def test_paying_lnbits_own_address_on_an_ip_host_crashes_lnbits_1_6_2(
    lnurl_lnbits: LNbitsServer, build: MakeClient, wallets
) -> None:
    """A known LNbits quirk, pinned, and how the client meets a bare 500.

    LNbits fetches the invoice, then stores the pay link under the address it names itself
    by (``name@127.0.0.1:port``), which its own LnAddress type rejects: HTTP 500, before
    paying. A bare 500 may come while a payment is in flight, so the client does not guess:
    it finds no payment, says the outcome is unknown, and sends nothing again. On a real
    domain (``name@pay.example.com``) the address is valid and this does not happen.
    """
    payee = build(wallets["payee"])
    await payee.wallet.update(lightning_address="lnpilot-payee")
    payer = build(wallets["payer"], resolve_deadline_s=1.0)
    before_payer, before_payee = await _balance_msat(payer), await _balance_msat(payee)
    code = encode_lnurl(f"{lnurl_lnbits.url}/.well-known/lnurlp/lnpilot-payee")
    with pytest.raises(PaymentOutcomeUnknownError, match="none found"):
        await payer.lnurl.pay(code, 3_000)
    assert await _balance_msat(payer) == before_payer
    assert await _balance_msat(payee) == before_payee


async def test_a_lightning_address_lnbits_cannot_reach_is_a_clear_error(
    build: MakeClient, wallets
) -> None:
    """``user@domain`` goes to https://domain/.well-known/lnurlp/user, fetched by LNbits;
    ``.invalid`` never resolves (RFC 2606), so LNbits refuses it with its reason."""
    client = build(wallets["payer"], admin=False)
    with pytest.raises(InvalidRequestError, match="LNURL request"):
        await client.lnurl.scan("nobody@lnpilot.invalid")
