"""The shared HTTP transport's retry rules (:mod:`lnpilot.base.retry`, :mod:`lnpilot.base.http`)
hold the same for both servers that use it: LND's REST API (``LndRest``) and LNbits (the
client's ``Transport``).

Each case runs against a real HTTP server on a local socket (the devtools JSON scaffold),
scripted per request: an answer with its status and headers, or a hang until the test ends
(what a client sees when the server took the request and is slow to answer). A client read
timeout is then certain to fire, whatever the machine's speed: the server never answers in
time, so no case depends on how fast anything runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Protocol

import pytest

from lnpilot.base.http import add_answer_observer
from lnpilot.base.redact import MASK
from lnpilot.base.retry import (
    RetryPolicy,
    parse_retry_after,
    should_retry_answer,
    should_retry_unanswered,
)
from lnpilot.devtools.json_http import JsonHttpServer
from lnpilot.lnbits.credentials import Credential, Credentials
from lnpilot.lnbits.errors import (
    LNbitsError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from lnpilot.lnbits.operations import Operation
from lnpilot.lnbits.transport import Transport, TransportSettings
from lnpilot.node import LndRest, LndRestError

MACAROON = "0201036c6e64" + "5e" * 16
PUBKEY = "02" + "ab" * 32
#: No wait between tries: the cases count requests, they do not time them.
QUICK = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0, deadline_s=30.0)
#: Long enough for a request on an idle machine, certain to fire on a server that hangs.
READ_TIMEOUT_S = 0.5
OK: tuple[int, Any] = (200, {"peers": []})


def http_date(delta: timedelta) -> str:
    return format_datetime(datetime.now(UTC) + delta, usegmt=True)


# --- the rules alone -----------------------------------------------------------------------


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    now = datetime(2026, 12, 7, 5, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("Mon, 07 Dec 2026 05:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Mon, 07 Dec 2026 04:00:00 GMT", now=now) == 0.0, "past: now"
    for unreadable in (None, "", "soon", "-3", "nan", "inf"):
        assert parse_retry_after(unreadable, now=now) is None, unreadable


def test_which_failures_may_be_sent_again() -> None:
    # no answer: never sent -> always; may have been sent -> only when idempotent
    assert should_retry_unanswered(sent=False, idempotent=False)
    assert should_retry_unanswered(sent=True, idempotent=True)
    assert not should_retry_unanswered(sent=True, idempotent=False)
    # an answer: 429 always (refused before handling); a transient error only when idempotent
    assert should_retry_answer(429, idempotent=False, transient=False)
    assert should_retry_answer(503, idempotent=True, transient=True)
    assert not should_retry_answer(503, idempotent=False, transient=True)
    assert not should_retry_answer(500, idempotent=True, transient=False)
    assert not should_retry_answer(404, idempotent=True, transient=False)


def test_the_deadline_and_the_attempts_bound_the_retries() -> None:
    policy = RetryPolicy(max_attempts=3, deadline_s=10.0)
    assert policy.allows(0, elapsed_s=1.0, delay_s=2.0)
    assert not policy.allows(2, elapsed_s=1.0, delay_s=0.0), "a third retry of three attempts"
    assert not policy.allows(0, elapsed_s=1.0, delay_s=9.5), "it would end past the deadline"


# --- a real server, scripted ----------------------------------------------------------------

HANG = "hang"
Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]] | str


@dataclass
class Scripted:
    """Answers the requests in order from ``script`` (then 200), and records them."""

    script: list[Answer] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    #: Set once a request that hangs has arrived; the hang ends when ``release`` is set.
    hanging: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, target: str, body: Any) -> Any:
        with self._lock:
            self.received.append(f"{method} {target.split('?', 1)[0]}")
            answer = self.script.pop(0) if self.script else OK
        if answer == HANG:
            self.hanging.set()
            self.release.wait(timeout=60)
            return OK
        return answer

    def of(self, method: str) -> int:
        return sum(1 for r in self.received if r.startswith(f"{method} "))


@pytest.fixture
def server() -> Iterator[tuple[Scripted, str]]:
    scripted = Scripted()
    web = JsonHttpServer("scripted", scripted.handle, methods=("GET", "POST"))
    web.start()
    try:
        yield scripted, web.url
    finally:
        scripted.release.set()
        web.stop()


class Backend(Protocol):
    """One server kind through its own client: a read (idempotent) and a write (not)."""

    #: The error of a request that got no answer.
    no_answer: type[Exception]

    def __init__(self, url: str) -> None: ...
    async def read(self) -> None: ...
    async def write(self) -> None: ...
    def requests(self, method: str) -> int: ...
    def status(self, error: Exception) -> int | None: ...
    async def aclose(self) -> None: ...


class Lnd:
    no_answer = LndRestError

    def __init__(self, url: str) -> None:
        self.client = LndRest(url, MACAROON, timeout_s=READ_TIMEOUT_S, retry=QUICK)

    async def read(self) -> None:
        assert await self.client.list_peers() == []

    async def write(self) -> None:
        await self.client.connect_peer(PUBKEY, "127.0.0.1:9735")

    def requests(self, method: str) -> int:
        return self.client.http.stats[f"{method} /v1/peers"].requests

    def status(self, error: Exception) -> int | None:
        assert isinstance(error, LndRestError)
        return error.status

    async def aclose(self) -> None:
        await self.client.aclose()


#: Not LNbits' paths: the answers of this scripted server must not count as LNbits'
#: (``make api-exercised`` records what the LNbits transport is answered).
READ = Operation("GET", "/scripted/read", Credential.INVOICE_KEY, name="", idempotent=True)
WRITE = Operation("POST", "/scripted/write", Credential.ADMIN_KEY, name="", idempotent=False)


class LNbits:
    no_answer = TransportError

    def __init__(self, url: str) -> None:
        settings = TransportSettings(timeout_s=READ_TIMEOUT_S, retry=QUICK, cache_ttl_s=0)
        self.client = Transport(url, Credentials(invoice_key="ik", admin_key="ak"), settings)

    async def read(self) -> None:
        await self.client.request(READ)

    async def write(self) -> None:
        await self.client.request(WRITE, json={"out": True})

    def requests(self, method: str) -> int:
        op = READ if method == "GET" else WRITE
        return self.client.stats[f"{op.method} {op.path}"].requests

    def status(self, error: Exception) -> int | None:
        assert isinstance(error, LNbitsError)
        return error.status

    async def aclose(self) -> None:
        await self.client.aclose()


@pytest.fixture(params=[Lnd, LNbits], ids=["lnd", "lnbits"])
async def backend(
    request: pytest.FixtureRequest, server: tuple[Scripted, str]
) -> AsyncIterator[Backend]:
    made: Backend = request.param(server[1])
    try:
        yield made
    finally:
        await made.aclose()


async def raises(call: Callable[[], Awaitable[None]]) -> Exception:
    with pytest.raises((LndRestError, LNbitsError)) as caught:
        await call()
    return caught.value


async def test_a_write_is_not_sent_again_after_a_read_timeout(
    backend: Backend, server: tuple[Scripted, str]
) -> None:
    scripted, _ = server
    scripted.script = [HANG]
    error = await raises(backend.write)
    assert isinstance(error, backend.no_answer), error
    if isinstance(error, TransportError):
        assert isinstance(error, RequestTimeoutError) and error.request_sent
    assert backend.requests("POST") == 1, "it may have taken effect: never resent"
    assert scripted.hanging.wait(timeout=60)
    assert len(scripted.received) == 1 and scripted.of("POST") == 1


async def test_a_read_is_sent_again_after_a_read_timeout(
    backend: Backend, server: tuple[Scripted, str]
) -> None:
    scripted, _ = server
    scripted.script = [HANG]
    await backend.read()
    assert backend.requests("GET") == 2
    assert scripted.of("GET") == 2


async def test_a_write_that_never_left_is_sent_again(backend: Backend) -> None:
    """Nothing listens: every try is refused before anything is sent, so even a write is
    tried again, up to the policy's attempts."""
    closed = JsonHttpServer("closed", lambda m, t, b: OK)
    closed.start()
    url = closed.url
    closed.stop()
    refused: Backend = type(backend)(url)
    try:
        error = await raises(refused.write)
        assert isinstance(error, backend.no_answer)
        if isinstance(error, TransportError):
            assert not error.request_sent
        assert refused.status(error) is None
        assert refused.requests("POST") == QUICK.max_attempts
        assert "ConnectError" in str(error)
    finally:
        await refused.aclose()


