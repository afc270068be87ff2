"""Backtests as background work of the daemon, for both faces (API and dashboard).

A backtest takes minutes of CPU. The daemon reads the node and the store for it (the only
part that needs them), then runs the computation in a child process
(:mod:`lnpilot.backtest.job`) and stores its progress and report
(:mod:`lnpilot.store.backtests`). At most :data:`MAX_RUNNING` run at once: the machine's
CPUs are the daemon's first, and a second backtest would only halve the speed of both. A
request beyond the limit is refused (409) with the running one's id. Nothing is applied:
the node is only read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pickle
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lnpilot.backtest.model import ModelError
from lnpilot.backtest.run import (
    Arm,
    BacktestError,
    JobSpec,
    Options,
    load_arm,
    parse_arm,
    read_inputs,
)
from lnpilot.base.redact import redact_text
from lnpilot.base.tomlfile import FileProblems
from lnpilot.service.actions import CONFLICT, UNPROCESSABLE, Refused
from lnpilot.service.background import Busy
from lnpilot.service.context import Services
from lnpilot.store import backtests
from lnpilot.store.backtests import BacktestRecord
from lnpilot.store.tokens import ApiToken

log = logging.getLogger(__name__)

#: Backtests running at once, across both faces.
MAX_RUNNING = 1
#: A candidate's name: it is shown in reports and pages.
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: Bounds of a background backtest, tighter than the CLI's: it shares the daemon's machine.
MAX_DAYS = 90.0
MAX_SEEDS = 20
MAX_WARMUP_DAYS = 14.0
#: The kind of background work (:mod:`lnpilot.service.background`).
KIND = "backtest"


@dataclass(frozen=True)
class BacktestRequest:
    """What a face asks for: the candidate policy as the text of a policy file, and the
    backtest's options (``lnpilot backtest``'s); the current policy is the daemon's."""

    candidate_policy: str
    candidate_name: str = "candidate"
    days: float = 7.0
    seeds: int = 5
    warmup_days: float = 2.0


def job_count(seeds: int) -> int:
    """Worker processes for a daemon's backtest: one per seed, leaving one CPU to the
    daemon itself when there are several."""
    return max(1, min(seeds, (os.cpu_count() or 1) - 1))


async def start(services: Services, token: ApiToken, request: BacktestRequest) -> int:
    """Check the request, store the backtest as running and start it in the background;
    its id. Refused with 409 when :data:`MAX_RUNNING` run already or the daemon has no
    policy, 422 when the candidate policy or an option is not valid."""
    current, candidate, options = _checked(services, request)  # bad input first: 422
    try:
        with services.background.slot(KIND, MAX_RUNNING):
            node_id = await services.node_id()
            record = BacktestRecord(
                state=backtests.RUNNING,
                current=current.name,
                candidate=candidate.name,
                created_by=token.name,
                created_at=services.clock(),
                runs_total=2 * len(options.seeds),
                options={
                    "days": options.days,
                    "seeds": len(options.seeds),
                    "warmup_days": options.warmup_days,
                },
                node_id=node_id,
            )
            async with services.store.transaction() as tx:
                backtest_id = await backtests.add(tx, record)
            work = _run(services, backtest_id, current, candidate, options)
            services.background.spawn(KIND, backtest_id, work)
    except Busy as exc:
        ids = ", ".join(f"#{i}" for i in exc.running) or "one being started"
        raise Refused(
            CONFLICT,
            f"backtest {ids} is running; at most {MAX_RUNNING} runs at a time: wait for it to end",
        ) from None
    return backtest_id


async def finished(services: Services, backtest_id: int) -> None:
    """Return once backtest `backtest_id` of this daemon ended (at once when none runs)."""
    await services.background.finished(KIND, backtest_id)


async def _run(
    services: Services, backtest_id: int, current: Arm, candidate: Arm, options: Options
) -> None:
    state: backtests.BacktestState = "failed"
    report: dict[str, Any] | None = None
    error: str | None = None
    try:
        inputs = await read_inputs(
            services.node, services.store, now=services.clock(), options=options
        )
        spec = JobSpec(inputs, current, candidate, options, job_count(len(options.seeds)))
        report = await _in_child(services, backtest_id, spec)
        state = "done"
    except asyncio.CancelledError:
        state, error = "interrupted", backtests.INTERRUPTED
        raise
    except ModelError as exc:
        error = str(exc)
    except Exception as exc:
        log.exception("backtest %d failed", backtest_id)
        error = redact_text(f"{type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(Exception):
            async with services.store.transaction() as tx:
                await backtests.finish(
                    tx, backtest_id, services.clock(), state, report=report, error=error
                )


def _checked(services: Services, request: BacktestRequest) -> tuple[Arm, Arm, Options]:
    if not NAME.fullmatch(request.candidate_name):
        raise Refused(
            UNPROCESSABLE,
            f"name: {request.candidate_name[:80]!r} is not 1 to 64 letters, digits, '.', '_' "
            "or '-'",
        )
    path = services.settings.service.fees_policy_file
    if path is None:
        raise Refused(CONFLICT, "no current policy: set [service] fees_policy_file")
    options = Options(
        days=request.days,
        seeds=tuple(range(request.seeds)) if request.seeds > 0 else (),
        warmup_days=request.warmup_days,
    )
    try:
        options.check()
    except BacktestError as exc:
        raise Refused(UNPROCESSABLE, str(exc).lstrip("-")) from None
    for name, value, most in (
        ("days", request.days, MAX_DAYS),
        ("seeds", request.seeds, MAX_SEEDS),
        ("warmup_days", request.warmup_days, MAX_WARMUP_DAYS),
    ):
        if value > most:
            raise Refused(UNPROCESSABLE, f"{name}: {value:g} is above {most:g}, the most here")
    try:
        current = load_arm(Path(path))
    except FileProblems as exc:
        raise Refused(CONFLICT, "the current policy: " + "; ".join(exc.problems)) from None
    try:
        candidate = parse_arm(request.candidate_policy, request.candidate_name)
    except FileProblems as exc:
        raise Refused(UNPROCESSABLE, "candidate_policy: " + "; ".join(exc.problems)) from None
    return current, candidate, options


async def _in_child(services: Services, backtest_id: int, spec: JobSpec) -> dict[str, Any]:
    """Run `spec` in ``python -m lnpilot.backtest.job``, storing its progress; its report.
    Cancelled, the child is killed (a daemon stopping leaves no backtest behind)."""
    with tempfile.TemporaryDirectory(prefix="lnpilot-backtest-job-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.pickle", Path(tmp) / "report.json"
        spec_path.write_bytes(pickle.dumps(spec))
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "lnpilot.backtest.job",
            str(spec_path),
            str(out_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert child.stdout is not None and child.stderr is not None
            errors = asyncio.create_task(child.stderr.read())
            async for line in child.stdout:
                done, total = (int(v) for v in line.split()[:2])
                async with services.store.transaction() as tx:
                    await backtests.progress(tx, backtest_id, done, total)
            code = await child.wait()
            stderr = (await errors).decode(errors="replace").strip()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
            raise
        if code != 0:
            last = stderr.splitlines()[-1] if stderr else f"exit status {code}"
            raise RuntimeError(f"the backtest process failed: {last}")
        data: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
        return data
