"""Clients on the session's extension-enabled LNbits (`ext_server`, in tests/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from lnpilot.devtools import LNbitsServer, WalletKeys, lnbits_required
from lnpilot.devtools.clients import MakeClient, client_factory
from lnpilot.devtools.lnbits_server import shared_dir

__all__ = ["MakeClient"]

MakeWallet = Callable[..., WalletKeys]


@pytest.fixture
async def ext_client(ext_server: LNbitsServer) -> AsyncIterator[MakeClient]:
    """Clients on the extension server for a wallet's keys; closed after the test."""
    async with client_factory(ext_server.url) as build:
        yield build


def recorded_contract(ext_id: str) -> dict[str, Any]:
    """A recorded contract of ../shared/contracts; skipped when absent, failed on CI."""
    path: Path = shared_dir() / "contracts" / f"{ext_id}.json"
    if not path.is_file():
        if lnbits_required():
            pytest.fail(f"CI=true and the recorded contract {path} is missing")
        pytest.skip(f"recorded contract {path} not found (the shared folder is absent)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
