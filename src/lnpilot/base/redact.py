"""Redaction of secrets from anything that may be logged, raised or shown.

LNbits keys are 32 hex characters, bearer tokens are JWTs, LND macaroons are long hex
strings. Known secret values are registered by the objects that hold them
(:func:`register_secret`) and replaced wherever they appear; shapes that look like
secrets (JWTs, ``X-Api-Key`` headers, ``api-key=`` query parameters, ``password`` fields)
are masked even when never registered.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"

_known_secrets: set[str] = set()
_lock = threading.Lock()

_PATTERNS = [
    # JWT bearer tokens: three base64url parts.
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
    # Query parameters and form fields that carry keys or passwords.
    re.compile(
        r"(?i)((?:api[-_]?key|usr|password|password_repeat|token|macaroon)[\"']?\s*[=:]\s*[\"']?)"
        r"[^\s\"'&,}]+"
    ),
]

SECRET_HEADERS = frozenset(
    {"x-api-key", "authorization", "cookie", "set-cookie", "grpc-metadata-macaroon"}
)

#: A credential header as httpcore's DEBUG trace prints it: ``(b'set-cookie', b'...')``.
_HEADER_TUPLE = re.compile(
    r"(?i)(\(b?['\"](?:" + "|".join(re.escape(h) for h in SECRET_HEADERS) + r")['\"],\s*b?)"
    r"(['\"]).*?(?<!\\)\2"
)

#: Loggers of the HTTP libraries the client runs on. Their DEBUG output carries every header
#: (httpcore prints LNbits' ``set-cookie`` with the session token, websockets the handshake),
#: and a logging filter applies only to the logger the record was made on, so each is named.
THIRD_PARTY_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "websockets.client",
    "websockets.protocol",
)


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is masked wherever it shows up later."""
    if value and len(value) >= 6:
        with _lock:
            _known_secrets.add(value)


def redact_text(text: str) -> str:
    """Return ``text`` with every registered secret and secret-shaped token masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(MASK, text)
    return _PATTERNS[1].sub(lambda m: m.group(1) + MASK, text)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: credential headers masked, the rest redacted as text."""
    return {
        name: MASK if name.lower() in SECRET_HEADERS else redact_text(value)
        for name, value in headers.items()
    }


def redact_value(value: Any) -> Any:
    """Redact a JSON-like structure (dicts, lists, strings) recursively."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: MASK if str(k).lower() in _SECRET_KEYS else redact_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


_SECRET_KEYS = frozenset(
    {"adminkey", "inkey", "password", "password_repeat", "access_token", "macaroon", "preimage"}
)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets masked before any handler sees it.

    The libraries' messages are built before the client learns the secret (the login's
    token arrives in the very answer httpcore logs), so shapes are masked as well as the
    registered values: credential headers whole, JWTs, ``token=`` and ``api-key=`` pairs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(_HEADER_TUPLE.sub(lambda m: f"{m.group(1)}'{MASK}'", message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Mask secrets in what httpx, httpcore and websockets log, whatever the embedding
    program's logging configuration (idempotent)."""
    for name in THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


# Installed on import: every lnpilot module that holds a secret imports this one, and the
# libraries may log before any client exists (the test harness's login, a webhook's URL).
install_log_redaction()
