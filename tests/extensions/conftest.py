"""Clients on the session's extension-enabled LNbits (`ext_server`, in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from lnpilot.lnbits import LNbitsClient
from lnpilot.testing import LNbitsServer, WalletKeys

MakeWallet = Callable[..., WalletKeys]
MakeClient = Callable[..., LNbitsClient]


@pytest.fixture
async def ext_client(ext_server: LNbitsServer) -> AsyncIterator[MakeClient]:
    """Clients on the extension server for a wallet's keys; closed after the test."""
    made: list[LNbitsClient] = []

    def build(
        keys: WalletKeys | None = None, *, admin: bool = True, **kwargs: object
    ) -> LNbitsClient:
        if keys is not None:
            kwargs.setdefault("invoice_key", keys.inkey)
            if admin:
                kwargs.setdefault("admin_key", keys.adminkey)
        client = LNbitsClient(ext_server.url, **kwargs)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()
