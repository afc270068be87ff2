"""The dashboard over HTTP: who may see it, what each page answers, what it may load.

The app is the API's own (``create_app``, which mounts the dashboard), on the store a simnet
run filled; the expected figures are read from that store."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from lnpilot.store import StoreReader, lifecycle, rebalances
from lnpilot.store.tokens import Scope, create_token, revoke_token
from lnpilot.web import auth
from lnpilot.web.templating import CSP

from .conftest import Served

PAGES = ("/", "/channels", "/forwards", "/peers", "/fees", "/rebalances", "/failed", "/alerts")


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base, follow_redirects=False) as client:
        yield client


async def signed_in(http: httpx.AsyncClient, served: Served) -> httpx.AsyncClient:
    answer = await http.get(served.url("/", token=True))
    assert answer.status_code == 303
    return http


async def node_of(reader: StoreReader, served: Served) -> int:
    """The filled store's id of our node."""
    node_id = await reader.node_id(served.filled.pubkey)
    assert node_id is not None
    return node_id


async def test_without_a_token_every_page_sends_to_the_sign_in_form(
    http: httpx.AsyncClient, served: Served
) -> None:
    for path in (*PAGES, f"/channels/{served.filled.scids[0]}", "/fees/1", "/incidents/1"):
        answer = await http.get(served.url(path))
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/dashboard/login?next=%2Fdashboard")
    form = await http.get(answer.headers["location"])
    assert form.status_code == 200 and 'name="token"' in form.text


