"""Payers racing for one invoice on a real LNbits: every outcome a client reports must be true.

Separate client objects do not share the per-hash lock, so their pays can reach LNbits
together; the losers then get LNbits' 520 "Internal invoice already paid". A client of the
wallet that did pay (through another client object) must report the payment, and a client of a
wallet that did not must report a failure: the answer is looked up by payment hash, never
guessed from the error. The truth is read afterwards from LNbits' own payment list.
"""

from __future__ import annotations

import asyncio

import pytest

from lnpilot.lnbits import LNbitsClient
from lnpilot.lnbits.errors import PaymentFailedError

pytestmark = pytest.mark.lnbits

RACES = 12
AMOUNT_SAT = 21


async def _outcome(client: LNbitsClient, bolt11: str) -> str:
    """What the client reports: "paid" or "failed" (anything else propagates and fails)."""
    try:
        payment = await client.payments.pay(bolt11)
    except PaymentFailedError:
        return "failed"
    assert payment.is_paid and payment.is_outgoing
    return "paid"


async def _truth(reader: LNbitsClient, payment_hash: str) -> str:
    """Whether this wallet holds a settled outgoing payment with that hash, per LNbits."""
    payments = await reader.payments.list(bypass_cache=True)
    settled = [
        p for p in payments if p.payment_hash == payment_hash and p.is_outgoing and p.is_paid
    ]
    assert len(settled) <= 1, f"paid twice: {settled}"
    return "paid" if settled else "failed"


async def test_every_outcome_reported_by_racing_payers_is_true(make_client, fresh_wallet) -> None:
    shared_keys, rival_keys = fresh_wallet(10_000), fresh_wallet(10_000)
    # Two client objects on one wallet (two processes of one operator) and one on another.
    payers = [
        ("shared", make_client(shared_keys)),
        ("shared", make_client(shared_keys)),
        ("rival", make_client(rival_keys)),
    ]
    readers = {
        "shared": make_client(shared_keys, admin=False),
        "rival": make_client(rival_keys, admin=False),
    }
    payee = make_client(fresh_wallet(), admin=False)
    lies: list[str] = []
    for race in range(RACES):
        invoice = await payee.payments.create_invoice(AMOUNT_SAT, memo=f"race {race}")
        reported = await asyncio.gather(*(_outcome(c, invoice.bolt11) for _, c in payers))
        truth = {w: await _truth(r, invoice.payment_hash) for w, r in readers.items()}
        assert sum(t == "paid" for t in truth.values()) == 1, truth
        for (wallet, _), said in zip(payers, reported, strict=True):
            if said != truth[wallet]:
                lies.append(f"race {race}: {wallet} client said {said}, LNbits: {truth[wallet]}")
    assert lies == []
    balance_msat = (await payee.wallet.get(bypass_cache=True)).balance_msat
    assert balance_msat == RACES * AMOUNT_SAT * 1000
