"""What an operator of an LNbits with wallets uses beyond payments, against the real LNbits
the session starts: server settings written and read back, the balance check, background
tasks and LNbits' request audit (super user); API tokens limited by an access control list;
password reset by key; short links; websocket pushes; wallet sharing and stored pay links."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import websockets

from lnpilot.devtools import LNbitsServer
from lnpilot.devtools.waiting import eventually
from lnpilot.lnbits import (
    AuthenticationError,
    InvalidRequestError,
    LNbitsClient,
    LNbitsError,
    NotFoundError,
    PermissionDeniedError,
)
from lnpilot.lnbits.resources.admin import READ_ONLY_SETTINGS

from .conftest import MakeClient

pytestmark = pytest.mark.lnbits


async def test_settings_written_partially_read_back_and_unknown_keys_refused(
    superuser: LNbitsClient,
) -> None:
    before = await superuser.admin.settings()
    title = before.values["lnbits_site_title"]
    assert await superuser.admin.default_value("lnbits_site_title") == "LNbits"
    try:
        await superuser.admin.update_settings({"lnbits_site_title": "Ops test"})
        after = await superuser.admin.settings()
        assert after.values["lnbits_site_title"] == "Ops test"
        # Nothing else moved (a partial write, not a reset to defaults).
        changed = {k for k in after.values if after.values[k] != before.values[k]}
        assert changed == {"lnbits_site_title"}
    finally:
        await superuser.admin.update_settings({"lnbits_site_title": title})
    with pytest.raises(ValueError, match=r"unknown setting\(s\) lnbits_site_titel; allowed: "):
        await superuser.admin.update_settings({"lnbits_site_titel": "x"})
    with pytest.raises(ValueError, match="unknown setting"):
        await superuser.admin.update_settings({sorted(READ_ONLY_SETTINGS)[0]: True})
    with pytest.raises(ValueError, match=r"unknown setting\(s\) no_such_setting"):
        await superuser.admin.default_value("no_such_setting")


async def test_balance_delta_follows_a_top_up(
    superuser: LNbitsClient, lnbits_server: LNbitsServer
) -> None:
    before = await superuser.admin.balance_delta()
    keys = lnbits_server.create_account("delta")
    await superuser.users.top_up(keys.wallet_id, 1_234)
    after = await superuser.admin.balance_delta()
    assert after.lnbits_balance_sat - before.lnbits_balance_sat == 1_234
    assert after.delta_sat == after.lnbits_balance_sat - after.node_balance_sat


async def test_server_tasks_and_request_audit(superuser: LNbitsClient) -> None:
    tasks = await superuser.admin.tasks()
    assert any("invoice" in t.name for t in tasks), [t.name for t in tasks]
    settings = await superuser.admin.settings()
    assert settings.values["lnbits_audit_enabled"] is True
    # By default LNbits records only refused or failed writes: make one.
    with pytest.raises(InvalidRequestError):
        await superuser.admin.update_settings({"lnbits_audit_retention_days": -1})

    async def refused() -> bool | None:
        # LNbits writes its request audit from a queue, after answering.
        page = await superuser.admin.request_audit(limit=50, filters={"request_method": "PATCH"})
        found = any(
            e.path == "/admin/api/v1/settings" and (e.response_code or "").startswith("4")
            for e in page.data
        )
        return True if found else None

    await eventually(refused, "the refused settings write in LNbits' request audit")
    stats = await superuser.admin.request_audit_stats()
    assert any(s.field == "PATCH" and s.total >= 1 for s in stats.request_method)


async def test_an_acl_token_reads_what_it_allows_and_nothing_else(
    superuser: LNbitsClient, lnbits_server: LNbitsServer, make_client: MakeClient
) -> None:
    password = lnbits_server.superuser.password
    acl = await superuser.auth.create_acl(f"monitor-{uuid.uuid4().hex[:6]}", password)
    assert acl.endpoints and not any(e.read or e.write for e in acl.endpoints)
    with pytest.raises(ValueError, match="no such API route"):
        acl.allowing(read=["/api/v1/nowhere"])
    paths = {e.path for e in acl.endpoints}
    assert "/users/api/v1" in paths, sorted(paths)  # LNbits lists route prefixes
    acl = await superuser.auth.update_acl(acl.allowing(read=["/users/api/v1"]), password)
    assert [e.path for e in acl.endpoints if e.read] == ["/users/api/v1"]
    assert not any(e.write for e in acl.endpoints)

    token = await superuser.auth.create_api_token(acl.id, "ro", password, expiry_minutes=5)
    assert token.api_token not in repr(token)
    limited = make_client(access_token=token.api_token)
    assert (await limited.users.list(limit=5)).total >= 1
    with pytest.raises((PermissionDeniedError, AuthenticationError)):
        await limited.admin.settings()
    with pytest.raises((PermissionDeniedError, AuthenticationError)):
        await limited.users.create(username=f"no{uuid.uuid4().hex[:6]}", password="nope-nope-1")
    listed = (await superuser.auth.acls()).get(acl.id)
    assert [t.id for t in listed.token_id_list] == [token.id]

    await superuser.auth.delete_api_token(acl.id, token.id, password)
    with pytest.raises((PermissionDeniedError, AuthenticationError)):
        await make_client(access_token=token.api_token).users.list(limit=5)
    with pytest.raises(AuthenticationError):
        await superuser.auth.delete_acl(acl.id, "wrong-password")
    await superuser.auth.delete_acl(acl.id, password)
    with pytest.raises(KeyError):
        (await superuser.auth.acls()).get(acl.id)


async def test_password_reset_by_key(superuser: LNbitsClient, make_client: MakeClient) -> None:
    name = f"rk{uuid.uuid4().hex[:8]}"
    user_id = await superuser.users.create(username=name, password="first-pass-1")
    key = await superuser.users.reset_password_key(user_id)
    anonymous = make_client()
    with pytest.raises(ValueError, match="at least 8"):
        await anonymous.auth.reset_password(key, "short")
    with pytest.raises(InvalidRequestError):
        await anonymous.auth.reset_password("reset_key_bm90IGEga2V5", "second-pass-2")
    await anonymous.auth.reset_password(key, "second-pass-2")
    await make_client(username=name, password="second-pass-2").auth.login()
    with pytest.raises(AuthenticationError):
        await make_client(username=name, password="first-pass-1").auth.login()


async def test_short_links_belong_to_their_wallet(
    lnbits_server: LNbitsServer, make_client: MakeClient
) -> None:
    owner_keys = lnbits_server.create_account("links")
    other_keys = lnbits_server.create_account("other")
    owner = make_client(invoice_key=owner_keys.inkey, admin_key=owner_keys.adminkey)
    url = f"https://shop.example/item/{uuid.uuid4().hex}"
    link = await owner.tinyurl.create(url)
    assert link.url == url and link.wallet == owner_keys.wallet_id
    assert (await owner.tinyurl.create(url)).id == link.id  # the same link, not a second
    assert (await owner.tinyurl.get(link.id)) == link
    async with httpx.AsyncClient(base_url=lnbits_server.url) as raw:
        followed = await raw.get(link.short_path())
    assert followed.status_code == 307 and followed.headers["location"] == url
    other = make_client(invoice_key=other_keys.inkey, admin_key=other_keys.adminkey)
    with pytest.raises(NotFoundError):
        await other.tinyurl.get(link.id)
    with pytest.raises(InvalidRequestError):
        await other.tinyurl.delete(link.id)
    await owner.tinyurl.delete(link.id)
    with pytest.raises(NotFoundError):
        await owner.tinyurl.get(link.id)
    with pytest.raises(ValueError, match="one non-empty word"):
        await owner.tinyurl.create("two words")


async def test_a_push_reaches_a_websocket_listener(
    lnbits_server: LNbitsServer, make_client: MakeClient
) -> None:
    item_id = f"display-{uuid.uuid4().hex}"
    ws_url = lnbits_server.url.replace("http", "ws", 1) + f"/api/v1/ws/{item_id}"
    client = make_client()
    async with websockets.connect(ws_url) as listener:
        # The server registers the listener after the handshake: push until it is heard.
        async def pushed() -> str | None:
            assert await client.core.push_to_websocket(item_id, "paid:42")
            try:
                return str(await asyncio.wait_for(listener.recv(), 0.2))
            except TimeoutError:
                return None

        assert await eventually(pushed, "the pushed text at the listener") == "paid:42"
    with pytest.raises(ValueError, match="path segment"):
        await client.core.push_to_websocket("a/b", "x")


async def test_a_wallet_share_invitation_rejected_then_withdrawn(
    superuser: LNbitsClient, lnbits_server: LNbitsServer, make_client: MakeClient
) -> None:
    guest = f"g{uuid.uuid4().hex[:8]}"
    await superuser.users.create(username=guest, password="guest-pass-1")
    owner_keys = lnbits_server.create_account("sharer")
    owner = make_client(invoice_key=owner_keys.inkey, admin_key=owner_keys.adminkey)
    guest_login = make_client(username=guest, password="guest-pass-1")

    invite = await owner.wallet.share_invite(guest, ["view-payments"])
    assert invite["username"] == guest and invite["status"] == "invite_sent"
    request_id = str(invite["request_id"])
    with pytest.raises(InvalidRequestError, match="already invited"):
        await owner.wallet.share_invite(guest, ["view-payments"])
    await guest_login.wallet.share_reject(request_id)
    with pytest.raises(InvalidRequestError, match="Invitation not found"):
        await guest_login.wallet.share_reject(request_id)
    # No mirror wallet was made (the guest did not accept): no permissions to change.
    with pytest.raises(InvalidRequestError, match="Share not found"):
        await owner.wallet.share_accept(invite | {"shared_with_wallet_id": "nowhere"})
    withdrawn = await owner.wallet.share_delete(request_id)
    assert withdrawn["success"] is True
    with pytest.raises(InvalidRequestError, match="not found"):
        await owner.wallet.share_delete(request_id)


async def test_stored_pay_links_are_kept_on_the_wallet(
    lnbits_server: LNbitsServer, make_client: MakeClient
) -> None:
    keys = lnbits_server.create_account("paylinks")
    client = make_client(invoice_key=keys.inkey, admin_key=keys.adminkey)
    link = {"lnurl": "LNURL1DP68GURN8GHJ7", "label": "coffee", "last_used": 1}
    assert await client.wallet.set_stored_paylinks(keys.wallet_id, [link]) == [link]
    assert await client.wallet.set_stored_paylinks(keys.wallet_id, []) == []
    with pytest.raises(PermissionDeniedError):
        await client.wallet.set_stored_paylinks("not-this-wallet", [link])


async def test_checks_that_answer_no_in_the_body(superuser: LNbitsClient) -> None:
    email = await superuser.admin.send_test_email()
    assert email.success is False and "disabled" in email.message
    fiat = await superuser.admin.check_fiat_provider("stripe")
    assert fiat.success is False and "stripe" in fiat.message
    with pytest.raises(ValueError, match="provider must be a name"):
        await superuser.admin.check_fiat_provider("../x")


async def test_rates_offline_are_empty_history_and_a_clear_conversion_error(
    superuser: LNbitsClient, make_client: MakeClient
) -> None:
    # The test LNbits has no price services (no network): the history holds no rate, and a
    # conversion says why it cannot be made instead of answering a made-up figure.
    history = await superuser.core.rate_history()
    assert history and all(point["rates"] == {} for point in history)
    with pytest.raises(InvalidRequestError, match="exchange rate for usd"):
        await make_client().core.convert(1_000, from_="sat", to="usd")


async def test_self_registration_rename_and_password_change(
    lnbits_server: LNbitsServer, make_client: MakeClient
) -> None:
    name = f"r{uuid.uuid4().hex[:8]}"
    client = make_client()
    await client.auth.register(name, "register-pass-1")
    assert (await client.auth.me()).username == name
    renamed = f"n{uuid.uuid4().hex[:8]}"
    assert (await client.auth.update_username(renamed)).username == renamed
    with pytest.raises(ValueError, match="2 to 20"):
        await client.auth.update_username("x")
    await client.auth.change_password("register-pass-1", "changed-pass-2")
    await make_client(username=renamed, password="changed-pass-2").auth.login()
    with pytest.raises(AuthenticationError):
        await make_client(username=name, password="register-pass-1").auth.login()
    # The first install is done once: a second one is refused.
    with pytest.raises(LNbitsError):
        await make_client().auth.first_install("intruder", "intruder-pass-1")


async def test_user_id_login_only_where_the_super_user_allowed_it(
    superuser: LNbitsClient, make_client: MakeClient
) -> None:
    account = await make_client().core.create_account("no-password")
    with pytest.raises(PermissionDeniedError, match="User ID"):
        await make_client().auth.login_with_user_id(account.user)
    allowed = (await superuser.admin.settings()).values["auth_allowed_methods"]
    await superuser.admin.update_settings({"auth_allowed_methods": [*allowed, "user-id-only"]})
    try:
        client = make_client()
        await client.auth.login_with_user_id(account.user)
        assert (await client.auth.me()).id == account.user
    finally:
        await superuser.admin.update_settings({"auth_allowed_methods": allowed})


async def test_push_subscriptions_are_per_account(
    superuser: LNbitsClient, make_client: MakeClient
) -> None:
    endpoint = f"https://push.example/{uuid.uuid4().hex}"
    subscription = {"endpoint": endpoint, "keys": {"p256dh": "BNc", "auth": "tBH"}}
    made = await superuser.webpush.subscribe(subscription)
    assert made.endpoint == endpoint and made.user == (await superuser.auth.me()).id
    assert (await superuser.webpush.subscribe(subscription)).timestamp == made.timestamp
    name = f"w{uuid.uuid4().hex[:8]}"
    await superuser.users.create(username=name, password="push-pass-1")
    other = make_client(username=name, password="push-pass-1")
    assert await other.webpush.unsubscribe(endpoint) == 0  # not theirs
    assert await superuser.webpush.unsubscribe(endpoint) == 1
    assert await superuser.webpush.unsubscribe(endpoint) == 0
    with pytest.raises(ValueError, match="https://"):
        await superuser.webpush.subscribe({"endpoint": "http://plain.example/x"})


async def test_a_nostr_key_belongs_to_one_account(
    superuser: LNbitsClient, make_client: MakeClient
) -> None:
    names = [f"k{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        await superuser.users.create(username=name, password="nostr-pass-1")
    first, second = (make_client(username=n, password="nostr-pass-1") for n in names)
    key = uuid.uuid4().hex * 2
    await first.auth.set_nostr_pubkey(key.upper())
    assert (await first.auth.me()).pubkey == key
    with pytest.raises(InvalidRequestError, match="already in use"):
        await second.auth.set_nostr_pubkey(key)
    with pytest.raises(ValueError, match="64 hex"):
        await second.auth.set_nostr_pubkey("npub1notahexkey")
