"""The strategy league: every fee strategy on many simulated networks, through the daemon's path.

Why: a fee strategy is worth shipping only if it earns more than what operators already run,
on networks it was not tuned on. Each arm is a policy file run by the lab (:mod:`lnpilot.lab`:
the daemon's collector, fee engine and rebalancer, through ``LndRest``, in virtual time) on
the same scenario, seed and traffic:

- the baselines, one policy file each in ``bench/league/arms/`` (charge-lnd, LNDg, ...);
- ``static_median``: one fixed fee on all our channels, the network's median fee rate;
- ``fixed_<ppm>``: the fixed-fee sweep (``--sweep``, 50..5000 ppm by default); the best of
  them per scenario, picked after the fact, is the bar an adaptive strategy must clear;
- ``lnpilot_default``: :data:`lnpilot.fees.default.DEFAULT_POLICY_TOML`, the policy a new
  user starts from (``lnpilot init`` writes it), and ``lnpilot_default_norebal``, the same
  with its rebalancer off (what the rebalancer adds or costs); ``--extra-arms DIR`` adds
  candidate policy files (named ``lnpilot_*`` they are not counted as baselines).

Scenarios come from the generator (``lnpilot.simnet.generate.new_scenario``: five demand
shapes x ``--graphs`` carved graphs, each run with ``--seeds`` seeds) or from any folder of
scenario files (``--scenarios DIR``). Graph 0 (or every third file of a folder) is the tune
set, the rest the evaluation set: policies may be tuned on the first only, and both are
reported apart.

Each scenario's warm-up (``--warmup-days``, the scenario's own fees, the collector alone
building history) runs once; every arm then continues from a copy of it (a forked process
and a copy of the store), so all arms see the same network, balances and history at the
switch-on. Fixed-fee arms set their fee once through the fee engine and are not evaluated
again (a static policy decides nothing new later). Scenarios run in ``--jobs`` processes.

Prints one ``name=value`` line per arm and scenario, then per set the headline lines:
``league_median_ratio`` (lnpilot_default's net profit over the best baseline's, median over
scenarios), ``league_win_rate`` (share of scenarios where it beats every baseline),
``league_ratio_vs_hindsight`` (over the best fixed fee), ``league_best_fixed_fee_ppm``
(median of the per-scenario best fixed fee), ``league_ceiling_share`` (share of scenarios
whose best fixed fee is the sweep's top) and ``league_updates_per_channel_day``
(lnpilot_default's).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lnpilot.fees.default import DEFAULT_POLICY_TOML
from lnpilot.fees.policy import PolicyFile, parse_policy
from lnpilot.lab import Figures, Intervals, Lab
from lnpilot.rebalance.settings import RebalanceSettings, parse_settings
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation

REPO = Path(__file__).resolve().parent.parent
ARMS_DIR = REPO / "bench" / "league" / "arms"
DEFAULT_GRAPH = REPO.parent / "shared" / "data" / "ln_graph_full_2026-02-03.json.gz"
SHAPES = ("balanced", "sink", "source", "lsp", "bursty")
SWEEP_PPM = (50, 100, 200, 500, 1000, 2000, 5000)
QUICK_SWEEP_PPM = (50, 500, 5000)
OURS = "lnpilot_default"
#: The default policy with its rebalancer off: what the rebalancer adds to (or costs) it.
NO_REBALANCE = "lnpilot_default_norebal"
TUNE, EVAL = "tune", "eval"


@dataclass(frozen=True)
class Arm:
    """A contender: its policy file's text; ``fixed`` arms set one fee once and keep it."""

    name: str
    text: str
    fixed: bool = False

    def policy(self) -> PolicyFile:
        return parse_policy(self.text, self.name)

    def rebalance(self) -> RebalanceSettings:
        return parse_settings(self.text, self.name)


@dataclass(frozen=True)
class Case:
    """One scenario file run with one seed, in the tune or the evaluation set."""

    name: str
    path: Path
    seed: int | None
    set: str


