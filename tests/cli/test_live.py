"""The CLI end to end against the session's real LNbits (FakeWallet).

Each test that checks balances makes its own accounts: the session's shared wallets are
spent by other tests. The truth is read back through the CLI itself and, where the CLI's
word is what is being tested, from LNbits directly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lnpilot.devtools import LNbitsServer

from .conftest import Cli, NewWallet, create_invoice, invoice_paid, json_of, wallet_env

pytestmark = pytest.mark.lnbits


def test_wallet_show(cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet) -> None:
    keys = new_wallet(12_345)
    shown = json_of(cli("wallet", "show", "--json", env=wallet_env(lnbits_server, keys)))
    assert shown["name"] == "cli"
    assert shown["balance_msat"] == 12_345_000
    table = cli("wallet", "show", env=wallet_env(lnbits_server, keys, admin=False))
    assert table.exit_code == 0
    assert "12,345 sat" in table.stdout


def test_invoice_create_then_decode(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    env = wallet_env(lnbits_server, new_wallet(0), admin=False)
    created = json_of(
        cli(
            "invoice", "create", "--amount-sat", "321", "--memo", "tea", "--expiry-s", "600",
            "--json", env=env,
        )
    )  # fmt: skip
    assert created["amount_msat"] == 321_000
    assert created["status"] == "pending"
    assert "preimage" not in created
    decoded = json_of(cli("decode", created["bolt11"], "--json"))
    assert decoded["payment_hash"] == created["payment_hash"]
    assert decoded["amount_msat"] == 321_000
    assert decoded["description"] == "tea"
    assert decoded["expiry_s"] == 600


def test_invoice_create_with_an_amount_lnbits_refuses_is_bad_input(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    """Exit 2 (fix the command line), not 1 (an operation failed): nothing was attempted."""
    env = wallet_env(lnbits_server, new_wallet(0), admin=False)
    for amount_sat in ("2100000000000001", str(2**63)):
        refused = cli("invoice", "create", "--amount-sat", amount_sat, env=env)
        assert refused.exit_code == 2, (amount_sat, refused.output)
        assert "PaymentFailed" not in refused.stderr


def test_pay_yes_pays_once_and_paying_again_pays_nothing(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    payer, payee = new_wallet(50_000), new_wallet(0)
    payer_env, payee_env = wallet_env(lnbits_server, payer), wallet_env(lnbits_server, payee)
    invoice = create_invoice(cli, payee_env, 1_500, "cli pay")

    paid = cli("pay", invoice["bolt11"], "--yes", "--json", env=payer_env)
    payment = json_of(paid)
    assert payment["status"] == "success"
    assert payment["amount_msat"] == -1_500_000
    assert payment["payment_hash"] == invoice["payment_hash"]
    assert "1,500 sat" in paid.stderr  # the review, kept off stdout with --json
    assert invoice_paid(lnbits_server, payee, invoice["payment_hash"])

    again = cli("pay", invoice["bolt11"], env=payer_env)  # no --yes: must not even ask
    assert again.exit_code == 0, again.output
    assert "Already paid by this wallet" in again.stderr
    assert "Pay this invoice?" not in again.output
    balance = json_of(cli("wallet", "show", "--json", env=payer_env))["balance_msat"]
    assert balance == 50_000_000 - 1_500_000
    assert json_of(cli("wallet", "show", "--json", env=payee_env))["balance_msat"] == 1_500_000


def test_pay_answered_no_does_not_pay(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    payer, payee = new_wallet(10_000), new_wallet(0)
    invoice = create_invoice(cli, wallet_env(lnbits_server, payee), 2_000, "declined")

    result = cli("pay", invoice["bolt11"], env=wallet_env(lnbits_server, payer), input="n\n")
    assert result.exit_code == 1
    assert "2,000 sat" in result.stdout
    assert "declined" in result.stdout
    assert "Pay this invoice? [y/N]" in result.stdout
    assert "Not paid." in result.stderr
    assert not invoice_paid(lnbits_server, payee, invoice["payment_hash"])
    payer_env = wallet_env(lnbits_server, payer)
    assert json_of(cli("wallet", "show", "--json", env=payer_env))["balance_msat"] == 10_000_000

    # No terminal to answer (end of input) counts as "no" too.
    result = cli("pay", invoice["bolt11"], env=payer_env, input="")
    assert result.exit_code == 1
    assert not invoice_paid(lnbits_server, payee, invoice["payment_hash"])


def test_pay_needs_the_admin_key_and_says_so_before_asking(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    payer, payee = new_wallet(10_000), new_wallet(0)
    invoice = create_invoice(cli, wallet_env(lnbits_server, payee), 100, "no key")
    result = cli(
        "pay", invoice["bolt11"], "--yes", env=wallet_env(lnbits_server, payer, admin=False)
    )
    assert result.exit_code == 2
    assert "paying needs the admin key" in result.stderr
    assert "LNPILOT_LNBITS__ADMIN_KEY" in result.stderr
    assert not invoice_paid(lnbits_server, payee, invoice["payment_hash"])


def test_pay_more_than_the_balance_fails_with_exit_1(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    payer, payee = new_wallet(100), new_wallet(0)
    invoice = create_invoice(cli, wallet_env(lnbits_server, payee), 5_000, "too much")
    result = cli("pay", invoice["bolt11"], "--yes", env=wallet_env(lnbits_server, payer))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(("InsufficientBalanceError: ", "PaymentFailedError: "))
    assert not invoice_paid(lnbits_server, payee, invoice["payment_hash"])


def test_payments_list_json_has_msat_fields_and_pages(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    payer, payee = new_wallet(20_000), new_wallet(0)
    payer_env = wallet_env(lnbits_server, payer)
    for amount_sat in (100, 200, 300):
        invoice = create_invoice(cli, wallet_env(lnbits_server, payee), amount_sat, "list")
        assert cli("pay", invoice["bolt11"], "--yes", env=payer_env).exit_code == 0

    listed = json_of(cli("payments", "list", "--json", env=payer_env))
    assert listed["total"] == 4  # the funding top-up and three payments
    amounts = [p["amount_msat"] for p in listed["payments"]]
    assert amounts == [-300_000, -200_000, -100_000, 20_000_000]  # newest first
    assert all(isinstance(p["fee_msat"], int) for p in listed["payments"])
    assert all("preimage" not in p for p in listed["payments"])

    page = json_of(
        cli("payments", "list", "--limit", "2", "--offset", "1", "--json", env=payer_env)
    )
    assert [p["amount_msat"] for p in page["payments"]] == [-200_000, -100_000]

    table = cli("payments", "list", env=payer_env)
    assert table.exit_code == 0
    assert "Payments 1-4 of 4" in table.stdout
    assert "-300" in table.stdout


def test_client_errors_are_one_red_line_without_secrets(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    wrong_key = "0123456789abcdef0123456789abcdef"
    env = {"LNPILOT_LNBITS__URL": lnbits_server.url, "LNPILOT_LNBITS__INVOICE_KEY": wrong_key}
    result = cli("wallet", "show", env=env)
    assert result.exit_code == 1
    assert result.stderr == "NotFoundError: GET /api/v1/wallet -> 404: Wallet not found.\n"
    assert wrong_key not in result.output
    assert isinstance(result.exception, SystemExit)  # handled: no traceback

    # The invoice key configured where the admin key belongs: a configuration error.
    payer, payee = new_wallet(1_000), new_wallet(0)
    invoice = create_invoice(cli, wallet_env(lnbits_server, payee), 10, "wrong key")
    env = {"LNPILOT_LNBITS__URL": lnbits_server.url, "LNPILOT_LNBITS__ADMIN_KEY": payer.inkey}
    result = cli("pay", invoice["bolt11"], "--yes", env=env)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("PermissionDeniedError: POST /api/v1/payments -> 403")
    assert payer.inkey not in result.output
    assert "Traceback" not in result.output


def test_unreachable_lnbits_fails_with_exit_1(cli: Cli, new_wallet: NewWallet) -> None:
    env = {
        "LNPILOT_LNBITS__URL": "http://127.0.0.1:9",  # discard port: nothing listens
        "LNPILOT_LNBITS__INVOICE_KEY": "0123456789abcdef0123456789abcdef",
        "LNPILOT_LNBITS__TIMEOUT_S": "2",
    }
    result = cli("payments", "list", env=env)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("TransportError: ")


def test_watch_prints_live_payments_and_stops_on_ctrl_c(
    cli: Cli, lnbits_server: LNbitsServer, new_wallet: NewWallet, tmp_path: Path
) -> None:
    payer, payee = new_wallet(10_000), new_wallet(0)
    payee_env = wallet_env(lnbits_server, payee, admin=False)
    lnpilot = Path(sys.executable).with_name("lnpilot")
    watcher = subprocess.Popen(
        [str(lnpilot), "watch", "--json"],
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", **payee_env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(30, watcher.kill)  # a readline below must not hang the suite
    watchdog.start()
    try:
        assert watcher.stderr is not None and watcher.stdout is not None
        # Printed once the socket is open: what is paid from now on must be seen.
        assert "Watching wallet 'cli'" in watcher.stderr.readline()
        invoice = create_invoice(cli, wallet_env(lnbits_server, payee), 777, "watched")
        assert (
            cli("pay", invoice["bolt11"], "-y", env=wallet_env(lnbits_server, payer)).exit_code == 0
        )
        update = json.loads(watcher.stdout.readline())
        while update["payment"]["status"] != "success":  # a pending line may come first
            update = json.loads(watcher.stdout.readline())
        assert update["payment"]["payment_hash"] == invoice["payment_hash"]
        assert update["payment"]["amount_msat"] == 777_000
        assert update["wallet_balance_sat"] == 777
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=10) == 0
        assert "Stopped." in watcher.stderr.read()
    finally:
        watchdog.cancel()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
