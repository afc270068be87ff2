"""Shared fixtures. Add new fixtures in the section they belong to, or open a new section."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lnpilot.testing import (
    LNbitsServer,
    WalletKeys,
    lnbits_for_tests,
)

# --- real LNbits (one server per test session) -----------------------------------------------


@pytest.fixture(scope="session")
def lnbits_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LNbitsServer]:
    """A real LNbits 1.6.2 on FakeWallet with a fresh data dir, shared by the whole session.

    Without `make lnbits` the tests that use it are skipped, except on CI (`CI=true`), where a
    skip would hide that nothing was tested: there it fails. An installed LNbits that does not
    start always fails.
    """
    with lnbits_for_tests(LNbitsServer(data_dir=tmp_path_factory.mktemp("lnbits"))) as server:
        yield server


@pytest.fixture(scope="session")
def funded_wallets(lnbits_server: LNbitsServer) -> dict[str, WalletKeys]:
    """Two accounts on the session server: alice with 1_000_000 sat, bob with 200_000 sat.

    Shared by the session: tests that spend must not assume exact balances; make a fresh
    account with `lnbits_server.create_account` when they need them.
    """
    return lnbits_server.create_funded_accounts({"alice": 1_000_000, "bob": 200_000})