def fixed_fee_policy(fee_rate_ppm: int) -> str:
    """One fee on every channel, reached in the first run (no step limit)."""
    return (
        "[safety]\nmax_step_floor_ppm = 100_000\ndaily_budget = 1000\n"
        f'[[rule]]\nname = "fixed"\nstrategy = "static"\nstatic.fee_rate_ppm = {fee_rate_ppm}\n'
    )


def baseline_arms(only: set[str] | None, extra: Path | None = None) -> list[Arm]:
    """The baselines' policy files, the default policy (the arms whose behaviour may change),
    and the policy files of `extra` (a folder of candidates: their names must not be taken)."""
    files = sorted(ARMS_DIR.glob("*.toml"))
    if extra is not None:
        candidates = sorted(extra.glob("*.toml"))
        if not candidates:
            raise SystemExit(f"--extra-arms: {extra} holds no *.toml policy files")
        taken = {p.stem for p in files} | {OURS, NO_REBALANCE, "static_median"}
        clash = sorted(p.stem for p in candidates if p.stem in taken or p.stem.startswith("fixed_"))
        if clash:
            raise SystemExit(f"--extra-arms: arm names already taken: {', '.join(clash)}")
        files += candidates
    arms = [Arm(p.stem, p.read_text(encoding="utf-8")) for p in files]
    arms.append(Arm(OURS, DEFAULT_POLICY_TOML))
    arms.append(Arm(NO_REBALANCE, DEFAULT_POLICY_TOML + "\n[rebalance]\nenabled = false\n"))
    return [a for a in arms if only is None or a.name in only]


# --- one scenario: a shared warm-up, then every arm from a copy of it ----------------------


def _in_child(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`work()` in a forked copy of this process (the simulation's state after the warm-up
    included); its JSON answer comes back through a pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        code = 0
        try:
            answer = work()
        except BaseException:
            answer = {"error": traceback.format_exc()}
            code = 1
        with os.fdopen(write_fd, "wb") as out:
            out.write(json.dumps(answer).encode())
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as answer_in:
        raw = answer_in.read()
    os.waitpid(pid, 0)
    answer = json.loads(raw) if raw else {"error": "the arm's process died without an answer"}
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return answer


def network_median_fee_ppm(sim: Simulation) -> int:
    """The median fee rate of the network's open, enabled directions other than ours."""
    ours = sim.our_node.pubkey
    rates = [
        policy.fee_rate_ppm
        for chan in sim.network.channels.values()
        if ours not in (chan.node1, chan.node2)
        for policy in chan.policies
        if not policy.disabled
    ]
    return int(statistics.median(rates)) if rates else 0


async def _warm_up(sim: Simulation, data_dir: Path, days: float, interval_s: float) -> None:
    intervals = Intervals(interval_s, interval_s, interval_s)
    async with Lab(sim, data_dir, None, intervals=intervals) as lab:
        await lab.run_for(days * 86_400, loops=("collect",))


async def _measure(
    sim: Simulation, data_dir: Path, arm: Arm, days: float, interval_s: float
) -> Figures:
    intervals = Intervals(interval_s, interval_s, interval_s)
    async with Lab(sim, data_dir, arm.policy(), arm.rebalance(), intervals=intervals) as lab:
        since = sim.network.now()
        if arm.fixed:  # set once (a collection, a fee run), then left alone
            await lab.run_for(1, loops=("collect", "fees"))
            await lab.run_for(days * 86_400 - 1, loops=())
        else:
            await lab.run_for(days * 86_400)
        return await lab.figures(since)


def run_case(
    case: Case,
    arms: Sequence[Arm],
    sweep: Sequence[int],
    days: float,
    warmup: float,
    step_s: float,
    keep: Path | None = None,
) -> dict[str, Any]:
    """Every arm on one case; returns the figures by arm and the network's median fee. With
    `keep`, each adaptive arm's store (its fee and rebalance journals) is copied to
    ``keep/<case>/<arm>`` after its run, so a result can be explained afterwards."""
    import asyncio

    started = time.perf_counter()
    sim = Simulation(load_scenario(case.path), seed=case.seed)
    median_ppm = network_median_fee_ppm(sim)
    every = [
        *arms,
        Arm("static_median", fixed_fee_policy(median_ppm), fixed=True),
        *(Arm(f"fixed_{ppm}", fixed_fee_policy(ppm), fixed=True) for ppm in sweep),
    ]
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="lnpilot-league-") as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        asyncio.run(_warm_up(sim, warm, warmup, step_s))
        for arm in every:
            arm_dir = Path(tmp) / arm.name

            def work(arm: Arm = arm, arm_dir: Path = arm_dir) -> dict[str, Any]:
                shutil.copytree(warm, arm_dir, ignore=shutil.ignore_patterns("*-shm"))
                arm_started = time.perf_counter()
                result = asdict(asyncio.run(_measure(sim, arm_dir, arm, days, step_s)))
                result["run_s"] = time.perf_counter() - arm_started
                if keep is not None and not arm.fixed:
                    shutil.copytree(arm_dir, keep / case.name / arm.name, dirs_exist_ok=True)
                return result

            figures[arm.name] = _in_child(work)
    return {
        "case": case.name,
        "set": case.set,
        "median_ppm": median_ppm,
        "figures": figures,
        "run_s": time.perf_counter() - started,
    }


