"""Payments resource against a real LNbits (FakeWallet pays invoices of the same server)."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from lnpilot.lnbits import (
    InsufficientBalanceError,
    InvalidRequestError,
    MissingCredentialError,
    PermissionDeniedError,
    UnsupportedByBackendError,
)
from lnpilot.lnbits import bolt11 as local_bolt11
from lnpilot.lnbits.errors import InvoiceDecodeError, NotFoundError

pytestmark = pytest.mark.lnbits


async def test_create_invoice_with_every_option(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet(), admin=False)
    description = "a description long enough to be hashed"
    invoice = await client.payments.create_invoice(
        2100,
        memo="coffee",
        expiry_s=600,
        webhook="http://127.0.0.1:9/hook",
        extra={"order": 42},
        labels=["shop"],
        external_id="order-42",
    )
    assert invoice.amount_msat == 2_100_000
    assert invoice.is_pending and not invoice.is_outgoing
    assert invoice.memo == "coffee"
    assert invoice.extra.get("order") == 42
    decoded = local_bolt11.decode(invoice.bolt11)
    assert decoded.payment_hash == invoice.payment_hash
    assert decoded.amount_msat == 2_100_000
    assert decoded.expiry_s == 600

    hashed = await client.payments.create_invoice(
        10, description_hash=hashlib.sha256(description.encode()).hexdigest()
    )
    assert (
        local_bolt11.decode(hashed.bolt11).description_hash
        == hashlib.sha256(description.encode()).hexdigest()
    )


async def test_create_invoice_rejects_bad_input_before_sending(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet(), admin=False)
    with pytest.raises(ValueError, match="amount_sat"):
        await client.payments.create_invoice(-1)
    with pytest.raises(ValueError, match="description_hash"):
        await client.payments.create_invoice(1, description_hash="zz")
    assert sum(s.requests for s in client.transport.stats.values()) == 0


async def test_pay_moves_exact_msat_and_is_recorded(make_client, fresh_wallet) -> None:
    payer_keys, payee_keys = fresh_wallet(50_000), fresh_wallet()
    payer, payee = make_client(payer_keys), make_client(payee_keys)
    invoice = await payee.payments.create_invoice(1_500, memo="pay test")
    paid = await payer.payments.pay(invoice.bolt11)
    assert paid.is_paid and paid.is_outgoing
    assert paid.amount_msat == -1_500_000
    assert (await payer.wallet.get()).balance_msat == 50_000_000 - 1_500_000 + paid.fee_msat
    assert (await payee.wallet.get()).balance_msat == 1_500_000

    status = await payee.payments.status(invoice.payment_hash)
    assert status.paid and status.state == "success"


async def test_pay_twice_returns_the_first_payment_and_moves_money_once(
    make_client, fresh_wallet
) -> None:
    payer, payee = make_client(fresh_wallet(10_000)), make_client(fresh_wallet())
    invoice = await payee.payments.create_invoice(700)
    first = await payer.payments.pay(invoice.bolt11)
    second = await payer.payments.pay(invoice.bolt11)
    assert second.checking_id == first.checking_id
    assert (await payee.wallet.get(bypass_cache=True)).balance_msat == 700_000
    outgoing = [p for p in await payer.payments.list(bypass_cache=True) if p.is_outgoing]
    assert len(outgoing) == 1


async def test_concurrent_pays_of_one_invoice_pay_once(make_client, fresh_wallet) -> None:
    payer, payee = make_client(fresh_wallet(10_000)), make_client(fresh_wallet())
    invoice = await payee.payments.create_invoice(300)
    results = await asyncio.gather(*(payer.payments.pay(invoice.bolt11) for _ in range(5)))
    assert len({r.checking_id for r in results}) == 1
    assert (await payee.wallet.get(bypass_cache=True)).balance_msat == 300_000


async def test_pay_with_insufficient_balance(make_client, fresh_wallet) -> None:
    payer, payee = make_client(fresh_wallet(10)), make_client(fresh_wallet())
    invoice = await payee.payments.create_invoice(5_000)
    with pytest.raises(InsufficientBalanceError):
        await payer.payments.pay(invoice.bolt11)
    assert (await payer.wallet.get(bypass_cache=True)).balance_msat == 10_000


async def test_pay_needs_the_admin_key(make_client, fresh_wallet) -> None:
    payer, payee = make_client(fresh_wallet(1_000), admin=False), make_client(fresh_wallet())
    invoice = await payee.payments.create_invoice(1)
    with pytest.raises(MissingCredentialError, match="admin key"):
        await payer.payments.pay(invoice.bolt11)


async def test_pay_with_invoice_key_sent_as_admin_is_refused(make_client, fresh_wallet) -> None:
    keys = fresh_wallet(1_000)
    payer = make_client(admin_key=keys.inkey)  # a misconfiguration LNbits must refuse
    payee = make_client(fresh_wallet())
    invoice = await payee.payments.create_invoice(1)
    with pytest.raises(PermissionDeniedError):
        await payer.payments.pay(invoice.bolt11)


async def test_pay_garbage_is_a_local_decode_error(make_client, fresh_wallet) -> None:
    payer = make_client(fresh_wallet(1_000))
    with pytest.raises(InvoiceDecodeError):
        await payer.payments.pay("lnbc1notaninvoice")
    assert sum(s.requests for s in payer.transport.stats.values()) == 0


async def test_status_of_unknown_hash_is_not_found(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet(), admin=False)
    with pytest.raises(NotFoundError):
        await client.payments.status("ab" * 32)


async def test_lists_pagination_and_filters(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet(), admin=False)
    for amount_sat in (11, 12, 13):
        await client.payments.create_invoice(amount_sat, memo=f"m{amount_sat}")
    everything = await client.payments.list(bypass_cache=True)
    assert len(everything) == 3
    two = await client.payments.list(limit=2, sortby="amount", direction="asc")
    assert [p.amount_msat for p in two] == [11_000, 12_000]
    page = await client.payments.list_paginated(limit=2, offset=2, sortby="amount", direction="asc")
    assert page.total == 3 and [p.amount_msat for p in page.data] == [13_000]
    found = await client.payments.list(search="m12", bypass_cache=True)
    assert [p.memo for p in found] == ["m12"]
    pending = await client.payments.list(filters={"status[eq]": "pending"}, bypass_cache=True)
    assert len(pending) == 3


async def test_history_and_stats(make_client, superuser, fresh_wallet) -> None:
    keys = fresh_wallet(5)
    client = make_client(keys, admin=False)
    history = await client.payments.history(group="day")
    assert history and history[-1].balance_msat == 5_000
    breakdown = await client.payments.stats_breakdown()
    assert breakdown
    assert await superuser.payments.stats_count(count_by="status")
    wallets = await superuser.payments.stats_wallets()
    assert keys.wallet_id in {w["wallet_id"] for w in wallets}
    assert await superuser.payments.stats_daily()
    everything = await superuser.payments.list_all_paginated(limit=5)
    assert everything.total >= 1
    with pytest.raises(ValueError, match="group"):
        await client.payments.history(group="fortnight")


async def test_decode_and_fee_reserve(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet(), admin=False)
    invoice = await client.payments.create_invoice(4_000, memo="decode me")
    decoded = await client.payments.decode(invoice.bolt11)
    assert decoded.payment_hash == invoice.payment_hash
    assert decoded.amount_msat == 4_000_000
    assert decoded.description == "decode me"
    reserve_msat = await client.payments.fee_reserve(invoice.bolt11)
    assert reserve_msat >= 0
    with pytest.raises(InvalidRequestError):
        await client.payments.decode("nonsense")


async def test_hold_invoices_fail_cleanly_on_fakewallet(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet())
    preimage = os.urandom(32)
    payment_hash = hashlib.sha256(preimage).hexdigest()
    with pytest.raises(UnsupportedByBackendError, match="Hold invoices"):
        await client.payments.create_invoice(10, payment_hash=payment_hash)
    with pytest.raises((UnsupportedByBackendError, NotFoundError, InvalidRequestError)):
        await client.payments.settle(preimage.hex())
    with pytest.raises((UnsupportedByBackendError, NotFoundError, InvalidRequestError)):
        await client.payments.cancel(payment_hash)


async def test_labels_and_extra(make_client, fresh_wallet) -> None:
    payer, payee = make_client(fresh_wallet(1_000)), make_client(fresh_wallet())
    invoice = await payee.payments.create_invoice(5)
    paid = await payer.payments.pay(invoice.bolt11)
    await payer.payments.set_labels(paid.payment_hash, ["groceries"])
    updated = await payer.payments.add_extra(paid.payment_hash, {"note": "weekly"})
    assert updated.extra.get("note") == "weekly"
    listed = await payer.payments.list(bypass_cache=True)
    assert "groceries" in next(p for p in listed if p.is_outgoing).labels


async def test_pay_with_nfc_without_lnurl_is_a_clear_error(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet())
    invoice = await client.payments.create_invoice(5)
    with pytest.raises(Exception) as info:
        await client.payments.pay_with_nfc(invoice.bolt11, {"callback": "http://127.0.0.1:9"})
    assert info.value.__class__.__module__ == "lnpilot.lnbits.errors"
