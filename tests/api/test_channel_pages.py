"""The channel list in pages (``limit``/``cursor``): the pages put together are the whole
list, in its order, each channel once; the default answer stays the whole list."""

from __future__ import annotations

from typing import Any

from .conftest import Api


async def test_the_pages_put_together_are_the_whole_list(api: Api) -> None:
    whole = (await api.http.get("/api/v1/channels", headers=api.auth())).json()
    assert len(whole) >= 3, "enough channels for several pages"
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        answer = await api.http.get("/api/v1/channels", params=params, headers=api.auth())
        assert answer.status_code == 200
        assert "etag" not in answer.headers
        pages.append(answer.json())
        cursor = answer.headers.get("x-next-cursor")
        if cursor is None:
            break
        params = {"limit": 2, "cursor": cursor}
    assert [row for page in pages for row in page] == whole
    assert all(len(page) == 2 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 2


async def test_a_cursor_must_name_a_listed_channel(api: Api) -> None:
    answer = await api.http.get(
        "/api/v1/channels", params={"cursor": "00" * 32 + ":9"}, headers=api.auth()
    )
    assert answer.status_code == 409
    assert "first page again" in answer.json()["detail"]
    answer = await api.http.get("/api/v1/channels", params={"cursor": "nope:0"}, headers=api.auth())
    assert answer.status_code == 422
    assert "not a channel point" in answer.json()["detail"]
    for limit in (0, 1001):
        answer = await api.http.get("/api/v1/channels", params={"limit": limit}, headers=api.auth())
        assert answer.status_code == 422, limit
