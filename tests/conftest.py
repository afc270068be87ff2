"""Shared fixtures. Add new fixtures in the section they belong to, or open a new section."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lnpilot.base.http import add_answer_observer
from lnpilot.devtools import (
    LNbitsServer,
    WalletKeys,
    lnbits_required,
)
from lnpilot.devtools.boltz_backend import BoltzBackend, point_boltz_at
from lnpilot.devtools.lnbits_server import (
    LNbitsUnavailable,
    find_extension_archives,
    shared_dir,
)
from lnpilot.devtools.lnurl_service import LNBITS_ENV, LnurlService
from real_lnbits import lnbits_for_tests

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


# --- real LNbits with the real LNDHub, UserManager and Boltz extensions (one per session) -----
#
# The extensions come from the shared folder's release archives (the ones the contracts were
# recorded against). Without that folder the tests using them skip, saying so; on CI
# (`CI=true`) they fail instead, because a skipped suite would pass while testing nothing.


@pytest.fixture(scope="session")
def ext_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LNbitsServer]:
    """LNbits 1.6.2 (FakeWallet) with the three extensions installed, active, enabled for
    the superuser. Separate from the session's plain LNbits so that one stays as cheap."""
    try:
        archives = find_extension_archives()
    except LNbitsUnavailable as exc:
        if lnbits_required():
            pytest.fail(f"CI=true and the real extensions are missing: {exc}")
        pytest.skip(f"real LNbits extensions not available: {exc}")
    server = LNbitsServer(data_dir=tmp_path_factory.mktemp("lnbits-ext"), extensions=archives)
    with lnbits_for_tests(server) as started:
        yield started


@pytest.fixture
def ext_wallet(ext_server: LNbitsServer) -> Callable[..., WalletKeys]:
    """A new account funded with `amount_sat`, with the named extensions enabled."""

    def create(
        amount_sat: int = 0, *, enable: tuple[str, ...] = ("lndhub", "usermanager", "boltz")
    ) -> WalletKeys:
        keys = ext_server.create_account("ext")
        if amount_sat:
            ext_server.fund(keys.wallet_id, amount_sat)
        if enable:
            ext_server.set_user_extensions(keys.user_id, enable)
        return keys

    return create


@pytest.fixture(scope="session")
def boltz_backend(ext_server: LNbitsServer) -> Iterator[BoltzBackend]:
    """The stand-in Boltz backend (the only double), with a funded house wallet, and the
    Boltz extension's settings pointed at it (settings are global to the LNbits)."""
    house = ext_server.create_account("boltz-house")
    ext_server.fund(house.wallet_id, 10_000_000)
    backend = BoltzBackend(
        recorded_calls=shared_dir() / "contracts" / "boltz_backend_calls.json",
        lnbits_url=ext_server.url,
        house_inkey=house.inkey,
        house_adminkey=house.adminkey,
    )
    backend.start()
    try:
        point_boltz_at(ext_server, backend.url)
        yield backend
    finally:
        backend.stop()


# --- real LNbits that may fetch LNURLs from 127.0.0.1, and a real LNURL service -------------
#
# LNbits refuses LNURLs over plain HTTP and on private addresses (rightly: SSRF); this one is
# told to allow 127.0.0.1 so it can fetch the test's LNURL service. Separate from the session's
# plain LNbits, which keeps LNbits' defaults.


@pytest.fixture(scope="session")
def lnurl_lnbits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LNbitsServer]:
    server = LNbitsServer(data_dir=tmp_path_factory.mktemp("lnbits-lnurl"), extra_env=LNBITS_ENV)
    with lnbits_for_tests(server) as started:
        yield started


@pytest.fixture(scope="session")
def lnurl_payee(lnurl_lnbits: LNbitsServer) -> WalletKeys:
    """The wallet the LNURL service's invoices pay into (its balance is the ground truth)."""
    return lnurl_lnbits.create_account("lnurl-payee")


@pytest.fixture
def lnurl_service(lnurl_lnbits: LNbitsServer, lnurl_payee: WalletKeys) -> Iterator[LnurlService]:
    """A fresh LNURL-pay/auth service per test, so its recorded calls are the test's own."""
    service = LnurlService(lnbits_url=lnurl_lnbits.url, payee_inkey=lnurl_payee.inkey)
    service.start()
    try:
        yield service
    finally:
        service.stop()


#: Every operation that got an HTTP answer in this session, by ``"METHOD /path/template"``,
#: with the statuses seen: what ``make api-coverage`` counts as exercised.
ANSWERED: dict[str, set[int]] = {}


def pytest_configure(config: pytest.Config) -> None:
    """With ``LNPILOT_API_EXERCISED=FILE``, watch every answer LNbits gives the clients."""
    if os.environ.get("LNPILOT_API_EXERCISED", "").strip():
        add_answer_observer(_record_answer)


def _record_answer(server: str, op: str, status: int) -> None:
    if server == "lnbits":
        ANSWERED.setdefault(op, set()).add(status)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With ``LNPILOT_API_EXERCISED=FILE``, add the LNbits operations this session's clients
    got an answer for (and its statuses) to FILE: what ``make api-coverage`` counts as
    exercised. Runs accumulate, so a suite run in parts still counts whole."""
    target = os.environ.get("LNPILOT_API_EXERCISED", "").strip()
    if not target:
        return
    path = Path(target)
    seen: dict[str, set[int]] = {}
    if path.is_file():
        seen = {op: set(codes) for op, codes in json.loads(path.read_text()).items()}
    for op, codes in ANSWERED.items():
        seen.setdefault(op, set()).update(codes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({op: sorted(codes) for op, codes in sorted(seen.items())}, indent=1))
