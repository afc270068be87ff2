"""``lnpilot backtest``: bad arguments get one clear line and exit code 2; ``--demo`` runs
the whole backtest on the demo network's node with nothing configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Cli

STATIC = '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 300\n'
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fees.toml"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "candidate.toml"
    path.write_text(STATIC, encoding="utf-8")
    return path


def test_a_missing_policy_file_is_named(cli: Cli, tmp_path: Path, policy: Path) -> None:
    result = cli("backtest", "--policy", str(tmp_path / "nope.toml"), "--against", str(policy))
    assert result.exit_code == 2
    assert "nope.toml" in result.stderr


def test_a_bad_policy_names_the_key(cli: Cli, tmp_path: Path, policy: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "all"\nstrategy = "no_such_strategy"\n', encoding="utf-8")
    result = cli("backtest", "--policy", str(bad), "--against", str(policy))
    assert result.exit_code == 2
    assert "no_such_strategy" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days: 0 is outside (0, 365]"),
        (["--days", "400"], "--days: 400 is outside (0, 365]"),
        (["--seeds", "0"], "--seeds: 0 is outside 1..50"),
        (["--warmup-days", "-1"], "--warmup-days: -1 is negative"),
    ],
)
def test_out_of_range_numbers_say_the_range(
    cli: Cli, policy: Path, args: list[str], message: str
) -> None:
    result = cli("backtest", "--policy", str(policy), "--against", str(policy), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_no_current_policy_says_how_to_give_one(cli: Cli, policy: Path) -> None:
    result = cli("backtest", "--policy", str(policy))
    assert result.exit_code == 2
    assert "--against: no current policy" in result.stderr


def test_the_demo_has_its_own_graph(cli: Cli, policy: Path, tmp_path: Path) -> None:
    result = cli("backtest", "--demo", "--policy", str(policy), "--graph", str(tmp_path / "g"))
    assert result.exit_code == 2
    assert "--graph" in result.output


@pytest.mark.slow
def test_the_demo_node_is_backtested_as_json(cli: Cli) -> None:
    result = cli(
        "backtest", "--demo", "--policy", str(EXAMPLE), "--days", "0.5", "--seeds", "1",
        "--warmup-days", "0", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["alias"] == "lnpilot-demo" and report["channels"] == 5
    assert report["gaps"] == []
    assert report["fit"]["recorded"]["forwards"] > 0
    assert report["current"]["name"] == "demo" and report["candidate"]["name"] == "fees"
    assert len(report["candidate"]["net_profit_msat"]) == 1
    assert report["verdict"]["text"]
