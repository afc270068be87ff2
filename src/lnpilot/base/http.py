"""The one HTTP transport to the servers lnpilot drives: LNbits, and LND's REST API.

Both need the same things from HTTP: a request with its own timeout, the answer mapped to a
typed error the caller can branch on, resends where they are safe (the rules are in
:mod:`lnpilot.base.retry`: "was it sent", idempotency, 429 and ``Retry-After`` in seconds or
as an HTTP date), per-request counters, log lines with secrets masked, and, for LND, streams of
line-delimited JSON. What differs between the two servers is configuration of this one
transport, not a second one:

- the credentials: a static header (LND's macaroon) and a TLS context for a self-signed
  certificate (:func:`tls_context`), or headers per request (LNbits' API keys, a bearer token
  the caller may refresh once through ``reauthenticate``);
- the :class:`ServerAnswers`: which statuses are a success, how an error answer or a missing
  answer becomes the server's typed error, and which error answers another try may cure;
- the limits: concurrency, a client-side rate limit (``throttle``), timeouts, the
  :class:`~lnpilot.base.retry.RetryPolicy`.

The transport never decides by itself that a write is safe to resend: the caller says per
request whether it is idempotent, and a request that may have reached the server is resent
only then. Payments are never idempotent, and their ambiguity is resolved by their owner.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from lnpilot.base.redact import redact_text
from lnpilot.base.retry import (
    RetryPolicy,
    parse_retry_after,
    should_retry_answer,
    should_retry_unanswered,
)

#: httpx errors raised before the request left this process: always safe to resend.
NOT_SENT: tuple[type[httpx.HTTPError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)

#: Told ``(server, "METHOD /path/template", status)`` for every HTTP answer any transport
#: receives; ``server`` is the transport's ``name`` (``"lnbits"``, ``"lnd"``).
AnswerObserver = Callable[[str, str, int], None]

_observers: list[AnswerObserver] = []


def add_answer_observer(observer: AnswerObserver) -> Callable[[], None]:
    """Have ``observer`` told of every answer from now on; returns the call that stops it.

    Nothing is recorded unless someone asks: the test session's API-coverage record
    (``tests/conftest.py``, ``make api-exercised``) is the one observer today.
    """
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def was_sent(exc: httpx.HTTPError) -> bool:
    """Whether the request may have reached the server (and so may have taken effect)."""
    return not isinstance(exc, NOT_SENT)


def tls_context(cert_path: str | Path | None) -> ssl.SSLContext | bool:
    """What httpx checks the server's certificate with: the given certificate (a node's
    self-signed ``tls.cert``) or, without one, the system's CAs."""
    if cert_path is None:
        return True
    return ssl.create_default_context(cafile=str(cert_path))


class ServerAnswers(Protocol):
    """How one kind of server answers: the part of the transport that is not shared."""

    def succeeded(self, status: int) -> bool:
        """Whether an answer with this status is the result (not an error)."""
        ...

    def error_for_answer(self, method: str, path: str, response: httpx.Response) -> Exception:
        """The typed error of an error answer (its body is read)."""
        ...

    def error_for_no_answer(
        self, method: str, path: str, exc: httpx.HTTPError, *, sent: bool
    ) -> Exception:
        """The typed error of a request that got no complete answer."""
        ...

    def transient(self, error: Exception) -> bool:
        """Whether another try may cure this error answer (a 5xx the server may not repeat)."""
        ...


@dataclass(frozen=True)
class Request:
    """One request as the transport sends it.

    ``label`` names the operation in counters, observers and logs (``"GET /path/{id}"``:
    the template, so that ids and keys in paths do not multiply the counters).
    """

    method: str
    path: str
    label: str
    idempotent: bool
    headers: dict[str, str] | None = None
    params: Any = None
    json: Any = None
    timeout_s: float | None = None


@dataclass
class OperationStats:
    """Counters per operation, read by the metrics face."""

    requests: int = 0
    retries: int = 0
    errors: int = 0
    latency_total_s: float = 0.0


#: Called once with the error of an answer; new headers to resend with, or None.
Reauthenticate = Callable[[Exception], Awaitable[dict[str, str] | None]]