# --- scenarios ------------------------------------------------------------------------------


def folder_cases(folder: Path, seeds: Sequence[int | None]) -> list[Case]:
    """Every ``*.toml`` of `folder` with each seed; every third file is in the tune set."""
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise SystemExit(f"--scenarios: {folder} holds no *.toml scenario files")
    for path in files:
        load_scenario(path)  # a bad file fails here, naming itself, not in a worker
    return [
        Case(f"{path.stem}@{seed}", path, seed, TUNE if i % 3 == 0 else EVAL)
        for i, path in enumerate(files)
        for seed in seeds
    ]


def generated_cases(
    out: Path, graph: Path, graphs: int, shapes: Sequence[str], seeds: Sequence[int], nodes: int
) -> list[Case]:
    """Scenario files from the generator (made once, kept in `out`). Graph ``g`` is one piece
    of the snapshot: its first shape is carved around a center the generator draws (seeds from
    ``100 g`` until our node forwards), the other shapes around the same center. Graph 0 is
    the tune set. A shape the generator cannot make busy is skipped, and said."""
    from lnpilot.simnet.generate import busy_scenario_files

    files = busy_scenario_files(
        out,
        graph,
        graphs=graphs,
        shapes=shapes,
        nodes=nodes,
        on_skip=lambda path, exc: print(f"skipped={path.stem} reason={exc}"),
    )
    return [
        Case(f"{path.stem}@{seed}", path, seed, TUNE if g == 0 else EVAL)
        for g, path in files
        for seed in seeds
    ]


def quick_cases() -> list[Case]:
    """The smoke run's one case: the shipped fee drain scenario, seed 11."""
    return [Case("fee_drain@11", Path("fee_drain.toml"), 11, EVAL)]


# --- figures --------------------------------------------------------------------------------


def net_msat(figures: dict[str, Any]) -> int:
    return (
        int(figures["fees_earned_msat"])
        - int(figures["rebalance_cost_msat"])
        - int(figures["onchain_cost_msat"])
    )


def updates_per_channel_day(figures: dict[str, Any]) -> float:
    channel_days = float(figures["channels"]) * float(figures["days"])
    return int(figures["policy_updates"]) / channel_days if channel_days else 0.0


def print_case(result: dict[str, Any]) -> None:
    for arm, f in result["figures"].items():
        print(
            f"case={result['case']} set={result['set']} arm={arm} "
            f"fees_sat={f['fees_earned_msat'] // 1000} "
            f"rebalance_cost_sat={f['rebalance_cost_msat'] // 1000} "
            f"onchain_cost_sat={f['onchain_cost_msat'] // 1000} "
            f"net_sat={net_msat(f) // 1000} forwards={f['forwards']} "
            f"liquidity_failures={f['liquidity_failures']} "
            f"updates_per_channel_day={updates_per_channel_day(f):.2f} run_s={f['run_s']:.1f}"
        )
    print(
        f"case={result['case']} median_fee_ppm={result['median_ppm']} run_s={result['run_s']:.1f}"
    )


