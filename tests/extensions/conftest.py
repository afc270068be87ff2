"""One real LNbits with the real LNDHub, UserManager and Boltz extensions, per test session.

The extensions come from the shared folder's release archives (the ones the contracts were
recorded against). Without that folder the tests here skip, saying so; on CI (`CI=true`)
they fail instead, because a skipped suite would pass while testing nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from lnpilot.lnbits import LNbitsClient
from lnpilot.testing import LNbitsServer, WalletKeys, lnbits_for_tests, lnbits_required
from lnpilot.testing.boltz_backend import BoltzBackend
from lnpilot.testing.lnbits_server import (
    LNbitsUnavailable,
    find_extension_archives,
    shared_dir,
)

MakeWallet = Callable[..., WalletKeys]
MakeClient = Callable[..., LNbitsClient]


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
def ext_wallet(ext_server: LNbitsServer) -> MakeWallet:
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


def point_boltz_at(server: LNbitsServer, url: str) -> None:
    """Set the Boltz extension's global settings to a backend on regtest (superuser); the GET
    first creates the row that the PUT updates."""
    httpx.get(
        f"{server.url}/boltz/api/v1/settings", headers=server.auth_headers(), trust_env=False
    ).raise_for_status()
    response = httpx.put(
        f"{server.url}/boltz/api/v1/settings",
        json={
            "boltz_url": url,
            "boltz_network": "regtest",
            "boltz_network_liquid": "elementsregtest",
        },
        headers=server.auth_headers(),
        trust_env=False,
    )
    response.raise_for_status()
