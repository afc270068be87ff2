"""The extension clients' pure parts: LNDHub tokens and URLs, the advisory verdicts, the
Boltz stand-in's scripts and addresses (no server needed)."""

from __future__ import annotations

import base64

import pytest

from lnpilot.base.redact import redact_text
from lnpilot.devtools.boltz_backend import p2sh_p2wsh, p2wsh, reverse_script, submarine_script
from lnpilot.lnbits.advisories import check_extensions
from lnpilot.lnbits.credentials import Credential, Credentials, lndhub_token
from lnpilot.lnbits.models import AvailableExtension
from lnpilot.lnbits.resources.lndhub import LndhubUrl

KEY = "aa442caacb3946989a0b2015661f0a49"


def test_lndhub_token_is_what_lndhub_auth_issues_and_is_masked() -> None:
    # The recorded /auth answer for login "admin" and this key (lndhub.json, seq 3).
    assert lndhub_token(KEY, "admin") == "YWRtaW46YWE0NDJjYWFjYjM5NDY5ODlhMGIyMDE1NjYxZjBhNDk="
    assert base64.b64decode(lndhub_token(KEY)) == f"lnpilot:{KEY}".encode()
    assert "***" in redact_text(f"Bearer {lndhub_token(KEY)}")
    with pytest.raises(ValueError, match="must not contain ':'"):
        lndhub_token(KEY, "a:b")


def test_lndhub_headers_use_the_weakest_key() -> None:
    creds = Credentials(invoice_key="i" * 32, admin_key="a" * 32)
    inv = creds.headers_for(Credential.LNDHUB_INVOICE_KEY, method="GET", path="/")
    adm = creds.headers_for(Credential.LNDHUB_ADMIN_KEY, method="GET", path="/")
    assert inv == {"Authorization": f"Bearer {lndhub_token('i' * 32)}"}
    assert adm == {"Authorization": f"Bearer {lndhub_token('a' * 32)}"}


def test_lndhub_url_round_trip_and_errors() -> None:
    url = LndhubUrl.parse(f"lndhub://invoice:{KEY}@https://pay.example.com/lndhub/ext/")
    assert (url.kind, url.lnbits_url) == ("invoice", "https://pay.example.com")
    assert str(url) == f"lndhub://invoice:{KEY}@https://pay.example.com/lndhub/ext/"
    assert KEY not in repr(url)
    for bad, why in (
        ("https://x/lndhub/ext/", "looks like"),
        (f"lndhub://owner:{KEY}@https://x/lndhub/ext/", "admin or invoice"),
        (f"lndhub://admin:{KEY}@x/lndhub/ext/", "http"),
    ):
        with pytest.raises(ValueError, match=why):
            LndhubUrl.parse(bad)


def _ext(ext_id: str, version: str | None, *, active: bool = True) -> AvailableExtension:
    release = {"version": version} if version else None
    return AvailableExtension.model_validate(
        {"id": ext_id, "isInstalled": True, "isActive": active, "installedRelease": release}
    )


def test_advisory_verdicts() -> None:
    found = check_extensions(
        [
            _ext("boltz", "1.1.0"),
            _ext("lndhub", "0.0"),  # LNbits' "no version in the folder"
            _ext("usermanager", "1.2.0", active=False),
            _ext("tpos", "1.0.0"),
        ]
    )
    verdicts = {f.ext_id: (f.verdict, f.active) for f in found}
    assert verdicts == {
        "lndhub": ("affected", True),
        "usermanager": ("unverified", False),
        "boltz": ("affected", True),
    }


def test_standin_scripts_match_the_recorded_shape() -> None:
    """The recorded submarine swap lgJrnE: same hash, key and timeout give the same script
    and address (boltz_backend_calls.json, seq 8)."""
    payment_hash = "1cadf4979f901f27fce2195f98debc40161007495c704a22191ee3ed204bbb1d"
    refund = "034d86a885bad4e4932609933f7e0e33dea2430238f66760b65b0bd0d70d4773cd"
    script = submarine_script(payment_hash, refund, 1144)
    assert script.hex() == (
        "a914084591c10e0c5b1d7cec6ec1087eec9650d66a1b87632102637224c5aaa78ba1b989e8340f1c3e"
        "abcc73a67711d2a29875c348fc61eb888b67027804b17521034d86a885bad4e4932609933f7e0e33de"
        "a2430238f66760b65b0bd0d70d4773cd68ac"
    )
    assert p2sh_p2wsh(script)[0] == "2NB368d6MV9TNR5gpvGzXBVHm8NMe3Aoc9z"
    reverse = reverse_script(
        "648108ebe8c53c25ace276258cb596dfcd003892ea6c6695069a3e1805bd969d",
        "036311a5fe70329cf65ec20a980d9066ffe26bd0af211f8e327ee3c96caaa088c6",
        1344,
    )  # the recorded reverse swap FLTwCb (seq 28)
    assert p2wsh(reverse)[0] == "bcrt1qeeudfyz5zeghwxalm640esu4ll5gp7e5xj6d82ym8ataq80fhsksp2aa5v"
