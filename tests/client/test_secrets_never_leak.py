"""Secrets set to known strings never appear in logs, errors or reprs — even at DEBUG."""

from __future__ import annotations

import logging
import socket

import pytest

from lnpilot.lnbits import LNbitsClient, LNbitsError, RetryPolicy, TransportSettings

pytestmark = pytest.mark.lnbits

KNOWN = {
    "invoice_key": "1nv0ice0key0known0string00000001",
    "admin_key": "adm1n0key0known0string0000000002",
    "password": "known-password-string-3",
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJrbm93biI6InRva2VuIn0.a25vd24tc2lnbmF0dXJl",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_no_secret_in_logs_errors_or_reprs(lnbits_server, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    caplog.set_level(logging.DEBUG, logger="lnpilot")  # even if a CLI test set its level
    fast = TransportSettings(retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02))
    seen: list[str] = []
    clients = [
        LNbitsClient(lnbits_server.url, username="lnpilot_admin", settings=fast, **KNOWN),
        LNbitsClient(f"http://127.0.0.1:{_closed_port()}", settings=fast, **KNOWN),
    ]
    for client in clients:
        seen.append(repr(client))
        for call in (
            client.wallet.get(),  # wrong key -> 401/404, or connection refused -> retried
            client.wallet.list(),  # bad bearer -> re-login with the wrong password -> 401
            client.payments.create_invoice(1, memo="x"),
            client.payments.status("00" * 32),
        ):
            with pytest.raises(LNbitsError) as info:
                await call
            seen += [str(info.value), repr(info.value), repr(info.value.detail)]
        await client.aclose()
    retried = sum(s.retries for s in clients[1].transport.stats.values())
    assert retried > 0, "the closed-port client should have retried"
    captured = caplog.text + "\n".join(seen)
    assert "lnbits retry" in caplog.text
    for name, secret in KNOWN.items():
        assert secret not in captured, f"{name} leaked"


async def test_a_real_login_leaks_no_session_token_at_debug(lnbits_server, caplog) -> None:
    """LNbits answers a login with the token in its body and in a ``set-cookie`` header, which
    httpcore logs at DEBUG with every response header: the embedding program's DEBUG logging
    must still never print it."""
    caplog.set_level(logging.DEBUG)  # the root logger: httpx, httpcore, websockets, ours
    for name in ("lnpilot", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)  # even if another test set them higher
    # lnpilot.devtools's own login first (the demo uses it), before any client exists
    harness_token = lnbits_server.login()
    su = lnbits_server.superuser
    client = LNbitsClient(lnbits_server.url, username=su.username, password=su.password)
    try:
        await client.wallet.list()  # bearer: logs in with the right password first
        token = client.transport.credentials.access_token
    finally:
        await client.aclose()
    assert token, "the login should have given a token"
    assert "receive_response_headers.complete" in caplog.text, "httpcore logged no headers"
    assert "set-cookie" in caplog.text.lower(), "the login's answer headers were not logged"
    for record in caplog.records:
        assert token not in record.getMessage(), f"token leaked by {record.name}"
        assert harness_token not in record.getMessage(), f"token leaked by {record.name}"
        assert su.password not in record.getMessage(), f"password leaked by {record.name}"
    assert token not in caplog.text
