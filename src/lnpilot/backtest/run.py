"""A backtest: model the node, fit its demand, check the fit, run both policies in the lab.

The runs go through :class:`lnpilot.lab.Lab`, the daemon's own loops (collector → store →
fee engine → applier → journal, and the rebalancer) over the modelled network in virtual
time, so the candidate is judged by the code that would run it. Nothing touches the real
node: the backend is only read (channels, policies, graph) and the store only read
(forwards and failed forwards); each run has its own throw-away store.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lnpilot.backtest.demand import (
    FittedDemand,
    PairDemand,
    Recorded,
    balances_at_start,
    fit,
    scaled,
)
from lnpilot.backtest.model import NodeState, read_node
from lnpilot.backtest.scenario import BuiltScenario, build
from lnpilot.backtest.verdict import Verdict, judge
from lnpilot.base.domain import FailedForward, Forward
from lnpilot.fees.planner import Action
from lnpilot.fees.policy import PolicyFile, load_policy, parse_policy
from lnpilot.lab import Figures, Intervals, Lab
from lnpilot.node.backend import NodeBackend
from lnpilot.rebalance.settings import RebalanceSettings, settings_from_policy
from lnpilot.simnet.generate import to_toml
from lnpilot.simnet.simulation import Simulation
from lnpilot.store import Store, fee_journal

MAX_DAYS = 365.0
MAX_SEEDS = 50
#: The candidate's decisions shown in the report (the first ones it would make).
FIRST_DECISIONS = 5
#: Calibration replays the first seed at most this many times, and stops once the replay
#: forwards within CALIBRATED_WITHIN of what the store recorded.
CALIBRATION_ROUNDS = 4
CALIBRATED_WITHIN = 0.05
#: Progress: (runs done, runs in all, what runs now).
Progress = Callable[[int, int, str], None]


class BacktestError(ValueError):
    """Arguments a backtest cannot run with; the message names the argument and the range."""


@dataclass(frozen=True)
class Arm:
    """A policy file as the daemon reads it: the fee policy and its ``[rebalance]`` part."""

    name: str
    path: Path
    policy: PolicyFile
    rebalance: RebalanceSettings


def load_arm(path: Path) -> Arm:
    """Read a policy file once, as ``lnpilot run`` does (PolicyError/SettingsError name
    every problem)."""
    return _arm(path.stem, path, load_policy(path))


def parse_arm(text: str, name: str) -> Arm:
    """A policy given as text (the demo's own policy), read as a file would be."""
    return _arm(name, Path(f"<{name}>"), parse_policy(text, name))


def _arm(name: str, path: Path, policy: PolicyFile) -> Arm:
    return Arm(name, path, policy, settings_from_policy(policy.rebalance, policy.groups, str(path)))


@dataclass(frozen=True)
class Options:
    days: float = 30.0
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    #: Collector-only days before each measured run: the history the strategies read.
    warmup_days: float = 2.0
    max_nodes: int = 120
    interval_s: float = 3600.0

    def check(self) -> None:
        if not 0 < self.days <= MAX_DAYS:
            raise BacktestError(f"--days: {self.days:g} is outside (0, {MAX_DAYS:g}]")
        if not 1 <= len(self.seeds) <= MAX_SEEDS:
            raise BacktestError(f"--seeds: {len(self.seeds)} is outside 1..{MAX_SEEDS}")
        if self.warmup_days < 0:
            raise BacktestError(f"--warmup-days: {self.warmup_days:g} is negative; use 0 or more")


@dataclass(frozen=True)
class FitQuality:
    """The fitted demand replayed under the policies in place, against the record."""

    recorded: Recorded
    replay_forwards: tuple[int, ...]
    replay_fees_msat: tuple[int, ...]
    #: Forwards of the replay before calibration (first seed), None without history.
    uncalibrated_forwards: int | None = None
    #: What calibration multiplied the recorded rates by.
    rate_scale: float = 1.0

    @property
    def forwards_ratio(self) -> float | None:
        mean = statistics.fmean(self.replay_forwards)
        return mean / self.recorded.forwards if self.recorded.forwards else None

    @property
    def fees_ratio(self) -> float | None:
        mean = statistics.fmean(self.replay_fees_msat)
        return mean / self.recorded.fees_earned_msat if self.recorded.fees_earned_msat else None


@dataclass(frozen=True)
class Decision:
    """One of the candidate's fee decisions, as its journal recorded it."""

    at: datetime
    scid: str | None
    action: str
    old_fee_rate_ppm: int | None
    new_fee_rate_ppm: int | None
    reason: str


@dataclass(frozen=True)
class ArmResult:
    name: str
    figures: tuple[Figures, ...]
    #: Fees earned per channel (by scid, outgoing side) per seed, msat.
    channel_fees_msat: dict[str, tuple[int, ...]]

    @property
    def net_msat(self) -> tuple[int, ...]:
        return tuple(f.net_profit_msat for f in self.figures)


@dataclass(frozen=True)
class Report:
    pubkey: str
    alias: str
    channels: int
    graph_nodes: int
    graph_channels: int
    pairs: int
    gaps: tuple[str, ...]
    fit: FitQuality
    current: ArmResult
    candidate: ArmResult
    verdict: Verdict
    decisions: tuple[Decision, ...]
    peer_alias: dict[str, str] = field(default_factory=dict)
    options: Options = Options()


@dataclass(frozen=True)
class Fitted:
    """The node's model: `scenario` starts from today's balances (for the runs ahead),
    `past` from the balances at the window's start (for the replay of the record)."""

    state: NodeState
    demand: FittedDemand
    scenario: BuiltScenario
    past: BuiltScenario


@dataclass(frozen=True)
class Inputs:
    """Everything a backtest reads from the node and the store, read once: the rest is
    computation on it alone, so it can run in another process (the daemon's background
    job) while the daemon keeps serving."""

    state: NodeState
    forwards: tuple[Forward, ...]
    failed: tuple[FailedForward, ...]
    start: datetime
    now: datetime


@dataclass(frozen=True)
class JobSpec:
    """A backtest handed to a process of its own (:mod:`lnpilot.backtest.job`): what was
    read, the two policies, the options and how many worker processes its seeds get."""

    inputs: Inputs
    current: Arm
    candidate: Arm
    options: Options
    jobs: int


async def read_inputs(
    node: NodeBackend,
    store: Store,
    *,
    now: datetime,
    options: Options,
    graph_file: Path | None = None,
) -> Inputs:
    """The node as it is and its history over the last `options.days` of the store."""
    options.check()
    state = await read_node(node, graph_file)
    start = now - timedelta(days=options.days)
    async with store.read() as reader:
        node_id = await reader.node_id(state.pubkey)
        forwards = await reader.forwards(node_id, start, now) if node_id is not None else []
        failed = await reader.failed_forwards(node_id, start, now) if node_id is not None else []
    return Inputs(state, tuple(forwards), tuple(failed), start, now)


async def fit_node(
    node: NodeBackend,
    store: Store,
    *,
    now: datetime,
    options: Options,
    graph_file: Path | None = None,
) -> Fitted:
    """The node as it is and its demand over the last `options.days` of the store,
    calibrated on the first seed (see :func:`fit_inputs`)."""
    inputs = await read_inputs(node, store, now=now, options=options, graph_file=graph_file)
    return fit_inputs(inputs, options)


def fit_inputs(inputs: Inputs, options: Options) -> Fitted:
    """The demand fitted to the history read, calibrated on the first seed (see
    :func:`lnpilot.backtest.demand.calibrated`)."""
    state, now, start = inputs.state, inputs.now, inputs.start
    forwards, failed = list(inputs.forwards), list(inputs.failed)
    # The window starts where the record does, when it is younger than --days (a rate over
    # days nobody recorded would be too low).
    first = min([f.timestamp for f in forwards] + [f.timestamp for f in failed], default=start)
    start = max(start, first.replace(minute=0, second=0, microsecond=0))
    if start >= now:
        start = now - timedelta(hours=1)
    demand = fit(state.channels, forwards, failed, start, now)
    hours = max(options.warmup_days + options.days, demand.recorded.hours / 24) * 24
    then = balances_at_start(state.channels, forwards)

    def scenarios(pairs: tuple[PairDemand, ...]) -> tuple[BuiltScenario, BuiltScenario]:
        """(the runs ahead, from today's balances; the replay, from the window's start)"""
        nodes = options.max_nodes
        return (
            build(state, demand, pairs=pairs, start=now, hours=hours, max_nodes=nodes),
            build(
                state,
                demand,
                pairs=pairs,
                start=start,
                hours=hours,
                max_nodes=nodes,
                local_balance_msat=then,
            ),
        )

    pairs = demand.pairs
    ahead, past = scenarios(pairs)
    uncalibrated: int | None = None
    factor = 1.0
    tried: list[tuple[float, int, tuple[PairDemand, ...]]] = []
    for round_ in range(CALIBRATION_ROUNDS if pairs else 0):
        replayed = _replay_one(past, state, demand.recorded, options.seeds[0])
        uncalibrated = replayed.forwards if uncalibrated is None else uncalibrated
        error = abs(replayed.forwards / max(1, demand.recorded.forwards) - 1)
        tried.append((error, round_, pairs))
        if error <= CALIBRATED_WITHIN:
            break
        # More payments drain our channels sooner, so forwards grow less than the rate:
        # after the first round, half steps (in log) keep the rounds from overshooting.
        ratio = demand.recorded.forwards / replayed.forwards if replayed.forwards else 10.0
        factor *= ratio ** (1.0 if round_ == 0 else 0.5)
        pairs = scaled(demand.pairs, factor)
        ahead, past = scenarios(pairs)
    if tried:  # the rates whose replay came closest (the last ones are not replayed)
        pairs = min(tried)[2]
        ahead, past = scenarios(pairs)
    demand = replace(demand, pairs=pairs, uncalibrated_forwards=uncalibrated)
    return Fitted(state, demand, ahead, past)


@dataclass(frozen=True)
class _Replayed:
    forwards: int
    fees_msat: int
    #: Forwards per (peer in, peer out), by the real peers' pubkeys.
    per_pair: dict[tuple[str, str], int]


def _replay_one(built: BuiltScenario, state: NodeState, recorded: Recorded, seed: int) -> _Replayed:
    """The model run over the recorded window, the policies in place now held fixed."""
    sim = Simulation(built.scenario, seed=seed, start=recorded.start)
    sim.run_for((recorded.end - recorded.start).total_seconds())
    peer_of_scid = {c.scid: c.peer_pubkey for c in state.channels}
    peer_of = {v.chan_id: peer_of_scid.get(v.scid, "") for v in sim.our_node.channels()}
    per_pair: dict[tuple[str, str], int] = {}
    for f in sim.our_node.forwards:
        key = (peer_of.get(f.chan_id_in, ""), peer_of.get(f.chan_id_out, ""))
        per_pair[key] = per_pair.get(key, 0) + 1
    forwards = sim.our_node.forwards
    return _Replayed(len(forwards), sum(f.fee_msat for f in forwards), per_pair)


def replay(
    built: BuiltScenario, state: NodeState, demand: FittedDemand, seeds: Sequence[int]
) -> FitQuality:
    """Run the fitted demand over the recorded window, under the policies in place now
    (the ones the model carries), and count our forwards and fees per seed."""
    runs = [_replay_one(built, state, demand.recorded, seed) for seed in seeds]
    return FitQuality(
        demand.recorded,
        tuple(r.forwards for r in runs),
        tuple(r.fees_msat for r in runs),
        demand.uncalibrated_forwards,
        demand.pairs[0].calibration if demand.pairs else 1.0,
    )


async def run_arm(
    built: BuiltScenario, arm: Arm, seed: int, options: Options, data_dir: Path
) -> tuple[Figures, dict[str, int], list[Decision]]:
    """One policy on one seed in the lab: warm-up (collector only), then the measured days."""
    sim = Simulation(built.scenario, seed=seed)
    every = options.interval_s
    intervals = Intervals(every, every, every)
    async with Lab(sim, data_dir, arm.policy, arm.rebalance, intervals=intervals) as lab:
        if options.warmup_days:
            await lab.run_for(options.warmup_days * 86_400, loops=("collect",))
        since = sim.network.now()
        since_ns = sim.network.now_ns
        await lab.run_for(options.days * 86_400)
        figures = await lab.figures(since)
        scid_of = {v.chan_id: v.scid for v in sim.our_node.channels()}
        per_channel = dict.fromkeys(scid_of.values(), 0)
        for f in sim.our_node.forwards:
            if f.timestamp_ns > since_ns and f.chan_id_out in scid_of:
                per_channel[scid_of[f.chan_id_out]] += f.fee_msat
        decisions = await _first_decisions(lab, sim)
    return figures, per_channel, decisions


async def _first_decisions(lab: Lab, sim: Simulation) -> list[Decision]:
    """The first fee updates the policy decided, with their reasons (else its first
    decisions of any kind: why nothing changed)."""
    found: list[Decision] = []
    quiet: list[Decision] = []
    async with lab.store.read() as reader:
        node_id = await reader.node_id(sim.our_node.pubkey)
        if node_id is None:
            return []
        for run in reversed(await fee_journal.runs(reader, node_id, limit=10_000)):
            assert run.id is not None
            for d in await fee_journal.run_decisions(reader, run.id):
                decision = Decision(
                    at=run.at,
                    scid=d.scid,
                    action=d.action,
                    old_fee_rate_ppm=d.old.fee_rate_ppm if d.old else None,
                    new_fee_rate_ppm=d.new.fee_rate_ppm,
                    reason=d.reason,
                )
                target = found if d.action == Action.UPDATE else quiet
                target.append(decision)
            if len(found) >= FIRST_DECISIONS:
                break
    return (found or quiet)[:FIRST_DECISIONS]


@dataclass(frozen=True)
class _SeedRuns:
    """Both policies on one seed: (figures, fees per channel) each, and the candidate's
    first decisions."""

    current: tuple[Figures, dict[str, int]]
    candidate: tuple[Figures, dict[str, int]]
    decisions: list[Decision]


async def _both_on_seed(
    built: BuiltScenario, current: Arm, candidate: Arm, seed: int, options: Options
) -> _SeedRuns:
    """Current then candidate on `seed`, each in its own throw-away store."""
    with tempfile.TemporaryDirectory(prefix="lnpilot-backtest-") as tmp:
        runs = []
        for label, arm in (("current", current), ("candidate", candidate)):
            data_dir = Path(tmp) / label
            data_dir.mkdir()
            runs.append(await run_arm(built, arm, seed, options, data_dir))
    (cur_figures, cur_channels, _), (cand_figures, cand_channels, decisions) = runs
    return _SeedRuns((cur_figures, cur_channels), (cand_figures, cand_channels), decisions)


def _both_in_worker(
    built: BuiltScenario, current: Arm, candidate: Arm, seed: int, options: Options
) -> _SeedRuns:
    """:func:`_both_on_seed` in a worker process (its own event loop)."""
    return asyncio.run(_both_on_seed(built, current, candidate, seed, options))


def default_jobs(seeds: int) -> int:
    """Worker processes for `seeds` seeds: one per seed, at most one per CPU."""
    return max(1, min(seeds, os.cpu_count() or 1))


async def compare(
    built: BuiltScenario,
    current: Arm,
    candidate: Arm,
    options: Options,
    progress: Progress | None = None,
    jobs: int = 1,
) -> tuple[ArmResult, ArmResult, list[Decision]]:
    """Both policies over the same seeds; the candidate's first decisions (first seed).

    With `jobs` above 1 the seeds run in that many worker processes (the simulation is
    CPU-bound, so threads would not help); each seed's runs depend on the seed alone, so
    the figures are those of a run in this process, in seed order."""
    total = 2 * len(options.seeds)
    by_seed: dict[int, _SeedRuns] = {}

    def note(seed: int, runs: _SeedRuns) -> None:
        by_seed[seed] = runs
        if progress is not None:
            progress(2 * len(by_seed), total, f"seed {seed} done")

    if progress is not None:
        progress(0, total, f"{current.name} and {candidate.name}, {len(options.seeds)} seeds")
    if jobs <= 1:
        for seed in options.seeds:
            note(seed, await _both_on_seed(built, current, candidate, seed, options))
    else:
        loop = asyncio.get_running_loop()
        # spawn, not fork: the caller may be the daemon, with threads and open connections.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:

            async def one(seed: int) -> tuple[int, _SeedRuns]:
                runs = await loop.run_in_executor(
                    pool, _both_in_worker, built, current, candidate, seed, options
                )
                return seed, runs

            for done in asyncio.as_completed([one(seed) for seed in options.seeds]):
                note(*await done)
    if progress is not None:
        progress(total, total, "done")

    def arm_result(label: str, arm: Arm) -> ArmResult:
        figs: list[Figures] = []
        channels: dict[str, list[int]] = {}
        for seed in options.seeds:
            figures, per_channel = getattr(by_seed[seed], label)
            figs.append(figures)
            for scid, fee_msat in per_channel.items():
                channels.setdefault(scid, []).append(fee_msat)
        return ArmResult(arm.name, tuple(figs), {k: tuple(v) for k, v in channels.items()})

    decisions = by_seed[options.seeds[0]].decisions
    return arm_result("current", current), arm_result("candidate", candidate), decisions


async def backtest(
    node: NodeBackend,
    store: Store,
    current: Arm,
    candidate: Arm,
    *,
    now: datetime,
    options: Options,
    graph_file: Path | None = None,
    progress: Progress | None = None,
    save: Path | None = None,
    jobs: int = 1,
) -> Report:
    """Model, fit, replay, compare, judge (see the module docstring); `save`: write the
    node's scenario (today's balances, the calibrated demand) there as simnet TOML."""
    inputs = await read_inputs(node, store, now=now, options=options, graph_file=graph_file)
    return await backtest_inputs(
        inputs, current, candidate, options, progress=progress, save=save, jobs=jobs
    )


async def backtest_inputs(
    inputs: Inputs,
    current: Arm,
    candidate: Arm,
    options: Options,
    *,
    progress: Progress | None = None,
    save: Path | None = None,
    jobs: int = 1,
) -> Report:
    """:func:`backtest` on what was read already: computation only, no node, no store."""
    fitted = fit_inputs(inputs, options)
    if save is not None:
        await asyncio.to_thread(save.write_text, scenario_toml(fitted), encoding="utf-8")
    quality = replay(fitted.past, fitted.state, fitted.demand, options.seeds)
    built = fitted.scenario
    cur, cand, decisions = await compare(built, current, candidate, options, progress, jobs)
    state = fitted.state
    return Report(
        pubkey=state.pubkey,
        alias=state.alias,
        channels=len(state.channels),
        graph_nodes=built.graph_nodes,
        graph_channels=built.graph_channels,
        pairs=len(built.pairs),
        gaps=built.gaps,
        fit=quality,
        current=cur,
        candidate=cand,
        verdict=judge(cur.net_msat, cand.net_msat),
        decisions=tuple(decisions),
        peer_alias={c.scid: c.peer_alias or c.peer_pubkey[:16] for c in state.channels if c.scid},
        options=options,
    )


def scenario_toml(fitted: Fitted) -> str:
    """The model as a scenario file ``lnpilot simnet run`` can run."""
    alias = fitted.state.alias or fitted.state.pubkey[:16]
    header = (
        f"# Written by `lnpilot backtest --save`: the node {alias} as it was at "
        f"{fitted.demand.recorded.end.isoformat()},\n# its neighbourhood and its demand "
        f"fitted to {fitted.demand.recorded.hours / 24:.1f} days of its history.\n"
    )
    return header + to_toml(fitted.scenario.raw)


def spread(values: Sequence[int]) -> tuple[int, int, int]:
    """(mean, min, max) of per-seed figures, mean floored to an integer."""
    return sum(values) // len(values), min(values), max(values)


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON data: the typed report's fields, with each arm's net profit per
    seed and the fit's ratios (derived values a reader should not recompute)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    data: dict[str, Any] = plain(asdict(report))
    for label, arm in (("current", report.current), ("candidate", report.candidate)):
        data[label]["net_profit_msat"] = list(arm.net_msat)
    data["fit"]["forwards_ratio"] = report.fit.forwards_ratio
    data["fit"]["fees_ratio"] = report.fit.fees_ratio
    data["options"]["seeds"] = list(report.options.seeds)
    return data
