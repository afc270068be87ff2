"""The LNbits harness starts a real server that later integration tests can rely on."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest

from lnpilot.devtools import (
    FakeWalletFunding,
    LNbitsServer,
    LNbitsUnavailable,
    LndRestFunding,
    WalletKeys,
    find_lnbits_python,
)

pytestmark = pytest.mark.lnbits


def test_health_answers(lnbits_server: LNbitsServer) -> None:
    response = httpx.get(f"{lnbits_server.url}/api/v1/health", trust_env=False)
    assert response.status_code == 200
    assert "server_time" in response.json()


def test_superuser_token_lists_its_wallet(lnbits_server: LNbitsServer) -> None:
    response = httpx.get(
        f"{lnbits_server.url}/api/v1/wallets",
        headers=lnbits_server.auth_headers(),
        trust_env=False,
    )
    assert response.status_code == 200
    wallets = response.json()
    assert lnbits_server.superuser.wallet.wallet_id in {w["id"] for w in wallets}
    assert all(w["user"] == lnbits_server.superuser.user_id for w in wallets)


def test_login_gives_a_working_token(lnbits_server: LNbitsServer) -> None:
    token = lnbits_server.login()
    response = httpx.get(
        f"{lnbits_server.url}/api/v1/auth",
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )
    assert response.json()["super_user"] is True


@pytest.mark.parametrize(("name", "sats"), [("alice", 1_000_000), ("bob", 200_000)])
def test_funded_wallets_hold_their_balance(
    lnbits_server: LNbitsServer, funded_wallets: dict[str, WalletKeys], name: str, sats: int
) -> None:
    response = httpx.get(
        f"{lnbits_server.url}/api/v1/wallet",
        headers={"X-Api-Key": funded_wallets[name].inkey},
        trust_env=False,
    )
    assert response.status_code == 200
    assert response.json() == {"name": name, "balance": sats * 1000}


def test_secrets_stay_out_of_repr(lnbits_server: LNbitsServer) -> None:
    su = lnbits_server.superuser
    text = repr(su)
    for secret in (su.password, su.access_token, su.user_id, su.wallet.adminkey, su.wallet.inkey):
        assert secret not in text
    assert "deadbeef" not in repr(LndRestFunding("http://127.0.0.1:1", "deadbeef"))


def test_lnd_rest_funding_env() -> None:
    plain = LndRestFunding("http://127.0.0.1:8080", "0201abcd").env()
    assert plain == {
        "LNBITS_BACKEND_WALLET_CLASS": "LndRestWallet",
        "LND_REST_ENDPOINT": "http://127.0.0.1:8080",
        "LND_REST_MACAROON": "0201abcd",
    }
    tls = LndRestFunding("https://lnd:8080", "0201abcd", cert="/tls.cert").env()
    assert tls["LND_REST_CERT"] == "/tls.cert"
    assert FakeWalletFunding().env() == {"LNBITS_BACKEND_WALLET_CLASS": "FakeWallet"}


def test_missing_venv_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LNPILOT_LNBITS_VENV", raising=False)
    with pytest.raises(LNbitsUnavailable, match="make lnbits"):
        find_lnbits_python(repo_root=tmp_path)


def test_stop_ends_the_process_and_frees_the_port(
    lnbits_server: LNbitsServer, tmp_path: Path
) -> None:
    # A second, short-lived server, since the session one must keep running. Asking for
    # `lnbits_server` makes this test skip or fail like the others when LNbits is missing.
    with LNbitsServer(data_dir=tmp_path) as server:
        pid, port = server.pid, server.port
        assert pid is not None
        assert server.is_running
    assert not server.is_running
    assert not _pid_alive(pid)
    assert not _port_open(port)
    server.stop()  # idempotent


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
