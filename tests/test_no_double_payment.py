"""Proof that ``payments.pay`` never pays twice and never reports a wrong outcome.

A real fault-injecting proxy sits between the paying client and a real LNbits and breaks
the pay request in every way that makes a payment's outcome ambiguous. The ground truth is
taken from two independent places: the proxy's log (how many pay requests for an invoice
actually reached LNbits) and LNbits itself, read directly (was the invoice paid, how many
outgoing payments the payer has for it). A control run shows a naive retrying client *is*
caught by the same checks, so they can fail.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from lnpilot.devtools import LNbitsServer
from lnpilot.devtools.fault_proxy import Fault, FaultProxy
from lnpilot.lnbits import (
    LNbitsClient,
    PaymentFailedError,
    PaymentOutcomeUnknownError,
    RetryPolicy,
    TransportSettings,
)

pytestmark = [pytest.mark.lnbits, pytest.mark.slow]

TRIALS_PER_FAULT = 30
PAY_PATH = "/api/v1/payments"
FAULTS = [
    Fault.PASS,
    Fault.DROP_RESPONSE_AFTER_UPSTREAM,
    Fault.RESET_BEFORE_UPSTREAM,
    Fault.DELAY,
    Fault.STATUS_502,
    Fault.STATUS_502_NO_UPSTREAM,
    Fault.TRUNCATE,
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _pays_forwarded(proxy: FaultProxy, bolt11: str) -> int:
    """Pay requests for this invoice that reached LNbits (the proxy's ground truth)."""
    return sum(
        1
        for r in proxy.records()
        if r.method == "POST"
        and r.path.split("?")[0] == PAY_PATH
        and r.forwarded
        and bolt11.encode() in r.request_body
    )


async def _truth(direct: LNbitsClient, payee: LNbitsClient, payment_hash: str) -> tuple[bool, int]:
    """(invoice paid?, successful outgoing payments of the payer with this hash) per LNbits."""
    paid = (await payee.payments.status(payment_hash)).paid
    outgoing = await direct.payments.list(
        filters={"payment_hash": payment_hash}, limit=10, bypass_cache=True
    )
    return paid, sum(1 for p in outgoing if p.is_outgoing and p.is_paid)


async def _settle(direct: LNbitsClient, payment_hash: str) -> None:
    with contextlib.suppress(PaymentFailedError, PaymentOutcomeUnknownError):
        await direct.payments.resolve(payment_hash, deadline_s=5.0)


async def test_no_double_payment_under_faults(lnbits_server: LNbitsServer) -> None:
    payer_keys = lnbits_server.create_account("payer")
    lnbits_server.fund(payer_keys.wallet_id, 10_000_000)
    payee_keys = lnbits_server.create_account("payee")
    host, port = lnbits_server.url.removeprefix("http://").split(":")
    proxy = FaultProxy(host, int(port))
    await proxy.start()
    fast = TransportSettings(
        timeout_s=5.0,
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.02, max_delay_s=0.1),
        rate_limit_per_min=60_000,
        rate_limit_burst=100,
        cache_ttl_s=0.0,
    )
    payer = LNbitsClient(
        proxy.url,
        invoice_key=payer_keys.inkey,
        admin_key=payer_keys.adminkey,
        settings=fast,
        pay_timeout_s=0.5,
        resolve_deadline_s=1.5,
    )
    payer.payments.resolve_poll_s = 0.1
    payee = LNbitsClient(lnbits_server.url, invoice_key=payee_keys.inkey, settings=fast)
    direct = LNbitsClient(lnbits_server.url, invoice_key=payer_keys.inkey, settings=fast)

    outcomes: Counter[str] = Counter()
    double_payments = wrong_outcomes = resent = 0
    try:
        for trial in range(TRIALS_PER_FAULT * len(FAULTS)):
            fault = FAULTS[trial % len(FAULTS)]
            invoice = await payee.payments.create_invoice(1 + trial % 50, memo=f"trial {trial}")
            if fault is Fault.DELAY:
                proxy.set_rule("POST", PAY_PATH, fault, delay_s=1.0)
            elif fault is not Fault.PASS:
                proxy.set_rule("POST", PAY_PATH, fault)
            try:
                await payer.payments.pay(invoice.bolt11)
                reported = "paid"
            except PaymentFailedError:
                reported = "failed"
            except PaymentOutcomeUnknownError:
                reported = "unknown"
            proxy.clear()
            outcomes[f"{fault}:{reported}"] += 1

            if reported == "unknown" and _pays_forwarded(proxy, invoice.bolt11):
                # The request reached LNbits: wait for it to finish before reading the truth.
                await _settle(direct, invoice.payment_hash)
            paid, payer_paid_count = await _truth(direct, payee, invoice.payment_hash)
            double_payments += payer_paid_count > 1
            resent += _pays_forwarded(proxy, invoice.bolt11) > 1
            wrong_outcomes += (reported == "paid" and not paid) or (reported == "failed" and paid)
    finally:
        for client in (payer, payee, direct):
            await client.aclose()
        await proxy.stop()

    trials = sum(outcomes.values())
    summary = {
        "fault_trials": trials,
        "double_payments": double_payments,
        "pay_requests_resent": resent,
        "wrong_outcomes": wrong_outcomes,
        "outcomes": dict(sorted(outcomes.items())),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "no_double_payment.json").write_text(json.dumps(summary, indent=2))
    print(
        f"fault_trials={trials} double_payments={double_payments} "
        f"pay_requests_resent={resent} wrong_outcomes={wrong_outcomes}"
    )
    assert trials >= 200
    assert double_payments == 0
    assert resent == 0
    assert wrong_outcomes == 0
    # Every ambiguous mode where LNbits did pay must end known-paid, not unknown.
    for fault in (Fault.DROP_RESPONSE_AFTER_UPSTREAM, Fault.STATUS_502, Fault.TRUNCATE):
        assert outcomes[f"{fault}:paid"] == TRIALS_PER_FAULT, outcomes


async def test_control_naive_retry_is_caught(lnbits_server: LNbitsServer) -> None:
    """A client that simply retries a failed pay re-sends it: the checks above would see it."""
    payer_keys = lnbits_server.create_account("naive")
    lnbits_server.fund(payer_keys.wallet_id, 10_000)
    payee_keys = lnbits_server.create_account("naive_payee")
    host, port = lnbits_server.url.removeprefix("http://").split(":")
    proxy = FaultProxy(host, int(port))
    await proxy.start()
    try:
        async with LNbitsClient(lnbits_server.url, invoice_key=payee_keys.inkey) as payee:
            invoice = await payee.payments.create_invoice(10)
        proxy.set_rule("POST", PAY_PATH, Fault.DROP_RESPONSE_AFTER_UPSTREAM)
        headers = {"X-Api-Key": payer_keys.adminkey}
        body = {"out": True, "bolt11": invoice.bolt11}
        async with httpx.AsyncClient(base_url=proxy.url) as naive:
            for _ in range(2):  # "it failed, try again"
                try:
                    await naive.post(PAY_PATH, json=body, headers=headers)
                except httpx.HTTPError:
                    continue
        assert _pays_forwarded(proxy, invoice.bolt11) == 2
    finally:
        await proxy.stop()
