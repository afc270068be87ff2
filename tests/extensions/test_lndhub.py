"""client.lndhub against the real LNDHub 1.0.2 extension in a real LNbits."""

from __future__ import annotations

import base64

import pytest

from lnpilot.lnbits import (
    InvalidRequestError,
    MissingCredentialError,
    PaymentFailedError,
    PermissionDeniedError,
)
from lnpilot.lnbits.credentials import lndhub_token

from .conftest import MakeClient, MakeWallet


async def test_auth_accepts_any_password_so_a_token_proves_nothing(
    ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    client = ext_client()
    tokens = await client.lndhub.auth("admin", "not-a-key")
    assert base64.b64decode(tokens.access_token) == b"admin:not-a-key"
    assert tokens.refresh_token == tokens.access_token
    # The token /auth issued is useless: only a real key inside works.
    bogus = ext_client(admin_key="not-a-key", invoice_key="not-a-key")
    with pytest.raises(Exception) as caught:
        await bogus.lndhub.balance_sat()
    assert "not-a-key" not in str(caught.value)


async def test_our_token_is_what_auth_issues_for_the_key(
    ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    keys = ext_wallet(1_000)
    tokens = await ext_client().lndhub.auth("lnpilot", keys.adminkey)
    assert tokens.access_token == lndhub_token(keys.adminkey)
    refreshed = await ext_client().lndhub.refresh(tokens.refresh_token)
    assert refreshed.access_token == tokens.access_token


async def test_payment_between_two_lndhub_wallets_balance_and_history(
    ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    alice_keys, carol_keys = ext_wallet(50_000), ext_wallet(0)
    alice, carol = ext_client(alice_keys), ext_client(carol_keys, admin=False)
    invoice = await carol.lndhub.add_invoice(2_000, "lndhub test")
    assert invoice.payment_request.startswith("lnbc")

    payment = await alice.lndhub.pay_invoice(invoice.payment_request)
    assert payment.payment_hash == invoice.payment_hash
    assert payment.is_paid and payment.amount_msat == -2_000_000

    assert await alice.lndhub.balance_sat() == 48_000
    assert await carol.lndhub.balance_sat() == 2_000
    [sent] = await alice.lndhub.transactions()
    assert (sent.payment_hash, sent.value_sat, sent.memo) == (
        invoice.payment_hash,
        -2_000,
        "lndhub test",
    )
    [received] = await carol.lndhub.user_invoices()
    assert (received.payment_hash, received.amount_sat, received.ispaid) == (
        invoice.payment_hash,
        2_000,
        True,
    )
    assert await alice.lndhub.transactions(limit=1, offset=1) == []


async def test_paying_twice_sends_once(ext_wallet: MakeWallet, ext_client: MakeClient) -> None:
    """The second pay finds the payment by hash and does not send it again (LNDHub itself
    would answer 200 "Payment failed" to a second send)."""
    payer_keys, payee_keys = ext_wallet(10_000), ext_wallet(0)
    payer, payee = ext_client(payer_keys), ext_client(payee_keys, admin=False)
    invoice = await payee.lndhub.add_invoice(1_000, "once")
    first = await payer.lndhub.pay_invoice(invoice.payment_request)
    sent_before = payer.transport.stats["POST /lndhub/ext/payinvoice"].requests
    second = await payer.lndhub.pay_invoice(invoice.payment_request)
    assert second.payment_hash == first.payment_hash
    assert payer.transport.stats["POST /lndhub/ext/payinvoice"].requests == sent_before
    assert await payer.lndhub.balance_sat() == 9_000


async def test_200_with_payment_error_becomes_payment_failed(
    ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    """Insufficient balance: LNDHub answers HTTP 200 {"payment_error": "Payment failed"}."""
    poor_keys, payee_keys = ext_wallet(100), ext_wallet(0)
    poor, payee = ext_client(poor_keys), ext_client(payee_keys, admin=False)
    invoice = await payee.lndhub.add_invoice(5_000, "too much")
    with pytest.raises(PaymentFailedError) as caught:
        await poor.lndhub.pay_invoice(invoice.payment_request)
    assert caught.value.payment_hash == invoice.payment_hash
    assert "Payment failed" in str(caught.value)
    assert await poor.lndhub.balance_sat() == 100


async def test_least_privilege_and_extension_not_enabled(
    ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    keys = ext_wallet(1_000)
    invoice_only = ext_client(keys, admin=False)
    other = ext_client(ext_wallet(0), admin=False)
    invoice = await other.lndhub.add_invoice(10, "x")
    with pytest.raises(MissingCredentialError, match="admin key"):
        await invoice_only.lndhub.pay_invoice(invoice.payment_request)
    not_enabled = ext_client(ext_wallet(0, enable=()))
    with pytest.raises(PermissionDeniedError, match="not enabled"):
        await not_enabled.lndhub.balance_sat()


async def test_public_routes(ext_wallet: MakeWallet, ext_client: MakeClient) -> None:
    keys = ext_wallet(0)
    client = ext_client(keys, admin=False)
    assert (await ext_client().lndhub.info()).alias
    invoice = await client.lndhub.add_invoice(2_500, "decode me")
    decoded = await ext_client().lndhub.decode_invoice(invoice.payment_request)
    assert (decoded.payment_hash, decoded.amount_sat, decoded.description) == (
        invoice.payment_hash,
        2_500,
        "decode me",
    )
    with pytest.raises(InvalidRequestError, match="could not decode"):
        await ext_client().lndhub.decode_invoice("lnbc1notaninvoice")
    await ext_client().lndhub.check_route(invoice.payment_request)
    assert await client.lndhub.onchain_addresses() == []
    assert await client.lndhub.pending() == []
    with pytest.raises(ValueError, match=r"1\.\.200"):
        await client.lndhub.transactions(limit=0)
