"""Users (admin), node (501 on FakeWallet), extensions, core and auth against a real LNbits."""

from __future__ import annotations

import pytest

from lnpilot.lnbits import (
    AuthenticationError,
    LNbitsClient,
    NotFoundError,
    UnsupportedByBackendError,
)
from lnpilot.lnbits.models import ChannelPoint

pytestmark = pytest.mark.lnbits


async def test_user_lifecycle(superuser, make_client) -> None:
    user_id = await superuser.users.create(username="carol_t", password="carol-pass-1")
    # LNbits 1.6.2 answers 500 to ``search`` on SQLite (ambiguous column): list, then find.
    listed = await superuser.users.list(limit=500)
    assert user_id in {a.id for a in listed.data}
    user = await superuser.users.get(user_id)
    assert user.username == "carol_t" and len(user.wallets) == 1

    await superuser.users.update(user_id, username="carol_t2", extensions=[])
    assert (await superuser.users.get(user_id)).username == "carol_t2"

    extra = await superuser.users.create_wallet(user_id, "second")
    assert {w.id for w in await superuser.users.wallets(user_id)} >= {extra.id}

    await superuser.users.top_up(extra.id, 321)
    assert (await make_client(invoice_key=extra.inkey).wallet.get()).balance_msat == 321_000

    await superuser.users.set_lightning_address(user_id, extra.id, "carolshop")
    await superuser.users.delete_wallet(user_id, extra.id)
    await superuser.users.undelete_wallet(user_id, extra.id)
    await superuser.users.toggle_admin(user_id)
    assert (await superuser.users.get(user_id)).admin
    await superuser.users.toggle_admin(user_id)
    await superuser.users.toggle_activated(user_id)
    assert not (await superuser.users.get(user_id)).activated
    await superuser.users.toggle_activated(user_id)
    assert (await superuser.users.reset_password_key(user_id)).startswith("reset_key_")
    await superuser.users.delete_all_wallets(user_id)
    await superuser.users.delete(user_id)
    with pytest.raises(NotFoundError):
        await superuser.users.get(user_id)


async def test_top_up_rejects_zero_before_sending(superuser) -> None:
    with pytest.raises(ValueError, match="amount_sat"):
        await superuser.users.top_up("w", 0)


async def test_node_api_on_fakewallet_is_a_typed_unsupported_error(superuser) -> None:
    calls = [
        superuser.node.info(),
        superuser.node.channels(),
        superuser.node.channel("1x1x1"),
        superuser.node.peers(),
        superuser.node.set_fees("1x1x1", fee_ppm=100),
        superuser.node.open_channel("02" + "11" * 32, 100_000),
        superuser.node.close_channel(
            "1x1x1", point=ChannelPoint(funding_txid="aa" * 32, output_index=0)
        ),
        superuser.node.connect_peer("02" + "11" * 32 + "@127.0.0.1:9735"),
        superuser.node.disconnect_peer("02" + "11" * 32),
        superuser.node.payments(),
        superuser.node.invoices(),
        superuser.node.ok(),
        superuser.node.phoenixd_status(),
    ]
    for call in calls:
        with pytest.raises(UnsupportedByBackendError) as info:
            await call
        assert info.value.status == 501


async def test_node_inputs_are_checked_before_sending(superuser) -> None:
    with pytest.raises(ValueError, match="fee_ppm"):
        await superuser.node.set_fees("1x1x1")
    with pytest.raises(ValueError, match="short_id"):
        await superuser.node.close_channel("")
    with pytest.raises(ValueError, match="pubkey@host"):
        await superuser.node.connect_peer("nope")


async def test_extensions_listing_and_enable_of_unknown_is_clear(superuser) -> None:
    assert await superuser.extensions.list() == []
    assert isinstance(await superuser.extensions.list_all(), list)
    with pytest.raises(Exception) as info:
        await superuser.extensions.enable("no_such_ext")
    assert info.value.__class__.__module__ == "lnpilot.lnbits.errors"


async def test_core(superuser, make_client, lnbits_server) -> None:
    health = await make_client().core.health()
    assert health.server_time
    status = await superuser.core.status()
    assert status["funding_source"] == "FakeWallet"
    currencies = await make_client().core.currencies()
    assert "USD" in currencies
    assert "rate" in await make_client().core.rate("USD")
    account = await make_client().core.create_account("anon")
    assert account.inkey and account.adminkey
    assert (await make_client(invoice_key=account.inkey).wallet.get()).name == "anon"


async def test_login_relogin_on_expired_token(lnbits_server, make_client) -> None:
    su = lnbits_server.superuser
    client = make_client(username=su.username, password=su.password, access_token="expired.jwt.x")
    me = await client.auth.me()  # 401 with the bad token -> logs in again -> succeeds
    assert me.super_user
    assert client.credentials.access_token not in (None, "expired.jwt.x")


async def test_wrong_password_is_authentication_error(lnbits_server, make_client) -> None:
    client = make_client(username=lnbits_server.superuser.username, password="wrong-password")
    with pytest.raises(AuthenticationError) as info:
        await client.auth.me()
    assert "wrong-password" not in str(info.value)


async def test_logout_forgets_token(lnbits_server, make_client) -> None:
    su = lnbits_server.superuser
    client: LNbitsClient = make_client(username=su.username, password=su.password)
    await client.auth.login()
    assert client.credentials.access_token
    await client.auth.logout()
    assert client.credentials.access_token is None