@dataclass(frozen=True)
class Row:
    """What the summary needs of one arm on one case."""

    net_sat: float
    updates_per_channel_day: float


@dataclass(frozen=True)
class CaseRows:
    case: str
    set: str
    arms: dict[str, Row]


def rows_of(result: dict[str, Any]) -> CaseRows:
    arms = {
        arm: Row(net_msat(f) / 1000, updates_per_channel_day(f))
        for arm, f in result["figures"].items()
    }
    return CaseRows(str(result["case"]), str(result["set"]), arms)


def parse_log(path: Path) -> list[CaseRows]:
    """The case lines a run printed (``case=... arm=...``), so that a run cut short, or
    one made earlier, can be summarized again (``--summarize LOG``)."""
    cases: dict[str, CaseRows] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if "arm" not in fields or "case" not in fields:
            continue
        rows = cases.setdefault(fields["case"], CaseRows(fields["case"], fields["set"], {}))
        rows.arms[fields["arm"]] = Row(
            float(fields["net_sat"]), float(fields["updates_per_channel_day"])
        )
    return list(cases.values())


def _ratio(ours: float, best: float) -> float:
    if best > 0:
        return ours / best
    return float("inf") if ours > 0 else 1.0


def _is_baseline(arm: str) -> bool:
    """Every arm but lnpilot's own (the default and its variants) and the hindsight sweep."""
    return not arm.startswith(("lnpilot_", "fixed_"))


def _fixed_ppm(arm: str) -> int | None:
    return int(arm.removeprefix("fixed_")) if arm.startswith("fixed_") else None


def headline(results: Sequence[CaseRows], label: str) -> None:
    """The headline lines over `results`, each name suffixed with `label`."""
    ratios: list[float] = []
    hindsight: list[float] = []
    best_fixed: list[int] = []
    updates: list[float] = []
    tops: set[int] = set()
    wins = 0
    for result in results:
        arms = result.arms
        fixed = {ppm: r.net_sat for a, r in arms.items() if (ppm := _fixed_ppm(a)) is not None}
        if fixed:
            tops.add(max(fixed))
            best_fixed.append(max(fixed, key=lambda ppm: (fixed[ppm], -ppm)))
        if OURS not in arms:
            continue
        ours = arms[OURS]
        updates.append(ours.updates_per_channel_day)
        baselines = [r.net_sat for a, r in arms.items() if _is_baseline(a)]
        if baselines:
            ratios.append(_ratio(ours.net_sat, max(baselines)))
            wins += ours.net_sat > max(baselines)
        if fixed:
            hindsight.append(_ratio(ours.net_sat, max(fixed.values())))
    suffix = f"_{label}" if label else ""
    print(f"league_scenarios{suffix}={len(results)}")
    if ratios:
        print(f"league_median_ratio{suffix}={statistics.median(ratios):.2f}")
        print(f"league_win_rate{suffix}={wins / len(ratios):.2f}")
    if hindsight:
        print(f"league_ratio_vs_hindsight{suffix}={statistics.median(hindsight):.2f}")
    if best_fixed:
        top = max(tops)
        print(f"league_best_fixed_fee_ppm{suffix}={statistics.median(best_fixed):g}")
        share = sum(1 for ppm in best_fixed if ppm == top) / len(best_fixed)
        print(f"league_ceiling_share{suffix}={share:.2f}")
    if updates:
        print(f"league_updates_per_channel_day{suffix}={statistics.median(updates):.2f}")


def table(results: Sequence[CaseRows]) -> None:
    """Per arm: median net profit, its median ratio to the best other baseline of the same
    case, the cases it beats them all in, and median updates per channel per day."""
    arms = sorted({a for r in results for a in r.arms})
    print("| arm | median net sat | median ratio to best other baseline | wins | upd/ch/day |")
    print("|---|---|---|---|---|")
    for arm in arms:
        nets, ratios, upd, wins = [], [], [], 0
        for r in results:
            if arm not in r.arms:
                continue
            mine = r.arms[arm]
            nets.append(mine.net_sat)
            upd.append(mine.updates_per_channel_day)
            others = [v.net_sat for a, v in r.arms.items() if a != arm and _is_baseline(a)]
            if others:
                ratios.append(_ratio(mine.net_sat, max(others)))
                wins += mine.net_sat > max(others)
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
        print(
            f"| {arm} | {statistics.median(nets):.0f} | {ratio} | {wins}/{len(nets)} "
            f"| {statistics.median(upd):.2f} |"
        )


