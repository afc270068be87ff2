"""Pure pieces of the client: backoff, rate limiter, cache, BOLT11, redaction, error mapping."""

from __future__ import annotations

import random
import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lnpilot.base.redact import redact_text, register_secret
from lnpilot.lnbits import bolt11
from lnpilot.lnbits.cache import TTLCache
from lnpilot.lnbits.credentials import Credential, Credentials
from lnpilot.lnbits.errors import (
    AuthenticationError,
    InsufficientBalanceError,
    InvalidRequestError,
    InvoiceDecodeError,
    MissingCredentialError,
    NodeUIDisabledError,
    PaymentFailedError,
    RateLimitedError,
    ServerError,
    UnsupportedByBackendError,
)
from lnpilot.lnbits.ratelimit import TokenBucket
from lnpilot.lnbits.retry import RetryPolicy
from lnpilot.lnbits.transport import error_from_response

# BOLT11 specification test vector ("1 cup coffee", 2500u, 60 s expiry).
SPEC_INVOICE = (
    "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqq"
    "syqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpm"
    "dla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh"
)


@given(attempt=st.integers(0, 30), retry_after=st.one_of(st.none(), st.floats(0, 100)))
def test_backoff_is_capped_jittered_and_honours_retry_after(attempt, retry_after) -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=2.0)
    delay = policy.delay_s(attempt, retry_after_s=retry_after, rng=random.Random(attempt))
    ceiling = min(2.0, 0.1 * 2**attempt)
    if retry_after is None:
        assert 0.0 <= delay <= ceiling
    else:
        assert delay >= retry_after
        assert delay <= max(ceiling, retry_after)


def test_backoff_full_jitter_spreads_delays() -> None:
    rng = random.Random(1)
    delays = {round(RetryPolicy().delay_s(5, rng=rng), 3) for _ in range(50)}
    assert len(delays) > 40


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


async def test_token_bucket_limits_sustained_rate() -> None:
    bucket = TokenBucket(rate_per_s=50, burst=5)
    started = time.monotonic()
    for _ in range(15):
        await bucket.acquire()
    # 5 come from the burst, the other 10 need 10/50 s at least.
    assert time.monotonic() - started >= 0.18


def test_cache_hits_expiry_and_invalidation() -> None:
    cache = TTLCache(ttl_s=60)
    assert cache.get("wallet", "k") == (False, None)
    cache.put("wallet", "k", 1)
    cache.put("payments", "p", 2)
    assert cache.get("wallet", "k") == (True, 1)
    cache.invalidate("wallet")
    assert cache.get("wallet", "k") == (False, None)
    assert cache.get("payments", "p") == (True, 2)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.invalidations) == (2, 2, 1)
    expired = TTLCache(ttl_s=0.0)
    expired.put("wallet", "k", 1)
    assert expired.get("wallet", "k") == (False, None)


def test_decode_spec_vector() -> None:
    invoice = bolt11.decode("lightning:" + SPEC_INVOICE.upper())
    assert invoice.network_prefix == "bc"
    assert invoice.amount_msat == 250_000_000
    assert (
        invoice.payment_hash == "0001020304050607080900010203040506070809000102030405060708090102"
    )
    assert invoice.description == "1 cup coffee"
    assert invoice.expiry_s == 60
    assert invoice.is_expired()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense", "separator"),
        (SPEC_INVOICE[:-1] + "q", "checksum"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "lightning"),
        (SPEC_INVOICE[:10] + "B" + SPEC_INVOICE[11:], "mixed-case"),
    ],
)
def test_decode_rejects_bad_strings(text: str, message: str) -> None:
    with pytest.raises(InvoiceDecodeError, match=message):
        bolt11.decode(text)


def test_credentials_repr_and_missing_credential_message() -> None:
    creds = Credentials(
        invoice_key="inv-secret-123", admin_key="adm-secret-456", password="pw-789xyz"
    )
    text = repr(creds)
    assert "inv-secret-123" not in text and "adm-secret-456" not in text and "pw-789xyz" not in text
    with pytest.raises(MissingCredentialError, match="bearer"):
        creds.headers_for(Credential.BEARER, method="GET", path="/api/v1/wallets")
    assert creds.headers_for(Credential.INVOICE_KEY, method="GET", path="/")["X-Api-Key"] == (
        "inv-secret-123"
    )


def test_redaction_of_registered_and_shaped_secrets() -> None:
    register_secret("0123456789abcdef0123456789abcdef")
    text = redact_text(
        "key 0123456789abcdef0123456789abcdef in /x?api-key=zzz&usr=u1 "
        "token eyJhbGciOi.eyJzdWIiOiJ4In0.c2lnbmF0dXJl password=hunter22"
    )
    for secret in ("0123456789abcdef", "zzz", "u1 ", "eyJzdWIi", "hunter22"):
        assert secret not in text


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (401, {"detail": "Missing user ID or access token."}, None, AuthenticationError),
        (400, {"detail": [{"loc": ["body", "amount"], "msg": "bad"}]}, None, InvalidRequestError),
        (400, {"detail": "Insufficient balance."}, None, InsufficientBalanceError),
        (429, {"detail": "Rate limit exceeded"}, {"Retry-After": "7"}, RateLimitedError),
        (
            501,
            {"detail": "Active backend does not implement Node API"},
            None,
            UnsupportedByBackendError,
        ),
        (520, {"detail": "Payment failed: no route", "status": "failed"}, None, PaymentFailedError),
        (520, {"detail": "Payment is still pending.", "status": "pending"}, None, ServerError),
        (502, {"detail": "bad gateway"}, None, ServerError),
    ],
)
def test_error_mapping(status, body, headers, expected) -> None:
    error = error_from_response(
        "POST", "/api/v1/payments?api-key=leak", _response(status, body, headers)
    )
    assert type(error) is expected
    assert error.status == status and error.method == "POST"
    assert "leak" not in str(error)
    if expected is RateLimitedError:
        assert error.retry_after_s == 7.0
    if expected is InvalidRequestError:
        assert "body.amount: bad" in str(error)


def test_node_ui_off_is_its_own_error() -> None:
    error = error_from_response("GET", "/node/api/v1/info", _response(503, {"detail": "off"}))
    assert isinstance(error, NodeUIDisabledError)
