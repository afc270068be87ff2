"""Clients for the session's real LNbits: one per wallet role, plus the superuser."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from lnpilot.devtools import LNbitsServer, WalletKeys
from lnpilot.devtools.clients import MakeClient, client_factory
from lnpilot.lnbits import LNbitsClient

__all__ = ["MakeClient"]


@pytest.fixture
async def make_client(lnbits_server: LNbitsServer) -> AsyncIterator[MakeClient]:
    """Build clients on the session server; all are closed at the end of the test."""
    async with client_factory(lnbits_server.url) as build:
        yield build


@pytest.fixture
def fresh_wallet(lnbits_server: LNbitsServer) -> Callable[[int], WalletKeys]:
    """A new account funded with ``amount_sat``: tests that check balances own their wallet."""

    def create(amount_sat: int = 0) -> WalletKeys:
        keys = lnbits_server.create_account("t")
        if amount_sat:
            lnbits_server.fund(keys.wallet_id, amount_sat)
        return keys

    return create


@pytest.fixture
async def superuser(lnbits_server: LNbitsServer, make_client: MakeClient) -> LNbitsClient:
    """A client logged in as the superuser by username and password."""
    su = lnbits_server.superuser
    return make_client(username=su.username, password=su.password)