def summarize(results: Sequence[CaseRows]) -> None:
    results = sorted(results, key=lambda r: r.case)
    for label in (TUNE, EVAL):
        chosen = [r for r in results if r.set == label]
        if chosen:
            headline(chosen, label)
            table(chosen)
    headline(results, "")


# --- main -----------------------------------------------------------------------------------


def _run(
    args: tuple[Case, list[Arm], list[int], float, float, float, Path | None],
) -> dict[str, Any]:
    return run_case(*args)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the ~2 minute smoke run")
    parser.add_argument("--summarize", type=Path, help="only summarize a run's printed log")
    parser.add_argument("--scenarios", type=Path, help="a folder of scenario files instead")
    parser.add_argument("--graph", type=Path, default=DEFAULT_GRAPH, help="snapshot to carve")
    parser.add_argument("--graphs", type=int, default=3, help="carved graphs (graph 0: tune)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="demand shapes, comma-separated")
    parser.add_argument("--nodes", type=int, default=300, help="nodes of each carved graph")
    parser.add_argument("--seeds", default="1,2,3", help="simulation seeds, comma-separated")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "lnpilot-league",
        help="generated scenarios",
    )
    parser.add_argument("--days", type=float, default=14.0, help="measured virtual days")
    parser.add_argument("--warmup-days", type=float, default=7.0, help="warm-up virtual days")
    parser.add_argument(
        "--interval-h", type=float, default=1.0, help="collect/fees/rebalance interval"
    )
    parser.add_argument("--sweep", default=",".join(map(str, SWEEP_PPM)), help="fixed fees, ppm")
    parser.add_argument("--arms", help="only these non-fixed arms, comma-separated")
    parser.add_argument(
        "--extra-arms", type=Path, help="a folder of more policy files to run as arms"
    )
    parser.add_argument(
        "--keep", type=Path, help="copy each adaptive arm's store (journals) to KEEP/case/arm"
    )
    parser.add_argument("--set", choices=(TUNE, EVAL, "all"), default="all", help="which cases")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    args = parser.parse_args(argv)
    if args.summarize is not None:
        summarize(parse_log(args.summarize))
        return
    seeds = [int(s) for s in args.seeds.split(",") if s]
    sweep = [int(s) for s in args.sweep.split(",") if s]
    if args.quick:
        cases = quick_cases()
        days, warmup, sweep = 2.0, 1.0, list(QUICK_SWEEP_PPM)
    elif args.scenarios is not None:
        cases, days, warmup = folder_cases(args.scenarios, seeds), args.days, args.warmup_days
    else:
        shapes = [s for s in args.shapes.split(",") if s]
        cases = generated_cases(args.out, args.graph, args.graphs, shapes, seeds, args.nodes)
        days, warmup = args.days, args.warmup_days
    if args.set != "all":
        cases = [c for c in cases if c.set == args.set]
    arms = baseline_arms(set(args.arms.split(",")) if args.arms else None, args.extra_arms)
    step_s = args.interval_h * 3600
    print(
        f"cases={len(cases)} arms={len(arms) + 1 + len(sweep)} days={days:g} "
        f"warmup_days={warmup:g} interval_h={args.interval_h:g} jobs={args.jobs}"
    )
    started = time.perf_counter()
    work = [(case, arms, sweep, days, warmup, step_s, args.keep) for case in cases]
    results: list[dict[str, Any]] = []
    with multiprocessing.get_context("fork").Pool(max(1, min(args.jobs, len(work)))) as pool:
        for result in pool.imap_unordered(_run, work):
            print_case(result)
            sys.stdout.flush()
            results.append(result)
    summarize([rows_of(r) for r in results])
    print(f"league_run_s={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
