"""A backtest's computation in a process of its own: ``python -m lnpilot.backtest.job SPEC OUT``.

The daemon reads the node and the store itself (:func:`lnpilot.backtest.run.read_inputs`),
then hands what it read to this process, so the minutes of simulation never hold its event
loop (the API, the dashboard and the loops keep their CPU time slices). SPEC is a pickle
of :class:`lnpilot.backtest.run.JobSpec` the daemon wrote into its own private temporary
directory; OUT receives ``lnpilot backtest --json``'s data. Progress goes to stdout, one
``done total`` line per step, for the daemon to store.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
from pathlib import Path

from lnpilot.backtest.run import JobSpec, backtest_inputs, report_json


def _progress(done: int, total: int, what: str) -> None:
    print(done, total, flush=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m lnpilot.backtest.job SPEC OUT", file=sys.stderr)
        return 2
    spec_path, out_path = Path(argv[0]), Path(argv[1])
    # Written by our own daemon into its private (0700) temporary directory.
    spec = pickle.loads(spec_path.read_bytes())  # noqa: S301
    assert isinstance(spec, JobSpec)
    report = asyncio.run(
        backtest_inputs(
            spec.inputs,
            spec.current,
            spec.candidate,
            spec.options,
            progress=_progress,
            jobs=spec.jobs,
        )
    )
    out_path.write_text(json.dumps(report_json(report)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