async def test_a_token_in_the_address_moves_to_a_strict_cookie_and_leaves_the_address(
    http: httpx.AsyncClient, served: Served
) -> None:
    answer = await http.get(served.url("/channels", token=True) + "&x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/channels?x=1"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{auth.COOKIE}={served.filled.token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    page = await http.get("/dashboard/channels?x=1")
    assert page.status_code == 200
    assert served.filled.token not in page.text


async def test_unknown_and_revoked_tokens_are_refused(
    http: httpx.AsyncClient, served: Served
) -> None:
    answer = await http.get("/dashboard/?token=lnp_not-a-token")
    assert answer.status_code == 303 and "failed=1" in answer.headers["location"]
    assert "set-cookie" not in answer.headers
    store, now = served.services.store, served.filled.now
    async with store.transaction() as tx:
        record, secret = await create_token(tx, "short-lived", Scope.READ, now)
    assert (await http.get(f"/dashboard/?token={secret}")).status_code == 303
    assert (await http.get("/dashboard/")).status_code == 200
    async with store.transaction() as tx:
        assert await revoke_token(tx, record.id, now)
    answer = await http.get("/dashboard/")
    assert answer.status_code == 303 and "/login" in answer.headers["location"]


async def test_the_sign_in_form_signs_in_and_only_returns_to_the_dashboard(
    http: httpx.AsyncClient, served: Served
) -> None:
    token = served.filled.token
    answer = await http.post("/dashboard/login", data={"token": token, "next": "/dashboard/alerts"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/alerts")
    assert (await http.get("/dashboard/alerts")).status_code == 200
    elsewhere = await http.post(
        "/dashboard/login", data={"token": token, "next": "https://evil.example/"}
    )
    assert elsewhere.headers["location"] == "/dashboard/"
    wrong = await http.post("/dashboard/login", data={"token": "lnp_wrong", "next": "/x"})
    assert "failed=1" in wrong.headers["location"]
    out = await http.post("/dashboard/logout")
    assert out.status_code == 303
    assert (await http.get("/dashboard/alerts")).status_code == 303


async def test_every_page_answers_with_only_its_own_files(
    http: httpx.AsyncClient, served: Served
) -> None:
    await signed_in(http, served)
    paths = [
        *PAGES,
        *(
            f"/channels/{s}?range={r}"
            for s in served.filled.scids[:1]
            for r in ("1d", "7d", "30d", "1y")
        ),
        "/fees/1",
    ]
    for path in paths:
        answer = await http.get(f"/dashboard{path}")
        assert answer.status_code == 200, (path, answer.text[:500])
        assert answer.headers["content-security-policy"] == CSP
        for url in re.findall(r'(?:src|href)="([^"]+)"', answer.text):
            assert url.startswith(("/dashboard", "data:")), (path, url)
            if url.startswith("/dashboard/static/"):
                assert (await http.get(url)).status_code == 200, url


async def test_the_overview_shows_the_stores_figures(
    http: httpx.AsyncClient, served: Served
) -> None:
    await signed_in(http, served)
    async with served.services.store.read() as reader:
        channels = await reader.channels(await node_of(reader, served))
    page = (await http.get("/dashboard/")).text
    capacity = sum(c.capacity_sat for c in channels if c.chan_id is not None)
    assert f"{capacity:,}" in page
    for channel in channels:
        table = (await http.get("/dashboard/channels")).text
        assert f'href="/dashboard/channels/{channel.scid}"' in table


async def test_the_failed_htlcs_page_counts_the_stores_failures(
    http: httpx.AsyncClient, served: Served
) -> None:
    await signed_in(http, served)
    store, now = served.services.store, served.services.clock()
    async with store.read() as reader:
        node_id = await node_of(reader, served)
        failed = await reader.failed_forwards(node_id, now - timedelta(days=7), now)
    page = (await http.get("/dashboard/failed")).text
    assert f"{len(failed)} in all" in page
    assert failed, "the demo run fails some HTLCs: the page must have rows to show"
    reasons = Counter(f.failure for f in failed)
    top, count = reasons.most_common(1)[0]
    assert re.search(rf"<td>{top}</td><td class=\"num\">{count}</td>", page)


async def test_the_peers_page_names_each_peer_by_its_alias(
    http: httpx.AsyncClient, served: Served
) -> None:
    await signed_in(http, served)
    async with served.services.store.read() as reader:
        node_id = await node_of(reader, served)
        channels = [c for c in await reader.channels(node_id) if c.scid is not None]
    page = (await http.get("/dashboard/peers")).text
    for channel in channels:
        assert channel.peer_alias, "simnet's face answers aliases from its graph"
        assert f"<strong>{channel.peer_alias}</strong>" in page
        assert f'href="/dashboard/channels/{channel.scid}"' in page
    assert "uptime" in page and " %" in page


async def test_the_rebalances_page_says_what_each_run_decided_and_why(
    http: httpx.AsyncClient, served: Served
) -> None:
    await signed_in(http, served)
    async with served.services.store.read() as reader:
        node_id = await node_of(reader, served)
        [latest] = await rebalances.runs(reader, node_id, limit=1)
    page = (await http.get("/dashboard/rebalances")).text
    assert "budget room (sat)" in page
    summary = latest.detail.get("summary")
    assert isinstance(summary, str) and summary
    assert html.escape(summary, quote=False) in page


async def test_the_forwards_page_filters_and_pages_in_sql(
    http: httpx.AsyncClient, served: Served
) -> None:
    await signed_in(http, served)
    now = served.services.clock()
    async with served.services.store.read() as reader:
        node_id = await node_of(reader, served)
        week = await reader.forwards(node_id, now - timedelta(days=7), now)
        channels = {c.chan_id: c for c in await reader.channels(node_id)}
    page = (await http.get("/dashboard/forwards")).text
    assert f"{len(week)} forwards in the last 7d" in page
    assert len(week) > 50, "the demo run routes enough for two pages"
    assert page.count('<tr><td class="when">') == 50 and 'rel="next"' in page
    newest = max(week, key=lambda f: f.timestamp_ns)
    assert newest.timestamp.strftime("%Y-%m-%d %H:%M UTC") in page.split("</tr>")[1]

    busiest = Counter(f.chan_id_out for f in week).most_common(1)[0][0]
    scid = channels[busiest].scid
    through = [f for f in week if busiest in (f.chan_id_in, f.chan_id_out)]
    one = (await http.get(f"/dashboard/forwards?channel={scid}")).text
    assert f"{len(through)} forwards in the last 7d through {scid}" in one
    peer = channels[busiest].peer_pubkey
    theirs = {c for c, ch in channels.items() if ch.peer_pubkey == peer}
    with_peer = [f for f in week if {f.chan_id_in, f.chan_id_out} & theirs]
    by_peer = (await http.get(f"/dashboard/forwards?peer={peer}&page=2")).text
    assert f"{len(with_peer)} forwards in the last 7d with that peer" in by_peer
    assert 'rel="prev"' in by_peer

    assert (await http.get("/dashboard/forwards?channel=1x1x1")).status_code == 404
    assert (await http.get("/dashboard/forwards?period=2d")).status_code == 404
    assert (await http.get("/dashboard/forwards?page=0")).status_code == 404


async def test_missing_things_are_404_pages(http: httpx.AsyncClient, served: Served) -> None:
    await signed_in(http, served)
    beyond = 2**63  # no store row can have it: a missing page too, not a 500
    paths = ("/channels/1x1x1", "/fees/999999", "/incidents/999999")
    for path in (*paths, f"/fees/{beyond}", f"/incidents/{beyond}", "/incidents/0"):
        answer = await http.get(f"/dashboard{path}")
        assert answer.status_code == 404, path
        assert "The store has no" in answer.text
    bad_range = await http.get(f"/dashboard/channels/{served.filled.scids[0]}?range=2d")
    assert bad_range.status_code == 404


async def test_the_channel_page_shows_the_agreement_made_at_open(
    http: httpx.AsyncClient, served: Served
) -> None:
    """An agreement row as ``lnpilot open run`` stores it (the open itself is tested in
    tests/lifecycle), shown while live and gone from the page once a close archives it."""
    await signed_in(http, served)
    store, scid = served.services.store, served.filled.scids[0]
    async with store.read() as reader:
        node_id = await node_of(reader, served)
        [channel] = [c for c in await reader.channels(node_id) if c.scid == scid]
    agreement = lifecycle.Agreement(
        node_id=node_id,
        peer_pubkey=channel.peer_pubkey,
        created_at=served.filled.now,
        channel_point=channel.channel_point,
        chan_id=channel.chan_id,
        name="hub <deal>",
        contact="ops@hub.example",
        terms={"fee_rate_ppm": 250, "cltv_delta": 80},
    )
    async with store.transaction() as tx:
        await lifecycle.add_agreement(tx, agreement)
    page = (await http.get(served.url(f"/channels/{scid}"))).text
    assert "<h2>Agreement</h2>" in page
    assert "<strong>hub &lt;deal&gt;</strong>" in page  # the peer's words are escaped
    assert "fee_rate_ppm 250, cltv_delta 80" in page and "contact ops@hub.example" in page
    async with store.transaction() as tx:
        await lifecycle.archive_agreements(tx, node_id, channel.channel_point, served.filled.now)
    assert "<h2>Agreement</h2>" not in (await http.get(served.url(f"/channels/{scid}"))).text
