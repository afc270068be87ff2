"""A stand-in Boltz backend (legacy v1 REST API) for the real Boltz extension in tests.

No Boltz backend can run here, so this is the one test double of the extension tests, built
from what the extension was recorded sending to one and getting back
(`../shared/contracts/boltz_backend_calls.json`): the same endpoints, shapes, error mapping
and rules (`fake_behaviour` there). The pairs are the recorded answer itself. Swaps are made
the way Boltz makes them, so the extension can parse and sign against them: Boltz-style HTLC
redeem scripts with the keys and hashes the extension sent, regtest P2SH-P2WSH (submarine)
and P2WSH (reverse) addresses, and synthetic lockup transactions paying those addresses.

Like the recording's stand-in, the reverse swap "hold invoice" is a normal invoice of a house
wallet on the same LNbits (FakeWallet has no hold invoices), and paying a submarine swap's
invoice is an explicit step (:meth:`BoltzBackend.pay_submarine_invoice`), which is what
Boltz does once the on-chain lockup confirms. Only the BTC/BTC pair makes swaps (Liquid
needs `wallycore`, which LNbits does not have here).
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lnpilot.base import bech32
from lnpilot.devtools.json_http import JsonHttpServer
from lnpilot.devtools.lnbits_server import LNbitsServer
from lnpilot.lnbits import bolt11

#: Boltz's own key in the HTLC scripts (the recorded one; nothing here signs with it).
BOLTZ_PUBKEY = "02637224c5aaa78ba1b989e8340f1c3eabcc73a67711d2a29875c348fc61eb888b"
START_TIP_HEIGHT = 1000
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_P2SH_REGTEST = b"\xc4"


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


def _base58check(payload: bytes) -> str:
    data = payload + _sha256d(payload)[:4]
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, rest = divmod(number, 58)
        text = _B58[rest] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def _push(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def _height(value: int) -> bytes:
    """A script number push for a block height (minimal little-endian, sign bit clear)."""
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little")
    return _push(raw)


def submarine_script(payment_hash: str, refund_pubkey: str, timeout: int) -> bytes:
    """OP_HASH160 h OP_EQUAL OP_IF boltz OP_ELSE t OP_CLTV OP_DROP refund OP_ENDIF OP_CHECKSIG"""
    h = hashlib.new("ripemd160", bytes.fromhex(payment_hash)).digest()
    return (
        b"\xa9" + _push(h) + b"\x87\x63" + _push(bytes.fromhex(BOLTZ_PUBKEY)) + b"\x67"
        + _height(timeout) + b"\xb1\x75" + _push(bytes.fromhex(refund_pubkey)) + b"\x68\xac"
    )  # fmt: skip


def reverse_script(preimage_hash: str, claim_pubkey: str, timeout: int) -> bytes:
    """OP_SIZE 32 OP_EQUAL OP_IF OP_HASH160 h OP_EQUALVERIFY claim OP_ELSE OP_DROP t OP_CLTV
    OP_DROP boltz OP_ENDIF OP_CHECKSIG"""
    h = hashlib.new("ripemd160", bytes.fromhex(preimage_hash)).digest()
    return (
        b"\x82\x01\x20\x87\x63\xa9" + _push(h) + b"\x88" + _push(bytes.fromhex(claim_pubkey))
        + b"\x67\x75" + _height(timeout) + b"\xb1\x75" + _push(bytes.fromhex(BOLTZ_PUBKEY))
        + b"\x68\xac"
    )  # fmt: skip


def p2sh_p2wsh(script: bytes) -> tuple[str, bytes]:
    """Regtest address and output script of a P2SH-wrapped P2WSH."""
    redeem = b"\x00\x20" + hashlib.sha256(script).digest()
    h = _hash160(redeem)
    return _base58check(_P2SH_REGTEST + h), b"\xa9" + _push(h) + b"\x87"


def p2wsh(script: bytes) -> tuple[str, bytes]:
    """Regtest bech32 address and output script of a P2WSH."""
    program = hashlib.sha256(script).digest()
    words = [0, *bech32.convert_bits(list(program), 8, 5, True)]
    return bech32.encode("bcrt", words), b"\x00\x20" + program


def lockup_tx(output_script: bytes, amount_sat: int) -> tuple[str, str]:
    """A synthetic transaction paying `amount_sat` to `output_script`: (hex, txid)."""
    out = amount_sat.to_bytes(8, "little") + _push(output_script)
    raw = (
        b"\x02\x00\x00\x00\x01" + secrets.token_bytes(32) + b"\x01\x00\x00\x00\x00"
        + b"\xfd\xff\xff\xff\x01" + out + b"\x00\x00\x00\x00"
    )  # fmt: skip
    return raw.hex(), _sha256d(raw)[::-1].hex()


@dataclass
class _Swap:
    kind: str
    body: dict[str, Any]
    status: str
    payment_hash: str = ""
    invoice: str = ""
    tx_hex: str = ""
    tx_id: str = ""
    polls_since_lockup: int = 0


@dataclass
class BoltzBackend:
    """The stand-in server. `lnbits_url` and the house wallet's keys let it make reverse swap
    invoices and pay submarine ones, as Boltz's own node would."""

    recorded_calls: Path
    lnbits_url: str
    house_inkey: str = field(repr=False)
    house_adminkey: str = field(repr=False)
    tip_height: int = START_TIP_HEIGHT
    calls: list[tuple[str, str]] = field(default_factory=list)
    _swaps: dict[str, _Swap] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        recorded = json.loads(self.recorded_calls.read_text(encoding="utf-8"))
        self._pairs_body: dict[str, Any] = next(
            e["response"]["body"]
            for e in recorded["exchanges"]
            if e["request"]["path"] == "/getpairs" and e["response"]["status"] == 200
        )
        self._http = httpx.Client(base_url=self.lnbits_url, timeout=10.0, trust_env=False)
        self._web = JsonHttpServer("BoltzBackend", self.handle, methods=("GET", "POST"))

    # life cycle

    def start(self) -> None:
        self._web.start()

    def stop(self) -> None:
        self._web.stop()
        self._http.close()

    @property
    def url(self) -> str:
        return self._web.url

    # out of band: what Boltz does on its side

    def pay_submarine_invoice(self, boltz_id: str) -> None:
        """Pay the swap's Lightning invoice from the house wallet (after the lockup)."""
        with self._lock:
            swap = self._swaps[boltz_id]
        response = self._http.post(
            "/api/v1/payments",
            json={"out": True, "bolt11": swap.invoice},
            headers={"X-Api-Key": self.house_adminkey},
        )
        response.raise_for_status()
        with self._lock:
            swap.status = "transaction.claimed"

    # the API

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        with self._lock:
            self.calls.append((method, path))
        if (method, path) == ("GET", "/version"):
            return 200, {"version": "stand-in of the Boltz v1 API"}
        if (method, path) == ("GET", "/getpairs"):
            return 200, self._pairs_body
        if method != "POST" or not isinstance(body, dict):
            return 404, {"error": f"{method} {path} not found"}
        if path == "/createswap":
            return self._create(body)
        swap = self._swaps.get(str(body.get("id")))
        if path == "/broadcasttransaction":
            return self._broadcast(body)
        if swap is None:
            return 404, {"error": f"could not find swap with id: {body.get('id')}"}
        if path == "/swapstatus":
            return 200, self._status(swap)
        if path == "/getswaptransaction" and swap.kind == "submarine":
            return 200, {
                "transactionHex": swap.tx_hex,
                "timeoutBlockHeight": swap.body["timeoutBlockHeight"],
            }
        return 404, {"error": f"{method} {path} not found"}

    def _pair(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        pair_id = str(body.get("pairId"))
        pair = self._pairs_body["pairs"].get(pair_id)
        if pair is None:
            return None, f"could not find pair with id: {pair_id}"
        if pair_id != "BTC/BTC":
            return None, "this stand-in makes BTC/BTC swaps only"
        return pair, ""

    def _limits(self, pair: dict[str, Any], amount_sat: int) -> str:
        limits = pair["limits"]
        if amount_sat < limits["minimal"]:
            return f"{amount_sat} is less than minimal of {limits['minimal']}"
        if amount_sat > limits["maximal"]:
            return f"{amount_sat} is exceeds maximal of {limits['maximal']}"
        return ""

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        pair, error = self._pair(body)
        if pair is None:
            return 400, {"error": error}
        boltz_id = secrets.token_urlsafe(4)[:6]
        timeout = self.tip_height + 144
        if body.get("type") == "submarine":
            invoice = bolt11.decode(str(body["invoice"]))
            amount_sat = (invoice.amount_msat or 0) // 1000
            if error := self._limits(pair, amount_sat):
                return 400, {"error": error}
            expected_sat = math.ceil(amount_sat * (1 + pair["fees"]["percentageSwapIn"] / 100))
            expected_sat += pair["fees"]["minerFees"]["baseAsset"]["normal"]
            script = submarine_script(invoice.payment_hash, str(body["refundPublicKey"]), timeout)
            address, output = p2sh_p2wsh(script)
            tx_hex, tx_id = lockup_tx(output, expected_sat)
            answer = {
                "id": boltz_id,
                "bip21": f"bitcoin:{address}?amount={expected_sat / 1e8:.8f}"
                "&label=Send%20to%20BTC%20lightning",
                "address": address,
                "redeemScript": script.hex(),
                "acceptZeroConf": False,
                "expectedAmount": expected_sat,
                "timeoutBlockHeight": timeout,
            }
            swap = _Swap("submarine", answer, "invoice.set", invoice.payment_hash, invoice.bolt11)
            swap.tx_hex, swap.tx_id = tx_hex, tx_id
        elif body.get("type") == "reversesubmarine":
            amount_sat = int(body["invoiceAmount"])
            if error := self._limits(pair, amount_sat):
                return 400, {"error": error}
            onchain_sat = math.floor(amount_sat * (1 - pair["fees"]["percentage"] / 100))
            onchain_sat -= pair["fees"]["minerFees"]["baseAsset"]["reverse"]["lockup"]
            script = reverse_script(str(body["preimageHash"]), str(body["claimPublicKey"]), timeout)
            address, output = p2wsh(script)
            made = self._http.post(
                "/api/v1/payments",
                json={"out": False, "amount": amount_sat, "memo": f"reverse swap {boltz_id}"},
                headers={"X-Api-Key": self.house_inkey},
            )
            made.raise_for_status()
            invoice_body = made.json()
            answer = {
                "id": boltz_id,
                "invoice": invoice_body["bolt11"],
                "redeemScript": script.hex(),
                "lockupAddress": address,
                "timeoutBlockHeight": timeout,
                "onchainAmount": onchain_sat,
            }
            swap = _Swap(
                "reverse", answer, "swap.created", invoice_body["payment_hash"], answer["invoice"]
            )
            swap.tx_hex, swap.tx_id = lockup_tx(output, onchain_sat)
        else:
            return 400, {"error": f"unknown swap type {body.get('type')!r}"}
        with self._lock:
            self._swaps[boltz_id] = swap
        return 201, answer

    def _status(self, swap: _Swap) -> dict[str, Any]:
        if swap.kind == "reverse" and swap.status == "swap.created" and self._house_paid(swap):
            swap.status = "transaction.mempool"
        if swap.kind == "reverse" and swap.status == "transaction.mempool":
            swap.polls_since_lockup += 1
            if swap.polls_since_lockup > 2:
                swap.status = "transaction.confirmed"
        answer: dict[str, Any] = {"status": swap.status}
        if swap.status.startswith("transaction.") and swap.kind == "reverse":
            answer["transaction"] = {"id": swap.tx_id, "hex": swap.tx_hex}
        return answer

    def _house_paid(self, swap: _Swap) -> bool:
        response = self._http.get(
            f"/api/v1/payments/{swap.payment_hash}", headers={"X-Api-Key": self.house_inkey}
        )
        return response.is_success and bool(response.json().get("paid"))

    def _broadcast(self, body: dict[str, Any]) -> tuple[int, Any]:
        raw = bytes.fromhex(str(body.get("transactionHex", "")))
        locktime = int.from_bytes(raw[-4:], "little")
        if locktime > self.tip_height:
            return 400, {
                "error": "non-mandatory-script-verify-flag (Locktime requirement not "
                "satisfied) (code 64)",
                "timeoutBlockHeight": locktime,
            }
        return 200, {"transactionId": _sha256d(raw)[::-1].hex()}


def point_boltz_at(server: LNbitsServer, url: str) -> None:
    """Set the Boltz extension's global settings to a backend on regtest (superuser); the GET
    first creates the row that the PUT updates."""
    httpx.get(
        f"{server.url}/boltz/api/v1/settings", headers=server.auth_headers(), trust_env=False
    ).raise_for_status()
    response = httpx.put(
        f"{server.url}/boltz/api/v1/settings",
        json={
            "boltz_url": url,
            "boltz_network": "regtest",
            "boltz_network_liquid": "elementsregtest",
        },
        headers=server.auth_headers(),
        trust_env=False,
    )
    response.raise_for_status()
