"""Extension administration by the super user on the real LNbits with the real extensions:
deactivate and activate for everyone, disable and enable for oneself, and the answers for
what cannot be done offline (install from a release, a release's details)."""

from __future__ import annotations

import pytest

from lnpilot.devtools import LNbitsServer
from lnpilot.lnbits import InvalidRequestError, LNbitsClient, NotFoundError, PermissionDeniedError

from .conftest import MakeClient

pytestmark = pytest.mark.lnbits


@pytest.fixture
async def admin(ext_server: LNbitsServer, ext_client: MakeClient) -> LNbitsClient:
    su = ext_server.superuser
    return ext_client(username=su.username, password=su.password)


async def _active(client: LNbitsClient, ext_id: str) -> bool:
    return next(e for e in await client.extensions.list_all() if e.id == ext_id).is_active


async def test_deactivate_then_activate_for_everyone(admin: LNbitsClient) -> None:
    assert await _active(admin, "lndhub")
    await admin.extensions.deactivate("lndhub")
    try:
        assert not await _active(admin, "lndhub")
    finally:
        await admin.extensions.activate("lndhub")
    assert await _active(admin, "lndhub")


async def test_disable_then_enable_for_oneself(
    admin: LNbitsClient, ext_server: LNbitsServer, ext_client: MakeClient
) -> None:
    # Disabled for its user, an extension refuses that user's wallet keys on its routes.
    wallet = ext_server.superuser.wallet
    own = ext_client(invoice_key=wallet.inkey, admin_key=wallet.adminkey).usermanager
    await own.list_users()
    await admin.extensions.disable("usermanager")
    try:
        with pytest.raises(PermissionDeniedError):
            await own.list_users()
    finally:
        await admin.extensions.enable("usermanager")
    await own.list_users()
    with pytest.raises(InvalidRequestError, match="doesn't exist"):
        await admin.extensions.disable("no_such_ext")


async def test_what_needs_the_internet_says_so(admin: LNbitsClient) -> None:
    # Offline, LNbits knows no release of any extension (the installed ones came from the
    # recorded archives), so an install from a release and a release's details are refused.
    assert await admin.extensions.releases("lndhub") == []
    with pytest.raises(NotFoundError, match="Release not found"):
        await admin.extensions.install(
            "lndhub", archive="https://example.invalid/lndhub.zip", source_repo="x", version="9.9"
        )
    with pytest.raises((NotFoundError, InvalidRequestError)):
        await admin.extensions.details("lndhub", "https://example.invalid/details.md")
    with pytest.raises(NotFoundError, match="Unknown extension id"):
        await admin.extensions.uninstall("no_such_ext")


async def test_wasm_call_stats(admin: LNbitsClient) -> None:
    stats = await admin.extensions.wasm_stats()
    assert stats.total == stats.completed + stats.failed + stats.running + stats.stopped + (
        stats.timeout
    )
    assert (await admin.extensions.wasm_stats(ext_id="lndhub", hours=1)).total == 0
    with pytest.raises(ValueError, match="hours"):
        await admin.extensions.wasm_stats(hours=0)