class HttpTransport:
    """Sends requests to one server and applies the shared retry rules.

    ``name`` starts its log lines (``"lnbits retry ..."``); ``headers`` go with every request;
    ``verify`` is :func:`tls_context`'s answer; ``transport`` replaces the network (the lab's
    in-process app) and ``http_client`` the whole client (tests). ``max_concurrency`` caps
    requests in flight and ``throttle`` is awaited before each one (a token bucket).
    """

    def __init__(
        self,
        base_url: str,
        answers: ServerAnswers,
        *,
        name: str,
        logger: logging.Logger,
        timeout_s: float,
        retry: RetryPolicy,
        headers: dict[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
        max_connections: int | None = None,
        max_concurrency: int | None = None,
        throttle: Callable[[], Awaitable[object]] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.answers = answers
        self.name = name
        self.timeout_s = timeout_s
        self.retry = retry
        self._log = logger
        limits = (
            httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
            if max_connections is not None
            else httpx.Limits()
        )
        self._http = http_client or httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout_s,
            verify=verify,
            limits=limits,
            transport=transport,
        )
        self._owns_http = http_client is None
        self._slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._throttle = throttle
        #: Per ``Request.label``; a label never sent reads as zeros.
        self.stats: defaultdict[str, OperationStats] = defaultdict(OperationStats)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- one request, resent where the rules allow ------------------------------------

    async def send(
        self,
        request: Request,
        *,
        retry: RetryPolicy | None = None,
        reauthenticate: Reauthenticate | None = None,
    ) -> httpx.Response:
        """The successful answer to ``request``, or the server's typed error.

        ``reauthenticate`` is offered an error answer once (an expired token): when it gives
        new headers, the request is sent again with them, since the server refused it
        before handling it.
        """
        policy = retry or self.retry
        stats = self.stats[request.label]
        started = time.monotonic()
        headers = request.headers
        attempt = 0
        while True:
            stats.requests += 1
            retry_after_s: float | None = None
            cause: Exception | None = None
            try:
                response = await self._send_once(request, headers)
            except httpx.HTTPError as exc:
                sent = was_sent(exc)
                cause = exc
                failure = self.answers.error_for_no_answer(
                    request.method, request.path, exc, sent=sent
                )
                retryable = should_retry_unanswered(sent=sent, idempotent=request.idempotent)
            else:
                if self.answers.succeeded(response.status_code):
                    stats.latency_total_s += time.monotonic() - started
                    return response
                failure = self.answers.error_for_answer(request.method, request.path, response)
                if reauthenticate is not None:
                    fresh = await reauthenticate(failure)
                    if fresh is not None:
                        headers, reauthenticate = fresh, None
                        continue
                retryable = should_retry_answer(
                    response.status_code,
                    idempotent=request.idempotent,
                    transient=self.answers.transient(failure),
                )
                retry_after_s = parse_retry_after(response.headers.get("Retry-After"))
            stats.errors += 1
            elapsed_s = time.monotonic() - started
            delay_s = policy.delay_s(attempt, retry_after_s=retry_after_s)
            if not retryable or not policy.allows(attempt, elapsed_s, delay_s):
                stats.latency_total_s += elapsed_s
                raise failure from cause
            self._log.info(
                "%s retry method=%s path=%s attempt=%d delay_s=%.2f error=%s",
                self.name,
                request.method,
                redact_text(request.path),
                attempt + 1,
                delay_s,
                type(failure).__name__,
            )
            stats.retries += 1
            attempt += 1
            await asyncio.sleep(delay_s)

    async def _send_once(self, request: Request, headers: dict[str, str] | None) -> httpx.Response:
        if self._slots is None:
            response = await self._request(request, headers)
        else:
            async with self._slots:
                response = await self._request(request, headers)
        _observe(self.name, request.label, response.status_code)
        return response

    async def _request(self, request: Request, headers: dict[str, str] | None) -> httpx.Response:
        if self._throttle is not None:
            await self._throttle()
        started = time.monotonic()
        response = await self._http.request(
            request.method,
            request.path,
            headers=headers,
            params=request.params,
            json=request.json,
            timeout=self.timeout_s if request.timeout_s is None else request.timeout_s,
        )
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug(
                "%s request method=%s path=%s status=%d elapsed_ms=%.1f",
                self.name,
                request.method,
                redact_text(request.path),
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
        return response

    # -- a streamed answer ------------------------------------------------------------

    @asynccontextmanager
    async def stream(
        self, request: Request, *, idle_forever: bool = False
    ) -> AsyncIterator[httpx.Response]:
        """A successful answer whose body is read as it comes (``aiter_lines``).

        Opened once: a stream is not resent here, its owner knows whether to reconnect (an
        event subscription) or not (a channel close). An error answer before the body is
        the server's typed error; a transport error while opening or reading it, the typed
        no-answer error. An event stream may be quiet for hours: ``idle_forever`` lifts the
        read timeout.
        """
        timeout_s = self.timeout_s if request.timeout_s is None else request.timeout_s
        timeout = httpx.Timeout(timeout_s, read=None) if idle_forever else httpx.Timeout(timeout_s)
        stats = self.stats[request.label]
        stats.requests += 1
        try:
            async with self._http.stream(
                request.method,
                request.path,
                headers=request.headers,
                params=request.params,
                json=request.json,
                timeout=timeout,
            ) as response:
                _observe(self.name, request.label, response.status_code)
                if not self.answers.succeeded(response.status_code):
                    await response.aread()
                    stats.errors += 1
                    raise self.answers.error_for_answer(request.method, request.path, response)
                yield response
        except httpx.HTTPError as exc:
            stats.errors += 1
            raise self.answers.error_for_no_answer(
                request.method, request.path, exc, sent=was_sent(exc)
            ) from exc


def _observe(server: str, label: str, status: int) -> None:
    for observer in tuple(_observers):
        observer(server, label, status)
