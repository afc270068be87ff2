"""How long ``lnpilot`` takes to start, next to a bare ``python -c pass`` in the same run.

Why: every CLI command used to import numpy, Alembic, FastAPI and SQLAlchemy (about 2 s of
CPU) before doing anything. Commands are now imported lazily (``lnpilot.cli.lazy``); this
bench keeps the start-up a number. Target: ``cli_help_s`` and ``cli_wallet_show_help_s``
well under 0.5 s.

How: each command runs ``--runs`` times in a fresh process, the three kinds interleaved so
load on the shared machine hits them alike. Figures are the minimum wall time (the least
disturbed run; the median is printed too) and the CPU time of the best run's kind, taken
from the children's rusage, which waiting for the CPU does not inflate. ``wallet show
--help`` stands for ``wallet show``: it imports the same modules (the command's module and
the LNbits client) without needing an LNbits to answer. The heavy store command
``tokens --help`` is printed as a reference for what lazy imports save.

Prints ``name=value`` lines.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

LNPILOT = str(Path(sys.executable).parent / "lnpilot")

CASES = {
    "python_pass": [sys.executable, "-c", "pass"],
    "cli_help": [LNPILOT, "--help"],
    "cli_wallet_show_help": [LNPILOT, "wallet", "show", "--help"],
    "cli_tokens_help": [LNPILOT, "tokens", "--help"],
}


def _run(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    args = parser.parse_args()
    # No ./lnpilot.toml or LNPILOT_* variable changes what is imported at start.
    os.environ.pop("LNPILOT_CONFIG", None)
    walls: dict[str, list[float]] = {name: [] for name in CASES}
    cpus: dict[str, list[float]] = {name: [] for name in CASES}
    for command in CASES.values():  # warm the file cache and .pyc files
        _run(command)
    for _ in range(args.runs):
        for name, command in CASES.items():
            wall, cpu = _run(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(f"runs={args.runs}")
    for name in CASES:
        print(f"{name}_s={min(walls[name]):.3f}")
        print(f"{name}_median_s={statistics.median(walls[name]):.3f}")
        print(f"{name}_cpu_s={min(cpus[name]):.3f}")
    print(f"cli_help_over_python_s={min(walls['cli_help']) - min(walls['python_pass']):.3f}")


if __name__ == "__main__":
    main()
