"""A tiny LNURL service on 127.0.0.1: LNURL-pay (LUD-06), -auth (LUD-04), -withdraw offer.

LNbits 1.6.2 serves LNURL-pay itself only through an extension (lnurlp) that is not among the
releases the tests install, and Lightning addresses need HTTPS on a public domain. So the
tests and ``lnpilot dev`` start this service, and a real LNbits fetches it over HTTP (which
LNbits allows only with ``LNBITS_LNURL_ALLOW_PRIVATE_IPS`` and a callback rule for
127.0.0.1: see :data:`LNBITS_ENV`). The invoices it hands out are real: made by a real LNbits
wallet (the payee), so paying one moves real (FakeWallet) balances.

The withdraw endpoint only offers (``/withdraw``: what a scan shows); it never pays out.
The auth endpoint records the ``k1``, ``key`` and ``sig`` it is called with; it does not
verify the signature (that would need secp256k1 here): LNbits signs, lnpilot only relays.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from lnpilot.devtools.json_http import JsonHttpServer

#: What a real LNbits needs to fetch LNURLs from 127.0.0.1 (both are off by default:
#: LNbits refuses plain HTTP and private addresses, a guard against SSRF), and to let a
#: wallet pick its own Lightning address (so LNbits' own /.well-known/lnurlp can be paid).
LNBITS_ENV = {
    "LNBITS_LNURL_ALLOW_PRIVATE_IPS": "true",
    "LNBITS_CALLBACK_URL_RULES": json.dumps([r"http://127\.0\.0\.1(:\d+)?"]),
    "LNBITS_ALLOW_CUSTOM_WALLET_LIGHTNING_ADDRESSES": "true",
}


@dataclass
class LnurlService:
    """The service. ``lnbits_url`` and ``payee_inkey`` make the invoices (a real wallet)."""

    lnbits_url: str
    payee_inkey: str = field(repr=False)
    min_sendable_msat: int = 1_000
    max_sendable_msat: int = 100_000_000
    comment_allowed: int = 100
    description: str = "lnpilot test service"
    #: Every callback call: (path, query) — what LNbits asked for.
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _k1s: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._web = JsonHttpServer("LnurlService", self._serve)

    def _serve(self, method: str, target: str, body: Any) -> tuple[int, Any]:
        url = urlparse(target)
        return self.handle(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})

    def start(self) -> None:
        self._http = httpx.Client(base_url=self.lnbits_url, timeout=10.0, trust_env=False)
        self._web.start()

    def stop(self) -> None:
        if self._web.running:
            self._web.stop()
            self._http.close()

    @property
    def url(self) -> str:
        return self._web.url

    @property
    def pay_url(self) -> str:
        """The LNURL-pay URL; ``lnbits.resources.lnurl.encode_lnurl`` makes it an lnurl1 code."""
        return f"{self.url}/pay"

    def auth_url(self) -> str:
        """A fresh LNURL-auth URL with a new k1 challenge."""
        k1 = secrets.token_hex(32)
        with self._lock:
            self._k1s.add(k1)
        return f"{self.url}/auth?tag=login&k1={k1}"

    @property
    def metadata(self) -> str:
        return json.dumps([["text/plain", self.description]])

    def handle(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            self.calls.append((path, query))
        if path == "/pay":
            return 200, {
                "tag": "payRequest",
                "callback": f"{self.url}/pay/cb",
                "minSendable": self.min_sendable_msat,
                "maxSendable": self.max_sendable_msat,
                "metadata": self.metadata,
                "commentAllowed": self.comment_allowed,
            }
        if path == "/withdraw":
            return 200, {
                "tag": "withdrawRequest",
                "callback": f"{self.url}/withdraw/cb",
                "k1": secrets.token_hex(32),
                "minWithdrawable": 1_000,
                "maxWithdrawable": 50_000,
                "defaultDescription": "lnpilot test voucher",
            }
        if path == "/pay/cb":
            return self._invoice(query)
        if path == "/auth":
            with self._lock:
                known = query.get("k1") in self._k1s
            if not known or not query.get("key") or not query.get("sig"):
                return 200, {"status": "ERROR", "reason": "unknown k1 or missing key/sig"}
            return 200, {"status": "OK"}
        return 404, {"status": "ERROR", "reason": f"no such path {path}"}

    def _invoice(self, query: dict[str, str]) -> tuple[int, Any]:
        try:
            amount_msat = int(query["amount"])
        except (KeyError, ValueError):
            return 200, {"status": "ERROR", "reason": "amount (msat) is required"}
        if not self.min_sendable_msat <= amount_msat <= self.max_sendable_msat:
            return 200, {"status": "ERROR", "reason": f"amount {amount_msat} out of range"}
        if amount_msat % 1000:
            return 200, {"status": "ERROR", "reason": "whole satoshi only"}
        response = self._http.post(
            "/api/v1/payments",
            headers={"X-Api-Key": self.payee_inkey},
            json={
                "out": False,
                "amount": amount_msat // 1000,
                "unhashed_description": self.metadata.encode().hex(),
            },
        )
        if response.status_code >= 400:
            return 200, {"status": "ERROR", "reason": f"payee wallet: {response.text[:200]}"}
        return 200, {"pr": response.json()["bolt11"], "routes": []}
