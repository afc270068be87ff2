"""Live payment updates over the real LNbits websocket."""

from __future__ import annotations

import asyncio

import pytest

from lnpilot.devtools import FaultProxy
from lnpilot.lnbits import MissingCredentialError, RetryPolicy

pytestmark = pytest.mark.lnbits


async def test_wallet_stream_yields_incoming_payment(make_client, fresh_wallet) -> None:
    payer, payee = make_client(fresh_wallet(5_000)), make_client(fresh_wallet(), admin=False)
    connected = asyncio.Event()
    updates = payee.stream.wallet_payments(on_connected=connected.set)
    first = asyncio.ensure_future(anext(updates))
    await asyncio.wait_for(connected.wait(), timeout=15)  # the socket is open: pay now
    invoice = await payee.payments.create_invoice(250, memo="streamed")
    await payer.payments.pay(invoice.bolt11)
    update = await asyncio.wait_for(first, timeout=15)
    while update.payment.payment_hash != invoice.payment_hash or not update.payment.is_paid:
        update = await asyncio.wait_for(anext(updates), timeout=15)
    assert update.payment.amount_msat == 250_000
    assert update.wallet_balance_sat == 250
    assert not update.reconciled
    await updates.aclose()


async def test_stream_since_reconciles_what_happened_before(make_client, fresh_wallet) -> None:
    payer, payee = make_client(fresh_wallet(5_000)), make_client(fresh_wallet(), admin=False)
    invoice = await payee.payments.create_invoice(111, memo="earlier")
    await payer.payments.pay(invoice.bolt11)
    created = (await payee.payments.status(invoice.payment_hash)).details
    assert created is not None and created.time is not None
    updates = payee.stream.wallet_payments(since=created.time)
    update = await asyncio.wait_for(anext(updates), timeout=15)
    assert update.reconciled and update.payment.payment_hash == invoice.payment_hash
    await updates.aclose()


async def test_stream_needs_invoice_key(make_client) -> None:
    with pytest.raises(MissingCredentialError):
        await anext(make_client().stream.wallet_payments())


async def test_payment_hash_stream(make_client, fresh_wallet) -> None:
    payer, payee = make_client(fresh_wallet(5_000)), make_client(fresh_wallet(), admin=False)
    invoice = await payee.payments.create_invoice(42)
    connected = asyncio.Event()
    statuses = payee.stream.payment_status(invoice.payment_hash, on_connected=connected.set)
    first = asyncio.ensure_future(anext(statuses))
    await asyncio.wait_for(connected.wait(), timeout=15)
    await payer.payments.pay(invoice.bolt11)
    assert await asyncio.wait_for(first, timeout=15) == "success"
    await statuses.aclose()


async def test_stream_reconnects_and_reconciles_missed_payments(
    lnbits_server, make_client, fresh_wallet
) -> None:
    """Payments made while the socket is down arrive after reconnection, marked reconciled."""
    host, port = lnbits_server.url.removeprefix("http://").split(":")
    proxy = FaultProxy(host, int(port))
    proxy_port = await proxy.start()
    payee_keys = fresh_wallet()
    payer = make_client(fresh_wallet(5_000))
    payee = make_client(payee_keys, admin=False)
    watched = make_client(url=proxy.url, invoice_key=payee_keys.inkey)
    watched.stream.backoff = RetryPolicy(max_attempts=1000, base_delay_s=0.05, max_delay_s=0.2)
    connected = asyncio.Event()
    updates = watched.stream.wallet_payments(on_connected=connected.set)
    try:
        first = asyncio.ensure_future(anext(updates))
        await asyncio.wait_for(connected.wait(), timeout=15)
        before = await payee.payments.create_invoice(10, memo="before")
        await payer.payments.pay(before.bolt11)
        assert (await asyncio.wait_for(first, 15)).payment.payment_hash == before.payment_hash

        await proxy.stop()  # the socket drops; LNbits keeps going
        missed = await payee.payments.create_invoice(20, memo="missed")
        await payer.payments.pay(missed.bolt11)
        nxt = asyncio.ensure_future(anext(updates))
        await asyncio.sleep(0.3)
        await proxy.start(proxy_port)
        update = await asyncio.wait_for(nxt, 15)
        while update.payment.payment_hash != missed.payment_hash:
            update = await asyncio.wait_for(anext(updates), 15)
        assert update.reconciled and update.payment.is_paid
        assert watched.stream.reconnects >= 1
    finally:
        await updates.aclose()
        await proxy.stop()
