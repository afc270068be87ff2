"""Running the ``lnpilot`` CLI in-process (typer's CliRunner) with a controlled environment,
and helpers for the tests that run it against the session's real LNbits."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from lnpilot.cli.main import app
from lnpilot.devtools import LNbitsServer, WalletKeys

Cli = Callable[..., Result]
NewWallet = Callable[[int], WalletKeys]

#: Set by the test harness, not lnpilot configuration: kept so LNbits is still found.
_KEEP = {"LNPILOT_LNBITS_VENV"}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """``cli("wallet", "show", env={...}, input="n\\n")`` runs lnpilot in an empty directory
    with no ``LNPILOT_…`` variables but those given, so the developer's own configuration
    (a ./lnpilot.toml, exported keys) cannot leak into a test."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("LNPILOT_") and name.upper() not in _KEEP:
            monkeypatch.delenv(name)
    runner = CliRunner()

    def invoke(
        *args: str, env: Mapping[str, str] | None = None, input: str | None = None
    ) -> Result:
        return runner.invoke(app, list(args), env=dict(env or {}), input=input)

    yield invoke


def wallet_env(server: LNbitsServer, keys: WalletKeys, *, admin: bool = True) -> dict[str, str]:
    """Configuration of one wallet by environment, the way a deployment would inject it."""
    env = {"LNPILOT_LNBITS__URL": server.url, "LNPILOT_LNBITS__INVOICE_KEY": keys.inkey}
    if admin:
        env["LNPILOT_LNBITS__ADMIN_KEY"] = keys.adminkey
    return env


@pytest.fixture
def new_wallet(lnbits_server: LNbitsServer) -> NewWallet:
    """A fresh account funded with ``amount_sat``: tests that check balances own their wallet
    (the session's shared wallets are spent by other tests)."""

    def create(amount_sat: int) -> WalletKeys:
        keys = lnbits_server.create_account("cli")
        if amount_sat:
            lnbits_server.fund(keys.wallet_id, amount_sat)
        return keys

    return create


def json_of(result: Result) -> Any:
    """The JSON a successful command printed on stdout."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def create_invoice(cli: Cli, env: Mapping[str, str], amount_sat: int, memo: str) -> dict[str, Any]:
    args = ["invoice", "create", "--amount-sat", str(amount_sat), "--memo", memo, "--json"]
    created: dict[str, Any] = json_of(cli(*args, env=env))
    return created


def invoice_paid(server: LNbitsServer, keys: WalletKeys, payment_hash: str) -> bool:
    """LNbits' own answer, not the CLI's, to "was this invoice paid?"."""
    response = httpx.get(
        f"{server.url}/api/v1/payments/{payment_hash}", headers={"X-Api-Key": keys.inkey}
    )
    response.raise_for_status()
    return bool(response.json()["paid"])
