"""The channel list is computed once per collector cycle and second and shared
(``Services.reads``): its answer must be the uncached read's, a new cycle must show at
once, and concurrent readers must share one computation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from lnpilot.api.channels import list_body, list_now
from lnpilot.service.readcache import ReadCache

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
    assert api.services.reads.computed == 1, "the second reader shared the first's answer"


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
    assert api.services.reads.computed == 1


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
