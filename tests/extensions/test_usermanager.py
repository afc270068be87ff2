"""client.usermanager against the real UserManager 1.0.0 extension in a real LNbits."""

from __future__ import annotations

import pytest

from lnpilot.devtools import LNbitsServer
from lnpilot.lnbits import MissingCredentialError, NotOwnedError, PermissionDeniedError
from lnpilot.lnbits.errors import NotFoundError

from .conftest import MakeClient, MakeWallet


async def test_users_and_wallets_lifecycle(ext_wallet: MakeWallet, ext_client: MakeClient) -> None:
    operator = ext_client(ext_wallet(10_000)).usermanager
    assert await operator.list_users() == []
    user = await operator.create_user("mgd-user-1", "mgd-wallet-1", extra={"tag": "vip"})
    assert (user.name, user.extra, [w.name for w in user.wallets]) == (
        "mgd-user-1",
        {"tag": "vip"},
        ["mgd-wallet-1"],
    )
    other = await operator.create_user("mgd-user-2", "mgd-wallet-2")
    assert {u.id for u in await operator.list_users()} == {user.id, other.id}
    assert [u.id for u in await operator.list_users(extra={"tag": "vip"})] == [user.id]

    renamed = await operator.update_user(user.id, user_name="renamed", extra={"plan": "gold"})
    assert renamed.name == "renamed"
    assert renamed.extra == {"tag": "vip", "plan": "gold"}
    assert (await operator.get_user(user.id)).name == "renamed"

    second = await operator.create_wallet(user.id, "mgd-wallet-1b")
    assert {w.id for w in await operator.user_wallets(user.id)} == {
        user.wallets[0].id,
        second.id,
    }
    assert len(await operator.list_wallets()) == 3
    await operator.delete_wallet(second.id)
    assert second.id not in {w.id for w in await operator.list_wallets()}

    await operator.delete_user(other.id)
    assert [u.id for u in await operator.list_users()] == [user.id]
    with pytest.raises(ValueError, match="nothing to update"):
        await operator.update_user(user.id)


async def test_transactions_of_a_managed_wallet_in_msat(
    ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    operator_keys = ext_wallet(10_000)
    operator = ext_client(operator_keys)
    user = await operator.usermanager.create_user("paid-user", "paid-wallet")
    managed = ext_client(invoice_key=user.wallets[0].inkey)
    invoice = await managed.payments.create_invoice(2_100, memo="welcome bonus")
    await operator.payments.pay(invoice.bolt11)
    [tx] = await operator.usermanager.transactions(user.wallets[0].id)
    assert (tx.payment_hash, tx.amount_msat, tx.memo) == (
        invoice.payment_hash,
        2_100_000,
        "welcome bonus",
    )


async def test_the_client_refuses_what_the_extension_lets_anyone_do(
    ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    """UserManager has no ownership checks; the client's own check stops a foreign key."""
    alice = ext_client(ext_wallet(0)).usermanager
    dave = ext_client(ext_wallet(0)).usermanager
    user = await alice.create_user("alices-user", "alices-wallet")
    wallet_id = user.wallets[0].id
    for call in (
        dave.get_user(user.id),
        dave.delete_user(user.id),
        dave.update_user(user.id, user_name="hijacked"),
        dave.create_wallet(user.id, "intruder"),
        dave.user_wallets(user.id),
        dave.delete_wallet(wallet_id),
        dave.transactions(wallet_id),
        dave.set_extension(user.id, "lndhub", active=True),
    ):
        with pytest.raises(NotOwnedError, match="not managed by this key's owner"):
            await call
    # The extension itself would have answered: the quirk is real, so the check is needed.
    leaked = await dave.get_user(user.id, check_owner=False)
    assert leaked.wallets[0].id == wallet_id
    assert (await alice.get_user(user.id)).name == "alices-user"


async def test_enable_extension_for_managed_user_and_errors(
    ext_server: LNbitsServer, ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    """Found here: the extension's toggle UPDATEs the user's extension row and never creates
    it, so "enable" for a user who never had the extension answers "updated" and does
    nothing; "disable" of an enabled one works."""
    operator_keys = ext_wallet(0)
    operator = ext_client(operator_keys)
    user = await operator.usermanager.create_user("ext-user", "ext-wallet")
    managed = ext_client(invoice_key=user.wallets[0].inkey, admin_key=user.wallets[0].adminkey)
    await operator.usermanager.set_extension(user.id, "lndhub", active=True)
    with pytest.raises(PermissionDeniedError, match="not enabled"):
        await managed.lndhub.balance_sat()
    ext_server.set_user_extensions(user.id, ["lndhub"])
    assert await managed.lndhub.balance_sat() == 0
    await operator.usermanager.set_extension(user.id, "lndhub", active=False)
    with pytest.raises(PermissionDeniedError, match="not enabled"):
        await managed.lndhub.balance_sat()

    with pytest.raises(MissingCredentialError, match="admin key"):
        await ext_client(operator_keys, admin=False).usermanager.list_users()
    with pytest.raises(PermissionDeniedError, match="Invalid adminkey"):
        await ext_client(admin_key=operator_keys.inkey).usermanager.list_users()
    not_enabled = ext_client(ext_wallet(0, enable=()))
    with pytest.raises(PermissionDeniedError, match="not enabled"):
        await not_enabled.usermanager.list_wallets()
    with pytest.raises(NotFoundError, match="does not exist"):
        await operator.usermanager.delete_wallet("f" * 32, check_owner=False)