@pytest.mark.parametrize(
    "retry_after",
    [lambda: "0", lambda: http_date(-timedelta(hours=1))],
    ids=["seconds", "http-date"],
)
async def test_a_429_is_sent_again_even_for_a_write(
    backend: Backend, server: tuple[Scripted, str], retry_after: Callable[[], str]
) -> None:
    scripted, _ = server
    scripted.script = [(429, {"detail": "slow down"}, {"Retry-After": retry_after()})]
    await backend.write()
    assert scripted.of("POST") == 2


@pytest.mark.parametrize(
    "retry_after",
    [lambda: "3600", lambda: http_date(timedelta(hours=1))],
    ids=["seconds", "http-date"],
)
async def test_a_retry_after_past_the_deadline_is_honoured_by_not_coming_back(
    backend: Backend, server: tuple[Scripted, str], retry_after: Callable[[], str]
) -> None:
    """The server asks for an hour; the policy's deadline is 30 s: no retry is made (one that
    ignored the header would be answered 200 at once). The date is made when the test runs,
    not when the session collects it: a session can last longer than the hour's margin."""
    scripted, _ = server
    scripted.script = [(429, {"detail": "slow down"}, {"Retry-After": retry_after()})]
    error = await raises(backend.read)
    assert backend.status(error) == 429
    assert scripted.of("GET") == 1
    if isinstance(error, RateLimitedError):
        assert error.retry_after_s is not None and error.retry_after_s > 3000


