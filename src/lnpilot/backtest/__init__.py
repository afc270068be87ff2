"""``lnpilot backtest``: a policy tried on a simulated copy of the operator's own node.

The node as the backend shows it and the graph around it (:mod:`.model`), demand fitted to
the store's history (:mod:`.demand`), both as a simnet scenario (:mod:`.scenario`), run
through the lab for the current and the candidate policy (:mod:`.run`), and judged on
paired seeds (:mod:`.verdict`). Nothing is applied to the real node.
"""

from lnpilot.backtest.run import (
    Arm,
    BacktestError,
    Options,
    Report,
    backtest,
    load_arm,
    parse_arm,
    report_json,
)
from lnpilot.backtest.verdict import Verdict, judge

__all__ = [
    "Arm",
    "BacktestError",
    "Options",
    "Report",
    "Verdict",
    "backtest",
    "judge",
    "load_arm",
    "parse_arm",
    "report_json",
]
