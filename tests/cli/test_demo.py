"""`lnpilot demo`: a bounded run on the simulated network, with a real LNbits when installed."""

from __future__ import annotations

import re

import pytest

from lnpilot.devtools import LNbitsUnavailable, find_lnbits_python, lnbits_required

from .conftest import Cli

#: A row of the "Latest forwards" table: virtual time, in peer, out peer, amount, fee.
FORWARD_ROW = re.compile(r"^\d\d:\d\d:\d\d +\S+ +\S+ +[\d,.]+ +[\d,.]+ *$", re.MULTILINE)


def _lnbits_installed() -> bool:
    try:
        find_lnbits_python()
    except LNbitsUnavailable:
        if lnbits_required():
            raise
        return False
    return True


@pytest.mark.slow
def test_a_bounded_demo_shows_channels_forwards_and_lnbits(cli: Cli) -> None:
    with_lnbits = _lnbits_installed()
    result = cli("demo", "--duration", "8", "--speed", "600")
    assert result.exit_code == 0, result.output
    out = result.stdout
    channels = out[out.index("Our channels") : out.index("Latest forwards")]
    assert channels.count(" active") == 5  # the five channels of demo.toml
    assert "coffee-shop" in channels
    assert FORWARD_ROW.search(out), out  # at least one forward through our node
    if not with_lnbits:
        assert "Running without LNbits" in out
        return
    assert "LNbits invoice of 10,000 sat paid by a simulated sender" in out, out
    paid = re.search(r"LNbits paid 4,000 sat to n5 over (\d+) channels .*, fee ([\d.]+) sat", out)
    assert paid is not None, out
    assert int(paid[1]) >= 2 and float(paid[2]) > 0  # routed through others, who charged
    assert "sees 5 active channels of our node" in out  # LNbits' node API on the face
    assert out.rstrip().endswith("Stopped the simulation and LNbits.")


def test_without_lnbits_the_demo_runs_and_says_so(cli: Cli) -> None:
    result = cli(
        "demo", "--duration", "2", "--speed", "600", env={"LNPILOT_LNBITS_VENV": "/nonexistent"}
    )
    assert result.exit_code == 0, result.output
    assert "Running without LNbits" in result.stdout
    assert "Our channels" in result.stdout
    assert "not installed (`make lnbits`)" in result.stdout
    assert result.stdout.rstrip().endswith("Stopped the simulation.")