async def test_lnd_honours_retry_after_as_an_http_date_on_503(
    server: tuple[Scripted, str],
) -> None:
    """LND starting (gRPC UNAVAILABLE is HTTP 503) asks for a date: a read waits for it;
    a date in the past means now."""
    scripted, url = server
    lnd = Lnd(url)
    try:
        scripted.script = [
            (
                503,
                {"code": 14, "message": "starting"},
                {"Retry-After": http_date(-timedelta(minutes=1))},
            )
        ]
        await lnd.read()
        assert scripted.of("GET") == 2
        scripted.script = [
            (
                503,
                {"code": 14, "message": "starting"},
                {"Retry-After": http_date(timedelta(hours=1))},
            )
        ]
        error = await raises(lnd.read)
        assert isinstance(error, LndRestError) and error.status == 503 and error.grpc_code == 14
        assert scripted.of("GET") == 3, "the hour asked for is past the deadline: not resent"
    finally:
        await lnd.aclose()


async def test_which_server_errors_are_transient_is_the_servers_own(
    server: tuple[Scripted, str],
) -> None:
    """LND's 500 is gRPC UNKNOWN, a final answer ("edge not found"): a read is not resent.
    LNbits' plain 500 may pass: a read is resent. A write is resent by neither."""
    scripted, url = server
    lnd, lnbits = Lnd(url), LNbits(url)
    try:
        scripted.script = [(500, {"code": 2, "message": "edge not found"})]
        error = await raises(lnd.read)
        assert isinstance(error, LndRestError) and error.status == 500
        assert scripted.received == ["GET /v1/peers"]

        scripted.script = [(500, {"detail": "database is locked"})]
        await lnbits.read()
        assert scripted.received[1:] == ["GET /scripted/read"] * 2

        scripted.script = [(503, {"detail": "busy"})]
        error = await raises(lnbits.write)
        assert isinstance(error, ServerError)
        assert scripted.received[3:] == ["POST /scripted/write"]
    finally:
        await lnd.aclose()
        await lnbits.aclose()


async def test_lnd_errors_and_retry_logs_carry_no_macaroon(
    server: tuple[Scripted, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scripted, url = server
    scripted.script = [
        (503, {"message": "busy"}),
        (400, {"code": 3, "message": f"bad macaroon {MACAROON}"}),
    ]
    lnd = Lnd(url)
    try:
        error = await raises(lnd.read)
    finally:
        await lnd.aclose()
    assert MASK in str(error) and MACAROON not in str(error)
    assert "lnd retry method=GET path=/v1/peers attempt=1" in caplog.text
    assert MACAROON not in caplog.text


async def test_an_observer_sees_every_answer_by_path_template(
    server: tuple[Scripted, str],
) -> None:
    """What ``make api-exercised`` records: answers under the operation's template, so a
    node asked about a thousand pubkeys counts one operation; nothing once it stops."""
    _, url = server
    seen: list[tuple[str, str, int]] = []
    stop = add_answer_observer(lambda server, label, status: seen.append((server, label, status)))
    lnd = Lnd(url)
    try:
        assert await lnd.client.policies_toward(PUBKEY) == {}
        stop()
        await lnd.client.policies_toward(PUBKEY)
    finally:
        await lnd.aclose()
    assert seen == [("lnd", "GET /v1/graph/node/{pub_key}", 200)]
    assert set(lnd.client.http.stats) == {"GET /v1/graph/node/{pub_key}"}


async def test_a_refused_stream_is_lnds_typed_error_and_is_opened_once(
    server: tuple[Scripted, str],
) -> None:
    """A stream is not resent by the transport, even a read: its owner decides whether to
    reconnect (the HTLC event reader does, a close never does)."""
    scripted, url = server
    scripted.script = [(503, {"code": 14, "message": "starting"})]
    lnd = Lnd(url)
    try:
        with pytest.raises(LndRestError) as caught:
            async for _ in lnd.client.channel_backups():
                pass
    finally:
        await lnd.aclose()
    assert caught.value.status == 503 and caught.value.grpc_code == 14
    assert "GET /v1/channels/backup/subscribe: starting" in str(caught.value)
    assert scripted.received == ["GET /v1/channels/backup/subscribe"]
