"""`lnpilot simnet stats` and `lnpilot simnet run`, the way a person runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lnpilot.cli.main import app
from lnpilot.simnet.lnd_rest import MACAROON_HEADER
from shared_files import shared_path

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = ("data", "ln_graph_500.json.gz")
LNPILOT = Path(sys.executable).with_name("lnpilot")
#: docs/simnet.md's worked example: triangle.toml, its seed, one virtual day.
TRIANGLE_DAY_HASH = "b99464aadc1639c073c5c5fd62795ec2d53179fe4b50a301bee8eb20a5ea927f"


def _stats(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["simnet", "stats", *args, "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def test_stats_summarises_a_day_of_the_triangle() -> None:
    summary = _stats("--scenario", "triangle.toml", "--duration", "1d")
    assert summary["event_log_hash"] == TRIANGLE_DAY_HASH
    assert (summary["payments"], summary["payments_succeeded"]) == (122, 122)
    ours = summary["our_node"]
    assert isinstance(ours, dict)
    assert (ours["forwards"], ours["forward_fees_msat"]) == (73, 139_116)
    per_channel = ours["per_channel"]
    assert [(c["forwards_in"], c["forwards_out"]) for c in per_channel] == [(0, 73), (73, 0)]
    assert sum(c["fees_msat"] for c in per_channel) == 139_116  # credited to the out channel
    assert sum(c["local_balance_msat"] for c in per_channel) == ours["local_balance_msat"]


def test_stats_table_names_the_channels_and_the_hash() -> None:
    result = CliRunner().invoke(
        app, ["simnet", "stats", "--scenario", "triangle.toml", "--duration", "1d"]
    )
    assert result.exit_code == 0, result.output
    assert "Our channels" in result.stdout and "0/73" in result.stdout
    assert result.stdout.rstrip().endswith(f"event log hash {TRIANGLE_DAY_HASH}")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--scenario", "triangle.toml", "--topology", "graph.json.gz"],
    ],
)
def test_stats_needs_exactly_one_network(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["simnet", "stats", *args])
    assert result.exit_code == 2
    assert "give either --scenario FILE or --topology FILE" in result.output


def test_a_bad_scenario_is_named() -> None:
    result = CliRunner().invoke(app, ["simnet", "stats", "--scenario", "missing.toml"])
    assert result.exit_code == 2
    assert "missing.toml: cannot read" in result.stderr


def test_stats_on_the_snapshot_topology() -> None:
    snapshot = shared_path(*SNAPSHOT)
    summary = _stats("--topology", str(snapshot), "--duration", "1h")
    assert summary["nodes"] == 501  # the snapshot's 500 and ours
    ours = summary["our_node"]
    assert isinstance(ours, dict) and ours["alias"] == "lnpilot" and ours["channels"] == 5


def test_run_serves_the_face_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [str(LNPILOT), "simnet", "run", "--scenario", "triangle.toml", "--speed", "3600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        for line in process.stdout:
            key, _, value = line.partition(": ")
            printed[key] = value.strip()
            if line.startswith("Running at"):
                break
        url, macaroon = printed["LND REST"], printed["macaroon (hex)"]
        info = httpx.get(f"{url}/v1/getinfo", headers={MACAROON_HEADER: macaroon}).json()
        assert info["alias"] == "ours"
        assert httpx.get(f"{url}/v1/getinfo").status_code == 401
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "event log hash" in out and out.rstrip().endswith("Stopped.")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/getinfo", headers={MACAROON_HEADER: macaroon})
