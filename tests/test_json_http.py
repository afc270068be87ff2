"""The devtools JSON server scaffold: what it answers over a real socket, beyond the
stand-ins' own tests (which cover GET and POST through LNbits)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lnpilot.devtools.json_http import JsonHttpServer


def echo(method: str, target: str, body: Any) -> tuple[int, Any]:
    return 201, {"method": method, "target": target, "body": body}


def test_get_and_post_reach_the_handler_with_target_and_json_body() -> None:
    server = JsonHttpServer("echo", echo, methods=("GET", "POST"))
    server.start()
    try:
        got = httpx.get(f"{server.url}/a?b=1", trust_env=False)
        posted = httpx.post(f"{server.url}/p", json={"x": 1}, trust_env=False)
    finally:
        server.stop()
    assert got.status_code == 201
    assert got.json() == {"method": "GET", "target": "/a?b=1", "body": None}
    assert got.headers["content-type"] == "application/json"
    assert posted.json() == {"method": "POST", "target": "/p", "body": {"x": 1}}


def test_a_method_not_served_gets_501_and_never_reaches_the_handler() -> None:
    seen: list[str] = []

    def handle(method: str, target: str, body: Any) -> tuple[int, Any]:
        seen.append(method)
        return 200, {}

    server = JsonHttpServer("get-only", handle)
    server.start()
    try:
        answer = httpx.post(f"{server.url}/x", json={}, trust_env=False)
    finally:
        server.stop()
    assert answer.status_code == 501
    assert seen == []


def test_url_before_start_and_unknown_methods_are_named() -> None:
    server = JsonHttpServer("idle", echo)
    with pytest.raises(RuntimeError, match="idle is not started"):
        _ = server.url
    server.stop()  # stopping a server never started is harmless
    with pytest.raises(ValueError, match=r"cannot serve \['PUT'\]; allowed: GET, POST"):
        JsonHttpServer("bad", echo, methods=("GET", "PUT"))


def test_an_answer_may_carry_headers_of_its_own() -> None:
    server = JsonHttpServer(
        "busy", lambda m, t, b: (429, {"detail": "later"}, {"Retry-After": "7"})
    )
    server.start()
    try:
        answer = httpx.get(f"{server.url}/x", trust_env=False)
    finally:
        server.stop()
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "7"
    assert answer.json() == {"detail": "later"}
