"""Backtests across a real daemon's life: one that finished is still there after a restart,
one running when the daemon is stopped (SIGTERM) is interrupted with its child process, and
one a daemon killed outright left marked running is marked interrupted at the next start."""

from __future__ import annotations

from pathlib import Path

import httpx

from lnpilot.store import Store, backtests, sqlite_url
from lnpilot.store.backtests import BacktestRecord

from .conftest import busy_sim, daemon_process

CANDIDATE = (
    '[safety]\nmax_step_floor_ppm = 100_000\nmin_interval = "1s"\n'
    '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 3000\n'
)
#: A bound on a tiny backtest under load, not a measure: the test waits for its state.
DONE_WITHIN_S = 600


async def test_backtests_outlive_the_daemon_or_are_marked_interrupted(tmp_path: Path) -> None:
    async with busy_sim() as sim:
        with daemon_process(tmp_path, sim.face.url) as daemon:
            daemon.wait_healthy({"collect"})

            def start(**options: object) -> int:
                body = {"candidate_policy": CANDIDATE, **options}
                answer = httpx.post(
                    f"{daemon.url}/api/v1/backtests",
                    headers=daemon.auth(admin=True),
                    json=body,
                    timeout=30,
                )
                assert answer.status_code == 202, answer.text
                return int(answer.json()["id"])

            tiny = start(days=0.05, seeds=1, warmup_days=0)
            found = daemon.poll(
                f"/api/v1/backtests/{tiny}",
                lambda b: b["state"] != "running",
                timeout_s=DONE_WITHIN_S,
            )
            assert found["state"] == "done", found["error"]
            long = start(days=30, seeds=5)
            assert daemon.terminate() == 0
        # A daemon killed outright leaves its backtest marked running.
        async with (
            await Store.open(sqlite_url(tmp_path / "data")) as store,
            store.transaction() as tx,
        ):
            left = await backtests.add(
                tx,
                BacktestRecord(
                    state="running",
                    current="fees",
                    candidate="killed",
                    created_by="ops",
                    created_at=sim.now,
                    runs_total=2,
                    options={},
                ),
            )
        with daemon_process(tmp_path, sim.face.url) as again:
            again.wait_healthy({"collect"})
            done = again.get(f"/api/v1/backtests/{tiny}")
            assert done["state"] == "done" and done["report"]["verdict"]["text"]
            for stopped in (long, left):
                found = again.get(f"/api/v1/backtests/{stopped}")
                assert found["state"] == "interrupted", found
                assert found["error"] == backtests.INTERRUPTED
            assert again.terminate() == 0
