"""The fault proxy really breaks exchanges the way it claims, on real sockets.

The upstream is a tiny real Starlette app served by uvicorn in its own thread (so sync
tests using ThreadedFaultProxy can reach it too) that counts the requests it handled:
comparing its count with what the httpx client saw is the whole point of the proxy.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect as ws_connect

from lnpilot.devtools.fault_proxy import Fault, FaultProxy, ThreadedFaultProxy

PAY = "/api/v1/payments"
HITS: Counter[str] = Counter()


async def hit(request: Request) -> Response:
    HITS[request.url.path] += 1
    return JSONResponse({"n": HITS[request.url.path]})


async def pay(request: Request) -> Response:
    HITS[request.url.path] += 1
    return JSONResponse({"paid": (await request.json())["bolt11"], "padding": "x" * 400})


async def echo_length(request: Request) -> Response:
    HITS[request.url.path] += 1
    return JSONResponse({"length": len(await request.body())})


async def chunked(request: Request) -> Response:
    HITS[request.url.path] += 1

    async def parts() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"part{i};".encode()

    return StreamingResponse(parts(), media_type="text/plain")


async def ws_echo(websocket: WebSocket) -> None:
    HITS[websocket.url.path] += 1
    await websocket.accept()
    while True:
        message = await websocket.receive_text()
        if message == "bye":
            await websocket.close()
            return
        await websocket.send_text(f"echo:{message}")


APP = Starlette(
    routes=[
        Route("/hit", hit),
        Route(PAY, pay, methods=["POST"]),
        Route("/echo-length", echo_length, methods=["POST"]),
        Route("/chunked", chunked),
        WebSocketRoute("/ws", ws_echo),
    ]
)


@pytest.fixture(scope="session")
def upstream_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(APP, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "upstream did not start"
        time.sleep(0.01)
    yield port
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(autouse=True)
def _fresh_hits() -> None:
    HITS.clear()


@pytest.fixture
async def proxy(upstream_port: int) -> AsyncIterator[FaultProxy]:
    fault_proxy = FaultProxy("127.0.0.1", upstream_port)
    await fault_proxy.start()
    yield fault_proxy
    await fault_proxy.stop()


@pytest.fixture
async def client(proxy: FaultProxy) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=proxy.url, timeout=5) as http:
        yield http


async def test_pass_keeps_the_connection_alive(
    proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    for expected in (1, 2, 3):
        response = await client.get("/hit")
        assert response.json() == {"n": expected}
    paid = await client.post(PAY, json={"bolt11": "lnbc1"})
    assert paid.json()["paid"] == "lnbc1"
    streamed = await client.get("/chunked")
    assert streamed.text == "part0;part1;part2;part3;part4;"
    assert proxy.connection_count == 1
    assert [(r.method, r.path, r.fault, r.upstream_status) for r in proxy.records()] == [
        ("GET", "/hit", Fault.PASS, 200),
        ("GET", "/hit", Fault.PASS, 200),
        ("GET", "/hit", Fault.PASS, 200),
        ("POST", PAY, Fault.PASS, 200),
        ("GET", "/chunked", Fault.PASS, 200),
    ]
    assert proxy.count(handled=True) == 5


async def test_chunked_request_body_is_forwarded(client: httpx.AsyncClient) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"a" * 1000

    response = await client.post("/echo-length", content=body())
    assert response.json() == {"length": 3000}


async def test_drop_after_upstream_hides_an_effect_that_happened(
    proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    proxy.set_rule("POST", PAY, Fault.DROP_RESPONSE_AFTER_UPSTREAM)
    assert (await client.get("/hit")).status_code == 200  # not targeted: passes
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(PAY, json={"bolt11": "lnbc1"})
    assert HITS[PAY] == 1
    record = proxy.records()[-1]
    assert (record.fault, record.forwarded, record.upstream_handled) == (
        Fault.DROP_RESPONSE_AFTER_UPSTREAM,
        True,
        True,
    )
    assert record.request_body == b'{"bolt11":"lnbc1"}'
    # times=1: the rule is spent, the next pay goes through on a new connection.
    assert (await client.post(PAY, json={"bolt11": "lnbc2"})).status_code == 200
    assert HITS[PAY] == 2
    assert proxy.count("POST", PAY, handled=True) == 2


async def test_reset_before_upstream_has_no_effect(
    proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    proxy.set_rule(None, PAY, Fault.RESET_BEFORE_UPSTREAM)
    with pytest.raises(httpx.ReadError):  # the RST surfaces as ECONNRESET
        await client.post(PAY, json={"bolt11": "lnbc1"})
    assert HITS[PAY] == 0
    record = proxy.records()[-1]
    assert (record.forwarded, record.upstream_handled) == (False, False)


async def test_delay_lets_the_client_time_out_after_the_effect(proxy: FaultProxy) -> None:
    proxy.set_rule("POST", PAY, Fault.DELAY, delay_s=1.0)
    async with httpx.AsyncClient(base_url=proxy.url, timeout=0.3) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.post(PAY, json={"bolt11": "lnbc1"})
    assert HITS[PAY] == 1
    assert proxy.count("POST", PAY, handled=True) == 1


async def test_delay_still_delivers_the_response(
    proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    proxy.set_rule("GET", "/hit", Fault.DELAY, delay_s=0.3)
    started = time.monotonic()
    response = await client.get("/hit")
    assert time.monotonic() - started >= 0.3
    assert response.json() == {"n": 1}


async def test_status_502_replaces_the_answer_of_a_handled_request(
    proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    proxy.set_rule("POST", PAY, Fault.STATUS_502)
    response = await client.post(PAY, json={"bolt11": "lnbc1"})
    assert response.status_code == 502
    assert HITS[PAY] == 1
    record = proxy.records()[-1]
    assert (record.upstream_status, record.upstream_handled) == (200, True)


async def test_status_502_without_upstream_has_no_effect(
    proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    proxy.set_rule("POST", PAY, Fault.STATUS_502_NO_UPSTREAM)
    response = await client.post(PAY, json={"bolt11": "lnbc1"})
    assert response.status_code == 502
    assert HITS[PAY] == 0
    assert proxy.count("POST", PAY, handled=False) == 1


async def test_truncate_cuts_the_answer_of_a_handled_request(
    proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    proxy.set_rule("POST", PAY, Fault.TRUNCATE)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(PAY, json={"bolt11": "lnbc1"})
    assert HITS[PAY] == 1
    assert proxy.count("POST", PAY, handled=True) == 1


async def test_times_is_honoured(proxy: FaultProxy, client: httpx.AsyncClient) -> None:
    proxy.set_rule("GET", "/hit", Fault.STATUS_502_NO_UPSTREAM, times=2)
    statuses = [(await client.get("/hit")).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert HITS["/hit"] == 1


async def test_unlimited_rule_lasts_until_cleared_and_newest_rule_wins(
    proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    proxy.set_rule(None, None, Fault.STATUS_502_NO_UPSTREAM, times=None)
    proxy.set_rule("GET", "/hit", Fault.STATUS_502)
    assert (await client.get("/hit")).status_code == 502
    assert HITS["/hit"] == 1  # the newer STATUS_502 rule applied: it reached upstream
    assert [(await client.get("/hit")).status_code for _ in range(3)] == [502] * 3
    assert HITS["/hit"] == 1
    proxy.clear()
    assert (await client.get("/hit")).status_code == 200


async def test_upstream_down_answers_502(upstream_port: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = int(sock.getsockname()[1])
    fault_proxy = FaultProxy("127.0.0.1", dead_port)
    await fault_proxy.start()
    try:
        async with httpx.AsyncClient(base_url=fault_proxy.url) as http:
            assert (await http.get("/hit")).status_code == 502
        [record] = fault_proxy.records()
        assert record.error is not None and not record.forwarded
    finally:
        await fault_proxy.stop()


async def test_websocket_is_tunnelled_unfaulted(proxy: FaultProxy) -> None:
    proxy.set_rule(None, None, Fault.RESET_BEFORE_UPSTREAM, times=None)
    async with ws_connect(proxy.url.replace("http", "ws") + "/ws") as ws:
        for text in ("a", "b" * 100_000):
            await ws.send(text)
            assert await ws.recv() == f"echo:{text}"
        await ws.send("bye")
        await asyncio.wait_for(ws.wait_closed(), 5)
    assert HITS["/ws"] == 1
    [record] = proxy.records()
    assert (record.fault, record.upstream_status) == (Fault.PASS, 101)


async def test_stop_cuts_a_delayed_exchange(upstream_port: int) -> None:
    fault_proxy = FaultProxy("127.0.0.1", upstream_port)
    await fault_proxy.start()
    fault_proxy.set_rule("GET", "/hit", Fault.DELAY, delay_s=60)
    async with httpx.AsyncClient(base_url=fault_proxy.url) as http:
        pending = asyncio.create_task(http.get("/hit"))
        while not fault_proxy.count(handled=True):  # noqa: ASYNC110 - the proxy has no event
            await asyncio.sleep(0.01)
        await asyncio.wait_for(fault_proxy.stop(), 5)
        with pytest.raises(httpx.RemoteProtocolError):
            await pending


def test_set_rule_validates() -> None:
    proxy = FaultProxy("127.0.0.1", 1)
    with pytest.raises(ValueError, match="delay_s"):
        proxy.set_rule(None, None, Fault.DELAY)
    with pytest.raises(ValueError, match="delay_s"):
        proxy.set_rule(None, None, Fault.TRUNCATE, delay_s=1)
    with pytest.raises(ValueError, match="times"):
        proxy.set_rule(None, None, Fault.TRUNCATE, times=0)


def test_threaded_proxy_serves_sync_clients(upstream_port: int) -> None:
    with (
        ThreadedFaultProxy("127.0.0.1", upstream_port) as proxy,
        httpx.Client(base_url=proxy.url, timeout=5) as http,
    ):
        proxy.set_rule("POST", PAY, Fault.DROP_RESPONSE_AFTER_UPSTREAM)
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(PAY, json={"bolt11": "lnbc1"})
        assert http.post(PAY, json={"bolt11": "lnbc1"}).status_code == 200
        assert HITS[PAY] == 2
        assert proxy.count("POST", PAY, handled=True) == 2
