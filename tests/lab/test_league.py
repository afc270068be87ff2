"""``bench/league.py --quick``: the league's smoke run prints every figure.

No timing is asserted (the machine's speed is not the code's); what is checked is that
every arm ran through the lab on the shared warm-up and that every headline line is there.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

LEAGUE = Path(__file__).resolve().parents[2] / "bench" / "league.py"
HEADLINES = (
    "league_median_ratio",
    "league_win_rate",
    "league_ratio_vs_hindsight",
    "league_best_fixed_fee_ppm",
    "league_ceiling_share",
    "league_updates_per_channel_day",
    "league_run_s",
)


def _league() -> ModuleType:
    spec = importlib.util.spec_from_file_location("league", LEAGUE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("league", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_candidate_arms_join_and_lnpilot_arms_are_not_baselines(tmp_path: Path) -> None:
    league = _league()
    (tmp_path / "lnpilot_candidate.toml").write_text(
        '[[rule]]\nname = "d"\nstrategy = "static"\nstatic.fee_rate_ppm = 300\n'
    )
    names = [arm.name for arm in league.baseline_arms(None, tmp_path)]
    assert {"lnpilot_default", "lnpilot_default_norebal", "lnpilot_candidate"} <= set(names)
    assert "charge_lnd_cost" in names
    # the default's own variants and the hindsight sweep are not what it is held against
    assert not league._is_baseline("lnpilot_candidate")
    assert not league._is_baseline("lnpilot_default_norebal")
    assert not league._is_baseline("fixed_500")
    assert league._is_baseline("charge_lnd_cost") and league._is_baseline("static_median")
    # the variant is the default with its rebalancer off, nothing else
    norebal = next(a for a in league.baseline_arms(None) if a.name == "lnpilot_default_norebal")
    default = next(a for a in league.baseline_arms(None) if a.name == "lnpilot_default")
    assert default.rebalance().section.enabled and not norebal.rebalance().section.enabled
    assert norebal.policy().model_dump(exclude={"rebalance"}) == default.policy().model_dump(
        exclude={"rebalance"}
    )


def test_a_candidate_may_not_take_a_name_in_use(tmp_path: Path) -> None:
    league = _league()
    (tmp_path / "charge_lnd_cost.toml").write_text("")
    with pytest.raises(SystemExit, match="arm names already taken: charge_lnd_cost"):
        league.baseline_arms(None, tmp_path)
    with pytest.raises(SystemExit, match="holds no"):
        league.baseline_arms(None, tmp_path / "empty")


@pytest.mark.slow
def test_the_quick_league_prints_every_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(LEAGUE), "--quick", "--jobs", "1", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    values = dict(line.split("=", 1) for line in lines if line.startswith("league_"))
    for name in HEADLINES:
        assert name in values, f"{name} missing from:\n{done.stdout}"
    rows = [line for line in lines if " arm=" in line]
    arms = {
        part.split("=", 1)[1] for row in rows for part in row.split() if part.startswith("arm=")
    }
    assert {"lnpilot_default", "static_median", "fixed_50", "fixed_5000"} <= arms
    assert "lnpilot_default_norebal" in arms
    # --keep: the adaptive arms' stores stay, with the fee journal that explains them
    kept = tmp_path / "fee_drain@11" / "lnpilot_default" / "lnpilot.sqlite"
    with sqlite3.connect(kept) as db:
        assert db.execute("SELECT count(*) FROM fee_decisions").fetchone()[0] > 0
    assert not (tmp_path / "fee_drain@11" / "fixed_50").exists()
    for row in rows:
        assert "net_sat=" in row and "updates_per_channel_day=" in row
    # A fixed arm reaches its fee at once: its policy updates are one per channel.
    fixed = next(row for row in rows if "arm=fixed_5000" in row)
    assert "updates_per_channel_day=0.50" in fixed  # 1 update per channel over 2 days
