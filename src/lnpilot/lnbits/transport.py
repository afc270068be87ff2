"""The one HTTP path every LNbits call takes.

It applies, in order: the credential check (before anything is sent), the read cache,
the concurrency cap and the client-side rate limit, the request with its own timeout,
mapping of the answer to a typed error, and retries with backoff where they are safe.

What "safe" means here: a request that never reached LNbits (connection refused, pool
timeout) or that LNbits refused before handling it (429) may always be sent again; a
request that may have taken effect (timeout while waiting for the answer, connection lost
after sending, 5xx) is sent again only when the operation is idempotent. Payments are not,
and their ambiguity is resolved by :mod:`lnpilot.lnbits.resources.payments`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from lnpilot.base.redact import redact_text
from lnpilot.lnbits.cache import TTLCache
from lnpilot.lnbits.credentials import Credential, Credentials
from lnpilot.lnbits.errors import (
    AuthenticationError,
    InsufficientBalanceError,
    InvalidRequestError,
    LNbitsError,
    NodeUIDisabledError,
    NotFoundError,
    PaymentFailedError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UnsupportedByBackendError,
)
from lnpilot.lnbits.operations import Operation
from lnpilot.lnbits.ratelimit import DEFAULT_RATE_PER_MIN, TokenBucket
from lnpilot.lnbits.retry import RetryPolicy

log = logging.getLogger("lnpilot.lnbits")

LOGIN = "/api/v1/auth"

#: httpx errors raised before the request left this process: always safe to resend.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


#: Every operation that got an HTTP answer in this process, by ``"METHOD /path/template"``,
#: with the statuses seen. Process-wide and bounded (operations × statuses): the test
#: session writes it out (``LNPILOT_API_EXERCISED``) so ``make api-coverage`` can count what
#: the tests really sent, beside what the client declares.
ANSWERED: defaultdict[str, set[int]] = defaultdict(set)


@dataclass
class OperationStats:
    """Counters per operation, read by the metrics face."""

    requests: int = 0
    retries: int = 0
    errors: int = 0
    latency_total_s: float = 0.0


@dataclass
class TransportSettings:
    """Tunable limits; defaults stay under LNbits' 200 requests/minute per IP."""

    timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit_per_min: float = DEFAULT_RATE_PER_MIN
    rate_limit_burst: int = 20
    max_concurrency: int = 8
    max_connections: int = 16
    cache_ttl_s: float = 2.0


