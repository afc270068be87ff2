"""``bench/league.py --quick``: the league's smoke run prints every figure.

No timing is asserted (the machine's speed is not the code's); what is checked is that
every arm ran through the lab on the shared warm-up and that every headline line is there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


@pytest.mark.slow
def test_the_quick_league_prints_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, str(LEAGUE), "--quick", "--jobs", "1"],
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
    for row in rows:
        assert "net_sat=" in row and "updates_per_channel_day=" in row
    # A fixed arm reaches its fee at once: its policy updates are one per channel.
    fixed = next(row for row in rows if "arm=fixed_5000" in row)
    assert "updates_per_channel_day=0.50" in fixed  # 1 update per channel over 2 days
