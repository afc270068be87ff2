"""Clients on the session's extension-enabled LNbits (`ext_server`, in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from lnpilot.testing import LNbitsServer, WalletKeys
from lnpilot.testing.clients import MakeClient, client_factory

__all__ = ["MakeClient"]

MakeWallet = Callable[..., WalletKeys]


@pytest.fixture
async def ext_client(ext_server: LNbitsServer) -> AsyncIterator[MakeClient]:
    """Clients on the extension server for a wallet's keys; closed after the test."""
    async with client_factory(ext_server.url) as build:
        yield build
