"""``lnpilot fees`` end to end on the simulated node, configured by environment as a
deployment would be: LND first, then LNbits' node API; the store in a temporary data dir."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from lnpilot.cli.main import app
from lnpilot.devtools import LNbitsServer

from .conftest import MACAROON, World

POLICY = """
[safety]
max_step_pct = 100
min_interval = "1s"

[[rule]]
name = "erin"
match.channel = "800000x3x0"
strategy = "static"
static.fee_rate_ppm = 150
inbound = "static"
inbound_static.fee_rate_ppm = -10

[[rule]]
name = "default"
strategy = "peer_aware"

[channel."800000x1x0"]
unmanaged = true
"""


Cli = Callable[..., Result]


@pytest.fixture
def environment(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An empty working directory holding fees.toml, no LNPILOT_ variables but these (LND
    only: LNbits without a login is not a node backend)."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("LNPILOT_") and name.upper() != "LNPILOT_LNBITS_VENV":
            monkeypatch.delenv(name)
    (tmp_path / "fees.toml").write_text(POLICY)
    return {
        "LNPILOT_LNBITS__URL": "http://127.0.0.1:9",
        "LNPILOT_LND__REST_URL": world.face.url,
        "LNPILOT_LND__MACAROON": MACAROON,
        "LNPILOT_DATA_DIR": str(tmp_path / "data"),
    }


def runner(env: dict[str, str]) -> Cli:
    return lambda *args: CliRunner().invoke(app, ["fees", *args], env=env)


@pytest.fixture
def lnpilot(environment: dict[str, str], lnbits_on_simnet: LNbitsServer) -> Cli:
    """``lnpilot fees ...`` with LND first, then LNbits' node API as the superuser."""
    su = lnbits_on_simnet.superuser
    return runner(
        {
            **environment,
            "LNPILOT_LNBITS__URL": lnbits_on_simnet.url,
            "LNPILOT_LNBITS__USERNAME": su.username,
            "LNPILOT_LNBITS__PASSWORD": su.password,
        }
    )


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.lnbits
def test_check_plan_apply_history_and_rollback(lnpilot: Cli, world: World) -> None:
    checked = json_of(lnpilot("check", "--json"))
    rules = {row["scid"]: (row["rule"], row["unmanaged"]) for row in checked["channels"]}
    assert rules == {
        "800000x1x0": ("default", True),
        "800000x2x0": ("default", False),
        "800000x3x0": ("erin", False),
    }

    planned = json_of(lnpilot("plan", "--json"))
    assert planned["run"]["mode"] == "dry-run"
    erin = next(d for d in planned["decisions"] if d["scid"] == "800000x3x0")
    assert (erin["action"], erin["outcome"]) == ("update", "planned")
    proposal = {name: value for name, value in erin["new"].items() if value is not None}
    assert proposal == {"fee_rate_ppm": 150, "inbound_fee_rate_ppm": -10}
    assert world.view("800000x3x0").local_policy.fee_rate_ppm == 100

    applied = json_of(lnpilot("apply", "--json"))
    erin = next(d for d in applied["decisions"] if d["scid"] == "800000x3x0")
    assert erin["outcome"] == "applied"
    assert erin["detail"]["readback"]["inbound_fee_rate_ppm"] == -10
    assert world.view("800000x3x0").local_policy.inbound_fee_rate_ppm == -10
    unmanaged = next(d for d in applied["decisions"] if d["scid"] == "800000x1x0")
    assert (unmanaged["action"], unmanaged["reason"]) == (
        "skip",
        "unmanaged: the channel's override says so",
    )

    runs = json_of(lnpilot("history", "--json"))
    assert [(r["mode"], r["sent"]) for r in runs] == [("apply", 1), ("dry-run", 0)]
    mine = json_of(lnpilot("history", "--channel", "800000x3x0", "--json"))
    assert [d["outcome"] for d in mine] == ["applied", "planned"]

    table = lnpilot("history", "--channel", "800000x3x0")
    assert table.exit_code == 0 and "100 → 150" in table.stdout

    undone = json_of(lnpilot("rollback", str(applied["run"]["id"]), "--json"))
    assert [d["outcome"] for d in undone["decisions"]] == ["applied"]
    policy = world.view("800000x3x0").local_policy
    assert (policy.fee_rate_ppm, policy.inbound_fee_rate_ppm) == (100, 0)


def test_the_daemon_s_policy_file_is_the_default(
    environment: dict[str, str], tmp_path: Path
) -> None:
    """Without --policy, ``lnpilot fees`` reads what ``lnpilot run`` reads: ``[service]
    fees_policy_file``, before $LNPILOT_FEES_POLICY and the fees.toml beside the config."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "node.toml").write_text(
        '[[rule]]\nname = "daemons"\nstrategy = "statik"\n'
    )
    env = {
        **environment,
        "LNPILOT_SERVICE__FEES_POLICY_FILE": str(tmp_path / "policies" / "node.toml"),
        "LNPILOT_FEES_POLICY": str(tmp_path / "fees.toml"),
    }
    result = runner(env)("check", "--offline")
    assert result.exit_code == 2 and "rule 'daemons' (#1)" in result.stderr
    assert runner(env)("check", "--offline", "--policy", "fees.toml").exit_code == 0


def test_a_bad_policy_exits_2_naming_every_problem(
    environment: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "fees.toml").write_text('[[rule]]\nname = "x"\nstrategy = "statik"\n')
    result = runner(environment)("check", "--offline")
    assert result.exit_code == 2
    assert "policy: " in result.stderr and "rule 'x' (#1): strategy = 'statik'" in result.stderr


def test_plan_prints_a_table_with_lnd_alone(environment: dict[str, str]) -> None:
    result = runner(environment)("plan")
    assert result.exit_code == 0, result.output
    assert "Fee plan (dry run)" in result.stdout
    assert "150" in result.stdout and "daily budget" in result.stdout
