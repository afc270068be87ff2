"""The one HTTP path every LNbits call takes.

It applies, in order: the credential check (before anything is sent), the read cache, and
then the shared transport (:mod:`lnpilot.base.http`, the one LND REST uses too) with
LNbits' configuration: the concurrency cap and the client-side rate limit, the request with
its own timeout, LNbits' answers mapped to typed errors (:func:`error_from_response`), one
new login when a bearer token expired, and retries with backoff where they are safe.

What "safe" means (:mod:`lnpilot.base.retry`): a request that never reached LNbits
(connection refused, pool timeout) or that LNbits refused before handling it (429) may
always be sent again; a request that may have taken effect (timeout while waiting for the
answer, connection lost after sending, 5xx) is sent again only when the operation is
idempotent. Payments are not, and their ambiguity is resolved by
:mod:`lnpilot.lnbits.resources.payments`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from lnpilot.base.http import HttpTransport, Reauthenticate, Request
from lnpilot.base.retry import NO_RETRY, RetryPolicy, parse_retry_after
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

log = logging.getLogger("lnpilot.lnbits")

LOGIN = "/api/v1/auth"


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
        self.credentials = credentials
        self.settings = settings or TransportSettings()
        bucket = TokenBucket(
            self.settings.rate_limit_per_min / 60.0, self.settings.rate_limit_burst
        )
        self.http = HttpTransport(
            base_url,
            LNbitsAnswers(),
            name="lnbits",
            logger=log,
            timeout_s=self.settings.timeout_s,
            retry=self.settings.retry,
            max_connections=self.settings.max_connections,
            max_concurrency=self.settings.max_concurrency,
            throttle=bucket.acquire,
            http_client=http_client,
        )
        self.base_url = self.http.base_url
        self._login_lock = asyncio.Lock()
        self.cache = TTLCache(self.settings.cache_ttl_s)
        #: Counters per ``"METHOD /path/template"``, the shared transport's.
        self.stats = self.http.stats

    async def aclose(self) -> None:
        await self.http.aclose()

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
        login = Request(
            "POST",
            LOGIN,
            label=f"POST {LOGIN}",
            idempotent=False,
            json={"username": creds.username, "password": creds.password},
        )
        async with self._login_lock:
            response = await self.http.send(login, retry=NO_RETRY)
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

        request = Request(
            op.method,
            path,
            label=f"{op.method} {op.path}",
            idempotent=op.idempotent,
            headers=headers,
            params=params,
            json=json,
            timeout_s=timeout_s or self.settings.timeout_s,
        )
        relogin = self._relogin(op, path) if op.credential is Credential.BEARER else None
        response = await self.http.send(request, retry=retry, reauthenticate=relogin)
        body = response.json() if response.content else None
        if op.invalidates:
            self.cache.invalidate(*op.invalidates)
        if op.cache_scope:
            self.cache.put(op.cache_scope, cache_key, body)
        return body

    def _relogin(self, op: Operation, path: str) -> Reauthenticate:
        """An expired bearer token: log in again and resend once (LNbits refused the request
        before handling it, so resending is safe)."""

        async def relogin(failure: Exception) -> dict[str, str] | None:
            if not isinstance(failure, AuthenticationError) or not self.credentials.can_login:
                return None
            await self.login()
            return self.credentials.headers_for(op.credential, method=op.method, path=path)

        return relogin


class LNbitsAnswers:
    """How LNbits answers, for the shared transport: below 400 is a result, errors are
    :mod:`lnpilot.lnbits.errors`, and a plain 5xx may be cured by another try."""

    def succeeded(self, status: int) -> bool:
        return status < 400

    def error_for_answer(self, method: str, path: str, response: httpx.Response) -> Exception:
        return error_from_response(method, path, response)

    def error_for_no_answer(
        self, method: str, path: str, exc: httpx.HTTPError, *, sent: bool
    ) -> Exception:
        return _transport_error(method, path, exc, sent=sent)

    def transient(self, error: Exception) -> bool:
        return isinstance(error, ServerError)


def _transport_error(method: str, path: str, exc: httpx.HTTPError, *, sent: bool) -> TransportError:
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
        retry_after_s = parse_retry_after(response.headers.get("Retry-After"))
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
