"""``lnpilot pay LNURL`` and ``lnpilot lnurl scan`` against a real LNbits and LNURL service.

The payee's balance, read from LNbits directly, is the ground truth for "paid once".
"""

from __future__ import annotations

import httpx
import pytest

from lnpilot.devtools import LNbitsServer, WalletKeys
from lnpilot.devtools.lnurl_service import LnurlService
from lnpilot.lnbits.resources.lnurl import encode_lnurl

from .conftest import Cli, json_of, wallet_env

pytestmark = pytest.mark.lnbits


@pytest.fixture
def payer(lnurl_lnbits: LNbitsServer) -> WalletKeys:
    keys = lnurl_lnbits.create_account("cli-lnurl")
    lnurl_lnbits.fund(keys.wallet_id, 50_000)
    return keys


def _balance_msat(server: LNbitsServer, keys: WalletKeys) -> int:
    response = httpx.get(f"{server.url}/api/v1/wallet", headers={"X-Api-Key": keys.inkey})
    response.raise_for_status()
    return int(response.json()["balance"])


def test_scan_shows_the_bounds_in_json(
    cli: Cli, lnurl_lnbits: LNbitsServer, lnurl_service: LnurlService, payer: WalletKeys
) -> None:
    env = wallet_env(lnurl_lnbits, payer, admin=False)
    data = json_of(cli("lnurl", "scan", encode_lnurl(lnurl_service.pay_url), "--json", env=env))
    assert data["kind"] == "pay"
    assert (data["min_sendable_msat"], data["max_sendable_msat"]) == (1_000, 100_000_000)
    assert data["description"] == lnurl_service.description


def test_pay_lnurl_with_yes_pays_once(
    cli: Cli,
    lnurl_lnbits: LNbitsServer,
    lnurl_service: LnurlService,
    lnurl_payee: WalletKeys,
    payer: WalletKeys,
) -> None:
    before = _balance_msat(lnurl_lnbits, lnurl_payee)
    env = wallet_env(lnurl_lnbits, payer)
    code = encode_lnurl(lnurl_service.pay_url)
    paid = json_of(
        cli("pay", code, "--amount-sat", "42", "--comment", "hi", "-y", "--json", env=env)
    )
    assert paid["status"] == "success"
    assert _balance_msat(lnurl_lnbits, lnurl_payee) - before == 42_000
    assert [q for p, q in lnurl_service.calls if p == "/pay/cb"] == [
        {"amount": "42000", "comment": "hi"}
    ]


def test_pay_lnurl_declined_pays_nothing(
    cli: Cli, lnurl_lnbits: LNbitsServer, lnurl_service: LnurlService, payer: WalletKeys
) -> None:
    env = wallet_env(lnurl_lnbits, payer)
    result = cli(
        "pay", encode_lnurl(lnurl_service.pay_url), "--amount-sat", "5", env=env, input="n\n"
    )
    assert result.exit_code == 1, result.output
    assert "accepts" in result.stdout and "Not paid." in result.stderr
    assert not [p for p, _ in lnurl_service.calls if p == "/pay/cb"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["pay", "{code}"], "needs --amount-sat"),
        (["pay", "{code}", "--amount-sat", "0"], "needs --amount-sat"),
        (
            ["pay", "{code}", "--amount-sat", "200000", "-y"],
            "outside what this service accepts: 1000 to 100000000 msat",
        ),
        (["pay", "bob@localhost", "--amount-sat", "1"], "not a Lightning address"),
        (["pay", "lnurl1notbech32", "--amount-sat", "1"], "bech32"),
        (["lnurl", "scan", "hello"], "not an LNURL"),
    ],
)
def test_bad_input_exits_2_naming_what_is_allowed(
    cli: Cli,
    lnurl_lnbits: LNbitsServer,
    lnurl_service: LnurlService,
    payer: WalletKeys,
    args: list[str],
    words: str,
) -> None:
    code = encode_lnurl(lnurl_service.pay_url)
    argv = [a.replace("{code}", code) for a in args]
    result = cli(*argv, env=wallet_env(lnurl_lnbits, payer))
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert not [p for p, _ in lnurl_service.calls if p == "/pay/cb"]


def test_an_auth_code_is_not_paid(
    cli: Cli, lnurl_lnbits: LNbitsServer, lnurl_service: LnurlService, payer: WalletKeys
) -> None:
    code = encode_lnurl(lnurl_service.auth_url())
    result = cli("pay", code, "--amount-sat", "1", "-y", env=wallet_env(lnurl_lnbits, payer))
    assert result.exit_code == 2, result.output
    assert "LNURL-auth, not an LNURL-pay" in result.stderr


def test_outcome_unknown_exits_3_and_is_not_retried(
    cli: Cli, lnurl_lnbits: LNbitsServer, lnurl_payee: WalletKeys, payer: WalletKeys
) -> None:
    """LNbits 1.6.2 answers a bare 500 when paying its own address on an IP host (see
    docs/client.md); a bare 500 may come mid-payment, so the CLI says "unknown", exits 3,
    and sends nothing again. LNbits' balances are the ground truth: nothing moved."""
    patched = httpx.patch(
        f"{lnurl_lnbits.url}/api/v1/wallet",
        headers={"X-Api-Key": lnurl_payee.adminkey},
        json={"lightning_address": "lnpilot-payee"},
    )
    patched.raise_for_status()
    before = _balance_msat(lnurl_lnbits, payer), _balance_msat(lnurl_lnbits, lnurl_payee)
    code = encode_lnurl(f"{lnurl_lnbits.url}/.well-known/lnurlp/lnpilot-payee")
    env = wallet_env(lnurl_lnbits, payer) | {"LNPILOT_LNBITS__RESOLVE_DEADLINE_S": "1"}
    result = cli("pay", code, "--amount-sat", "3", "-y", env=env)
    assert result.exit_code == 3, result.output
    assert "NOT retried" in result.stderr and "Traceback" not in result.output
    assert (_balance_msat(lnurl_lnbits, payer), _balance_msat(lnurl_lnbits, lnurl_payee)) == before
