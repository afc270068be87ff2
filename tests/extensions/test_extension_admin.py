"""Extension administration by the super user on the real LNbits with the real extensions:
deactivate and activate for everyone, disable and enable for oneself, and the answers for
what cannot be done offline (install from a release, a release's details)."""

from __future__ import annotations

import uuid

import pytest

from lnpilot.devtools import LNbitsServer
from lnpilot.lnbits import (
    InvalidRequestError,
    LNbitsClient,
    LNbitsError,
    NotFoundError,
    PermissionDeniedError,
)

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


async def test_a_priced_extension_is_enabled_once_its_invoice_is_paid(
    admin: LNbitsClient, ext_server: LNbitsServer, ext_client: MakeClient
) -> None:
    # The operator charges 100 sat, paid into their own wallet, to enable UserManager.
    shop_wallet = ext_server.superuser.wallet
    before_msat = (await ext_client(invoice_key=shop_wallet.inkey).wallet.get()).balance_msat
    name = f"p{uuid.uuid4().hex[:8]}"
    user_id = await admin.users.create(username=name, password="payer-pass-1")
    wallet = (await admin.users.wallets(user_id))[0]
    await admin.users.top_up(wallet.id, 1_000)
    user = ext_client(username=name, password="payer-pass-1", admin_key=wallet.adminkey)
    with pytest.raises(ValueError, match="amount_sat"):
        await admin.extensions.set_price(
            "usermanager", amount_sat=0, wallet_id=shop_wallet.wallet_id
        )
    await admin.extensions.set_price("usermanager", amount_sat=100, wallet_id=shop_wallet.wallet_id)
    try:
        with pytest.raises(LNbitsError) as unpaid:
            await user.extensions.enable("usermanager")
        assert unpaid.value.status == 402 and "requires payment" in str(unpaid.value)
        with pytest.raises(InvalidRequestError, match="less than required 100"):
            await user.extensions.enable_invoice("usermanager", 99)
        invoice = await user.extensions.enable_invoice("usermanager", 100)
        paid = await user.payments.pay(invoice.payment_request)
        assert paid.payment_hash == invoice.payment_hash
        await user.extensions.enable("usermanager")
        assert "usermanager" in {e.code for e in await user.extensions.list()}
        after_msat = (await ext_client(invoice_key=shop_wallet.inkey).wallet.get()).balance_msat
        assert after_msat - before_msat == 100_000
    finally:
        await admin.extensions.set_price(
            "usermanager", amount_sat=0, wallet_id=shop_wallet.wallet_id, required=False
        )
    # Free again: another user enables it without paying.
    other = f"q{uuid.uuid4().hex[:8]}"
    await admin.users.create(username=other, password="other-pass-1")
    await ext_client(username=other, password="other-pass-1").extensions.enable("usermanager")


async def test_wasm_call_history(admin: LNbitsClient) -> None:
    # None of the three is a WASM extension: no call was ever recorded for them.
    assert await admin.extensions.wasm_invocations(ext_id="lndhub", status="failed") == []
    with pytest.raises(ValueError, match="limit"):
        await admin.extensions.wasm_invocations(limit=0)
