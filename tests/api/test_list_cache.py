"""The channel list is computed once per collector cycle and second and shared
(``Services.reads``): its answer must be the uncached read's, a new cycle must show at
once, and concurrent readers must share one computation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from collect.conftest import T0
from lnpilot.api.channels import accepts_gzip, list_body, list_now
from lnpilot.service.readcache import ReadCache, Settled
from lnpilot.store import Store, sqlite_url
from lnpilot.store.tokens import Scope, create_token, revoke_token

from .conftest import Api


async def uncached(api: Api) -> bytes:
    """The list read straight from the store, past the cache."""
    node_id = await api.services.node_id()
    assert node_id is not None
    return await list_body(api.services, node_id, list_now(api.services))


async def forwards_1d(api: Api) -> int:
    rows = (await api.http.get("/api/v1/channels", headers=api.auth())).json()
    return sum(r["flows"]["1d"]["forwards_out"] for r in rows)


async def test_the_answer_is_the_uncached_read(api: Api) -> None:
    first = await api.http.get("/api/v1/channels", headers=api.auth())
    again = await api.http.get("/api/v1/channels", headers=api.auth())
    assert first.status_code == again.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.content == again.content == await uncached(api)
    # the list, its ETag and its gzip (httpx accepts gzip): once each
    assert api.services.reads.computed == 3, "the second reader shared the first's answer"


async def test_a_new_cycle_shows_at_once(api: Api) -> None:
    before = await forwards_1d(api)
    assert before == 20
    api.sim.traffic(6)
    api.sim.advance(timedelta(minutes=1))
    assert await forwards_1d(api) == before, "nothing collected yet: the same list"
    await api.sim.collector(api.store).run_once()
    assert await forwards_1d(api) == before + 6, "the cycle's forwards, no stale answer"
    latest = await api.http.get("/api/v1/channels", headers=api.auth())
    assert latest.content == await uncached(api)


async def test_the_windows_move_on_without_a_cycle(api: Api) -> None:
    assert await forwards_1d(api) == 20
    api.sim.advance(timedelta(days=2))  # the forwards leave the 1 day window
    assert await forwards_1d(api) == 0


async def test_concurrent_readers_share_one_computation(api: Api) -> None:
    answers = await asyncio.gather(
        *(api.http.get("/api/v1/channels", headers=api.auth()) for _ in range(20))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert api.services.reads.computed == 3, "the list, its ETag and its gzip, once each"


async def test_a_failed_computation_is_not_kept() -> None:
    cache = ReadCache(entries=2)
    calls: list[str] = []

    async def failing() -> bytes:
        calls.append("failing")
        raise RuntimeError("store gone")

    async def working() -> bytes:
        calls.append("working")
        return b"[]"

    with pytest.raises(RuntimeError, match="store gone"):
        await cache.get("k", failing)
    assert await cache.get("k", working) == b"[]"
    assert await cache.get("k", failing) == b"[]", "kept once computed"
    assert calls == ["failing", "working"]


async def test_old_keys_make_room() -> None:
    cache = ReadCache(entries=1)

    async def answer() -> bytes:
        return b"x"

    for key in ("a", "b", "a"):
        await cache.get(key, answer)
    assert cache.computed == 3, "'a' was evicted by 'b'"
    with pytest.raises(ValueError, match="at least 1 entry"):
        ReadCache(entries=0)


async def test_a_revoked_or_new_token_counts_on_the_next_request(api: Api, tmp_path: Path) -> None:
    """Token lookups are kept while the store is unchanged (``Services.settled``); a token
    revoked or created by another process (a second store on the same file, as the CLI
    opens) is a change, seen by the very next request."""
    assert (await api.http.get("/api/v1/channels", headers=api.auth())).status_code == 200
    async with await Store.open(sqlite_url(tmp_path)) as other:
        async with other.transaction() as tx:
            record, fresh = await create_token(tx, "fresh-reader-x7", Scope.READ, T0)
        fresh_auth = {"Authorization": f"Bearer {fresh}"}
        assert (await api.http.get("/api/v1/channels", headers=fresh_auth)).status_code == 200
        async with other.transaction() as tx:
            assert await revoke_token(tx, record.id, T0)
    refused = await api.http.get("/api/v1/channels", headers=fresh_auth)
    assert refused.status_code == 401 and refused.json()["detail"] == "unknown or revoked token"
    assert (await api.http.get("/api/v1/channels", headers=api.auth())).status_code == 200


async def test_the_data_version_moves_with_any_commit(api: Api, tmp_path: Path) -> None:
    before = await api.store.data_version()
    assert before is not None and await api.store.data_version() == before, "no commit"
    async with await Store.open(sqlite_url(tmp_path)) as other, other.transaction() as tx:
        await create_token(tx, "probe-check-q3", Scope.READ, T0)
    after = await api.store.data_version()
    assert after is not None and after != before


async def test_the_version_moves_with_a_commit_of_another_store_on_each_store(
    store: Store, database_url: str
) -> None:
    """PostgreSQL's version is the server's snapshot: another pool's commit moves it. (Not
    asserted: that it stays without a commit; the server is shared with other writers.)"""
    before = await store.data_version()
    assert before is not None
    async with await Store.open(database_url) as other, other.transaction() as tx:
        await create_token(tx, "other-pool-v5", Scope.READ, T0)
    assert await store.data_version() not in (None, before)


async def test_concurrent_askers_all_get_a_version_after_a_commit(
    store: Store, database_url: str
) -> None:
    """Askers arriving together share probes, yet each gets a version taken after it
    asked: after a commit, none of them gets the version from before it."""
    before = await store.data_version()
    async with await Store.open(database_url) as other, other.transaction() as tx:
        await create_token(tx, "other-pool-c2", Scope.READ, T0)
    found = await asyncio.gather(*(store.data_version() for _ in range(50)))
    assert before not in found and None not in found


async def test_an_unchanged_list_is_not_sent_again(api: Api) -> None:
    first = await api.http.get("/api/v1/channels", headers=api.auth())
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    same = await api.http.get(
        "/api/v1/channels", headers=api.auth() | {"If-None-Match": etag.removeprefix("W/")}
    )
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    api.sim.traffic(3)
    api.sim.advance(timedelta(minutes=1))
    await api.sim.collector(api.store).run_once()
    moved = await api.http.get("/api/v1/channels", headers=api.auth() | {"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["etag"] != etag


async def test_the_list_comes_gzipped_when_asked_and_plain_otherwise(api: Api) -> None:
    plain = await api.http.get(
        "/api/v1/channels", headers=api.auth() | {"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    packed = await api.http.get(
        "/api/v1/channels", headers=api.auth() | {"Accept-Encoding": "gzip"}
    )
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) / 4
    assert packed.content == plain.content, "httpx decoded it: the same list"
    assert packed.headers["etag"] == plain.headers["etag"]


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip, deflate", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=bad", False),
        ("identity", False),
        ("", False),
    ],
)
def test_accept_encoding(header: str, takes: bool) -> None:
    assert accepts_gzip(header) is takes


async def test_settled_reads_again_when_the_version_moves_or_is_unknown() -> None:
    settled = Settled(entries=2)
    reads: list[str] = []

    def reader(value: str) -> Callable[[], Awaitable[str]]:
        async def read() -> str:
            reads.append(value)
            return value

        return read

    assert await settled.get(1, "a", reader("a1")) == "a1"
    assert await settled.get(1, "a", reader("a2")) == "a1", "same version: kept"
    assert await settled.get(2, "a", reader("a3")) == "a3", "the store changed: read again"
    assert await settled.get(None, "a", reader("a4")) == "a4", "no version (PostgreSQL)"
    assert await settled.get(None, "a", reader("a5")) == "a5"
    await settled.get(7, "b", reader("b"))
    await settled.get(7, "c", reader("c"))
    await settled.get(7, "d", reader("d"))  # beyond 2 entries: read, not kept
    assert await settled.get(7, "d", reader("d2")) == "d2"
    assert reads == ["a1", "a3", "a4", "a5", "b", "c", "d", "d2"]


async def test_a_revoked_token_is_refused_at_once_on_each_store(
    api_on_each_store: Api, database_url: str
) -> None:
    """The kept lookup is dropped by the revocation's commit, made through another store
    (another pool, as ``lnpilot tokens revoke`` is): on SQLite its data version moves, on
    PostgreSQL the server's snapshot. The next request is refused."""
    api = api_on_each_store
    async with api.store.transaction() as tx:
        record, secret = await create_token(tx, "each-store-k9", Scope.READ, T0)
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await api.http.get("/api/v1/channels", headers=auth)).status_code == 200
    assert (await api.http.get("/api/v1/channels", headers=auth)).status_code == 200
    async with await Store.open(database_url) as other, other.transaction() as tx:
        assert await revoke_token(tx, record.id, T0)
    assert (await api.http.get("/api/v1/channels", headers=auth)).status_code == 401
    version = await api.store.data_version()
    if api.store.engine.dialect.name == "postgresql":
        assert isinstance(version, str) and version.count(":") == 2
    else:
        assert isinstance(version, int)


async def test_a_new_cycle_shows_at_once_on_each_store(api_on_each_store: Api) -> None:
    """The list's key holds the collector's state, kept while the version stays: a cycle
    committed moves it on both stores, so the next list is the new one."""
    api = api_on_each_store
    before = await forwards_1d(api)
    assert await forwards_1d(api) == before
    api.sim.traffic(4)
    api.sim.advance(timedelta(minutes=1))
    await api.sim.collector(api.store).run_once()
    assert await forwards_1d(api) == before + 4
    assert (await api.http.get("/api/v1/channels", headers=api.auth())).content == await uncached(
        api
    )
