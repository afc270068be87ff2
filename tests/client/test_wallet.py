"""Wallet resource against a real LNbits."""

from __future__ import annotations

import pytest

from lnpilot.lnbits import AuthenticationError, MissingCredentialError, NotFoundError
from lnpilot.lnbits.errors import PermissionDeniedError

pytestmark = pytest.mark.lnbits


async def test_get_reports_balance_in_msat(make_client, fresh_wallet) -> None:
    keys = fresh_wallet(1234)
    wallet = await make_client(keys, admin=False).wallet.get()
    assert wallet.balance_msat == 1_234_000
    assert wallet.balance_sat == 1234
    assert wallet.id is None  # LNbits only reveals the id to the admin key


async def test_get_with_admin_key_only_reveals_id(make_client, fresh_wallet) -> None:
    keys = fresh_wallet()
    client = make_client(admin_key=keys.adminkey)
    assert (await client.wallet.get()).id == keys.wallet_id


async def test_invoice_key_is_preferred_for_reads(make_client, fresh_wallet) -> None:
    keys = fresh_wallet()
    client = make_client(keys)  # both keys configured
    assert (await client.wallet.get()).id is None  # sent with the invoice key


async def test_create_list_rename_delete(superuser) -> None:
    created = await superuser.wallet.create("savings")
    assert created.name == "savings"
    assert created.id in {w.id for w in await superuser.wallet.list()}
    page = await superuser.wallet.list_paginated(limit=50)
    assert created.id in {w.id for w in page.data}

    await superuser.wallet.delete(created.id)
    assert created.id not in {w.id for w in await superuser.wallet.list()}


async def test_rename_with_admin_key(make_client, fresh_wallet) -> None:
    keys = fresh_wallet()
    client = make_client(keys)
    await client.wallet.rename("renamed")
    assert (await client.wallet.get(bypass_cache=True)).name == "renamed"


async def test_update_patches_fields(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet())
    await client.wallet.update(name="patched")
    assert (await client.wallet.get(bypass_cache=True)).name == "patched"


async def test_reset_keys_invalidates_old_ones(superuser, make_client) -> None:
    created = await superuser.wallet.create("rotate")
    fresh = await superuser.wallet.reset_keys(created.id)
    assert fresh.inkey != created.inkey
    with pytest.raises((AuthenticationError, PermissionDeniedError, NotFoundError)):
        await make_client(invoice_key=created.inkey).wallet.get()
    assert (await make_client(invoice_key=fresh.inkey).wallet.get()).name == "rotate"


async def test_missing_credential_fails_before_sending(make_client) -> None:
    client = make_client()
    with pytest.raises(MissingCredentialError, match="invoice key"):
        await client.wallet.get()
    with pytest.raises(MissingCredentialError, match="bearer"):
        await client.wallet.list()
    assert sum(s.requests for s in client.transport.stats.values()) == 0


async def test_wrong_key_is_an_authentication_error(make_client) -> None:
    client = make_client(invoice_key="0" * 32)
    with pytest.raises((AuthenticationError, NotFoundError)) as info:
        await client.wallet.get()
    assert "0" * 32 not in str(info.value)


async def test_share_invite_to_unknown_user_is_a_clear_error(make_client, fresh_wallet) -> None:
    client = make_client(fresh_wallet())
    with pytest.raises(Exception) as info:
        await client.wallet.share_invite("nobody_here", ["view-payments"])
    assert info.value.__class__.__module__ == "lnpilot.lnbits.errors"
