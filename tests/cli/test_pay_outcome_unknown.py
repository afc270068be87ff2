"""``lnpilot pay`` when the outcome cannot be known: exit 3, the hash shown, never re-sent.

A real fault-injecting proxy sits between the CLI and the real LNbits. It lets the review
pass, then lets LNbits handle the pay request but drops its answer, and from then on cuts
every status lookup, so the client cannot learn what happened before its deadline.
"""

from __future__ import annotations

import httpx
import pytest

from lnpilot.devtools import Fault, LNbitsServer, ThreadedFaultProxy

from .conftest import Cli, NewWallet, create_invoice, invoice_paid, wallet_env

pytestmark = pytest.mark.lnbits

PAY_PATH = "/api/v1/payments"


def test_outcome_unknown_exits_3_with_the_hash_and_is_not_retried(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    payer, payee = new_wallet(10_000), new_wallet(0)
    invoice = create_invoice(cli, wallet_env(lnbits_server, payee), 1_234, "lost answer")
    host, port = httpx.URL(lnbits_server.url).host, httpx.URL(lnbits_server.url).port
    assert port is not None
    with ThreadedFaultProxy(host, port) as proxy:
        # Newest matching rule wins: one-off passes are laid over the standing faults.
        proxy.set_rule("GET", f"{PAY_PATH}/", Fault.STATUS_502_NO_UPSTREAM, times=None)
        proxy.set_rule("GET", f"{PAY_PATH}/", Fault.PASS, times=2)  # review + pre-pay check
        proxy.set_rule("POST", PAY_PATH, Fault.DROP_RESPONSE_AFTER_UPSTREAM, times=1)
        proxy.set_rule("POST", f"{PAY_PATH}/decode", Fault.PASS, times=1)  # payee lookup
        env = wallet_env(lnbits_server, payer) | {
            "LNPILOT_LNBITS__URL": proxy.url,
            "LNPILOT_LNBITS__RESOLVE_DEADLINE_S": "2",
        }
        result = cli("pay", invoice["bolt11"], "--yes", env=env)
        pay_requests = [
            r for r in proxy.records() if r.method == "POST" and r.path.split("?")[0] == PAY_PATH
        ]

    assert result.exit_code == 3, result.output
    assert invoice["payment_hash"] in result.stderr
    assert "NOT retried" in result.stderr
    assert "Traceback" not in result.output
    # LNbits handled exactly one pay request, and it did pay: nothing was sent twice.
    assert len(pay_requests) == 1
    assert pay_requests[0].upstream_handled
    assert invoice_paid(lnbits_server, payee, invoice["payment_hash"])
    balance = httpx.get(f"{lnbits_server.url}/api/v1/wallet", headers={"X-Api-Key": payer.inkey})
    assert balance.json()["balance"] == 10_000_000 - 1_234_000