class Transport:
    """Sends :class:`Operation` s to one LNbits server with one set of credentials."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        settings: TransportSettings | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.settings = settings or TransportSettings()
        limits = httpx.Limits(
            max_connections=self.settings.max_connections,
            max_keepalive_connections=self.settings.max_connections,
        )
        self._http = http_client or httpx.AsyncClient(
            base_url=self.base_url, timeout=self.settings.timeout_s, limits=limits
        )
        self._owns_http = http_client is None
        self._bucket = TokenBucket(
            self.settings.rate_limit_per_min / 60.0, self.settings.rate_limit_burst
        )
        self._slots = asyncio.Semaphore(self.settings.max_concurrency)
        self._login_lock = asyncio.Lock()
        self.cache = TTLCache(self.settings.cache_ttl_s)
        self.stats: dict[str, OperationStats] = defaultdict(OperationStats)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- authentication -------------------------------------------------------------

    async def login(self) -> None:
        """Exchange username/password for a bearer token (also used on expiry)."""
        creds = self.credentials
        if not creds.can_login:
            raise AuthenticationError(
                "bearer token rejected and no username/password to log in again",
                method="POST",
                path=LOGIN,
            )
        async with self._login_lock:
            response = await self._send_once(
                "POST",
                LOGIN,
                headers={},
                params=None,
                json={"username": creds.username, "password": creds.password},
                timeout_s=self.settings.timeout_s,
            )
            if response.status_code >= 400:
                raise error_from_response("POST", LOGIN, response)
            creds.set_access_token(response.json()["access_token"])

    # -- the request path -----------------------------------------------------------

    async def request(
        self,
        op: Operation,
        *,
        path_params: dict[str, str | int] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        timeout_s: float | None = None,
        bypass_cache: bool = False,
        retry: RetryPolicy | None = None,
    ) -> Any:
        """Send ``op`` and return its decoded JSON body (None when empty)."""
        path = op.render_path(**(path_params or {}))
        headers = self.credentials.headers_for(op.credential, method=op.method, path=path)
        if op.credential is Credential.BEARER and not headers:
            await self.login()
            headers = self.credentials.headers_for(op.credential, method=op.method, path=path)

        cache_key = ""
        if op.cache_scope:
            cache_key = f"{path}?{sorted((params or {}).items())}|{headers.get('X-Api-Key', '')}"
        if op.cache_scope and not bypass_cache:
            hit, value = self.cache.get(op.cache_scope, cache_key)
            if hit:
                return value

        body = await self._with_retries(
            op, path, headers, params, json, timeout_s or self.settings.timeout_s, retry
        )
        if op.invalidates:
            self.cache.invalidate(*op.invalidates)
        if op.cache_scope:
            self.cache.put(op.cache_scope, cache_key, body)
        return body

    async def _with_retries(
        self,
        op: Operation,
        path: str,
        headers: dict[str, str],
        params: dict[str, Any] | None,
        json: Any,
        timeout_s: float,
        retry: RetryPolicy | None,
    ) -> Any:
        policy = retry or self.settings.retry
        stats = self.stats[f"{op.method} {op.path}"]
        started = time.monotonic()
        relogged = False
        attempt = 0
        while True:
            stats.requests += 1
            retry_after_s: float | None = None
            try:
                response = await self._send_once(op.method, path, headers, params, json, timeout_s)
            except httpx.HTTPError as exc:
                failure: LNbitsError = _transport_error(op.method, path, exc)
                retryable = isinstance(exc, _NOT_SENT) or op.idempotent
            else:
                ANSWERED[f"{op.method} {op.path}"].add(response.status_code)
                if response.status_code < 400:
                    stats.latency_total_s += time.monotonic() - started
                    return response.json() if response.content else None
                failure = error_from_response(op.method, path, response)
                if (
                    isinstance(failure, AuthenticationError)
                    and op.credential is Credential.BEARER
                    and self.credentials.can_login
                    and not relogged
                ):
                    # Expired token: LNbits refused before handling, so resending is safe.
                    relogged = True
                    await self.login()
                    headers = self.credentials.headers_for(
                        op.credential, method=op.method, path=path
                    )
                    continue
                if isinstance(failure, RateLimitedError):
                    retryable, retry_after_s = True, failure.retry_after_s
                else:
                    retryable = isinstance(failure, ServerError) and op.idempotent
            stats.errors += 1
            elapsed_s = time.monotonic() - started
            delay_s = policy.delay_s(attempt, retry_after_s=retry_after_s)
            if (
                not retryable
                or attempt + 1 >= policy.max_attempts
                or elapsed_s + delay_s > policy.deadline_s
            ):
                stats.latency_total_s += elapsed_s
                raise failure
            log.info(
                "lnbits retry method=%s path=%s attempt=%d delay_s=%.2f error=%s",
                op.method,
                redact_text(path),
                attempt + 1,
                delay_s,
                type(failure).__name__,
            )
            stats.retries += 1
            attempt += 1
            await asyncio.sleep(delay_s)

    async def _send_once(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        params: dict[str, Any] | None,
        json: Any,
        timeout_s: float,
    ) -> httpx.Response:
        async with self._slots:
            await self._bucket.acquire()
            started = time.monotonic()
            response = await self._http.request(
                method, path, headers=headers, params=params, json=json, timeout=timeout_s
            )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "lnbits request method=%s path=%s status=%d elapsed_ms=%.1f",
                method,
                redact_text(path),
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
        return response


def _transport_error(method: str, path: str, exc: httpx.HTTPError) -> TransportError:
    sent = not isinstance(exc, _NOT_SENT)
    kind = RequestTimeoutError if isinstance(exc, httpx.TimeoutException) else TransportError
    what = "request may have reached LNbits" if sent else "request was not sent"
    return kind(
        f"{type(exc).__name__}: {exc or 'no answer'} ({what})",
        request_sent=sent,
        method=method,
        path=path,
    )


def _detail(response: httpx.Response) -> tuple[str, Any]:
    """LNbits' message and its raw ``detail`` (a string, or a list for validation)."""
    try:
        body = response.json()
    except ValueError:
        return (response.text[:200] or response.reason_phrase), None
    if isinstance(body, dict):
        detail = body.get("detail", body.get("message", body))
        if isinstance(detail, list):
            parts = [
                f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
                for item in detail
                if isinstance(item, dict)
            ]
            return "; ".join(parts) or str(detail), detail
        return str(detail), body
    return str(body), body


def error_from_response(method: str, path: str, response: httpx.Response) -> LNbitsError:
    """Map an LNbits error answer to the typed error a caller can branch on."""
    status = response.status_code
    message, detail = _detail(response)
    kwargs: dict[str, Any] = {"method": method, "path": path, "status": status, "detail": detail}
    if status == 401:
        return AuthenticationError(message, **kwargs)
    if status == 403:
        return PermissionDeniedError(message, **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status in (400, 422):
        if "insufficient balance" in message.lower():
            return InsufficientBalanceError(message, **kwargs)
        return InvalidRequestError(message, **kwargs)
    if status == 429:
        retry_after = response.headers.get("Retry-After")
        try:
            retry_after_s = float(retry_after) if retry_after else None
        except ValueError:
            retry_after_s = None
        return RateLimitedError(message, retry_after_s=retry_after_s, **kwargs)
    if status == 501:
        return UnsupportedByBackendError(message, **kwargs)
    if status == 503 and path.startswith("/node/"):
        return NodeUIDisabledError(message, **kwargs)
    if status == 520 and isinstance(detail, dict) and detail.get("status") == "failed":
        # LNbits' PaymentError/InvoiceError: ``status`` says whether it is final.
        if "not supported" in message.lower():
            return UnsupportedByBackendError(message, **kwargs)
        if "insufficient balance" in message.lower():
            return InsufficientBalanceError(message, **kwargs)
        return PaymentFailedError(message, payment_hash=None, **kwargs)
    if status >= 500:
        return ServerError(message, **kwargs)
    return LNbitsError(message, **kwargs)
