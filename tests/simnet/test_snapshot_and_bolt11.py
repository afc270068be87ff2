"""The real snapshot loads (or the test says why it cannot); invoices decode as LNbits does."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from lnpilot.devtools import LNbitsUnavailable, find_lnbits_python, lnbits_required
from lnpilot.lnbits.bolt11 import decode
from lnpilot.simnet.bolt11 import encode
from lnpilot.simnet.network import SimNetwork
from lnpilot.simnet.secp256k1 import pubkey_of
from lnpilot.simnet.snapshot import load_snapshot
from shared_files import shared_path

SNAPSHOT = ("data", "ln_graph_500.json.gz")


def test_snapshot_loads() -> None:
    snapshot = shared_path(*SNAPSHOT)
    net = SimNetwork(seed=1)
    assert load_snapshot(snapshot, net, seed=1) == 12_901
    assert len(net.nodes) == 500
    chan = next(iter(net.channels.values()))
    assert sum(chan.balance_msat) == chan.capacity_sat * 1000
    assert "x" in chan.scid and not chan.scid.startswith("0x")


def _invoice(value_msat: int, **kwargs: object) -> str:
    privkey = 0xC0FFEE
    return encode(
        privkey=privkey,
        network="regtest",
        payment_hash=hashlib.sha256(b"x").digest(),
        payment_secret=b"\x11" * 32,
        value_msat=value_msat,
        timestamp_s=1_767_225_600,
        payee=pubkey_of(privkey),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("value_msat", [1, 1000, 123_456_789, 2_100_000_000_000_000])
def test_round_trip_through_lnpilot_decoder(value_msat: int) -> None:
    decoded = decode(_invoice(value_msat, memo="café"))
    assert decoded.amount_msat == value_msat
    assert decoded.description == "café"
    assert decoded.payment_hash == hashlib.sha256(b"x").hexdigest()
    assert decoded.payee_pubkey == pubkey_of(0xC0FFEE).hex()


def test_lnbits_bolt11_library_verifies_the_signature() -> None:
    try:
        lnbits_python = find_lnbits_python()  # wherever the session's LNbits is found
    except LNbitsUnavailable as exc:
        if lnbits_required():
            raise  # on CI a skip would hide that LNbits' own decoder was never asked
        pytest.skip(f"real LNbits not available: {exc}")
    with_payee = _invoice(5_000, memo="hi")
    script = (
        "import sys, bolt11\n"
        "b = bolt11.decode(sys.argv[1])\n"
        "print(b.amount_msat, b.payee, b.description)\n"
    )
    out = subprocess.run(
        [str(lnbits_python), "-c", script, with_payee], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["5000", pubkey_of(0xC0FFEE).hex(), "hi"]
