"""``[api] workers = 2``: the real daemon serves its API from two worker processes while its
loops run once, in its own process; SIGTERM stops all of it, and a worker that dies stops the
daemon with an error instead of leaving it serving with fewer workers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from .conftest import START_TIMEOUT_S, Daemon, busy_sim, daemon_process

#: New connections asked before concluding that a worker never answers. With SO_REUSEPORT
#: the kernel picks the socket from a hash of each connection's addresses, so 200 fresh
#: connections all reaching one of two workers would be a 1 in 2^199 draw.
CONNECTIONS = 200


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _workers_started(daemon: Daemon) -> None:
    """Connections wait in the sockets' queues while the workers start (a fresh interpreter
    importing the app each): the first answer may take longer than one request's timeout."""
    httpx.get(f"{daemon.url}/health", timeout=START_TIMEOUT_S)


def _pids_answering(daemon: Daemon) -> set[int]:
    """The processes that answered fresh connections (one request each), until two did."""
    seen: set[int] = set()
    for _ in range(CONNECTIONS):
        with httpx.Client(timeout=10) as client:  # a new connection each time
            seen.add(client.get(f"{daemon.url}/health").json()["pid"])
        if len(seen) == 2:
            break
    return seen


async def test_two_workers_serve_while_the_loops_run_once(tmp_path: Path) -> None:
    async with busy_sim() as sim:
        # fees and rebalance run at start, then hourly: exactly one run each in this test
        with daemon_process(tmp_path, sim.face.url, api={"workers": 2}) as daemon:
            _workers_started(daemon)
            daemon.wait_healthy({"collect", "monitor", "notify", "fees", "rebalance"})
            workers = _pids_answering(daemon)
            assert len(workers) == 2
            assert daemon.process.pid not in workers
            assert {_parent_of(pid) for pid in workers} == {daemon.process.pid}
            # each worker reads the store and sees the loops' health (published by the daemon)
            channels = daemon.get("/api/v1/channels")
            assert len(channels) == 6
            assert len(daemon.get("/api/v1/fees/runs")) == 1
            assert len(daemon.get("/api/v1/rebalances/runs")) == 1
            assert daemon.terminate() == 0
            out = daemon.process.stdout.read() if daemon.process.stdout else ""
            assert "lnpilot stopped." in out
            assert not any(_alive(pid) for pid in workers)


async def test_a_dead_worker_stops_the_daemon(tmp_path: Path) -> None:
    async with busy_sim() as sim:
        with daemon_process(tmp_path, sim.face.url, api={"workers": 2}) as daemon:
            _workers_started(daemon)
            daemon.wait_healthy({"collect"})
            workers = _pids_answering(daemon)
            victim = min(workers)
            os.kill(victim, signal.SIGKILL)
            assert daemon.process.wait(timeout=60) == 1
            log = daemon.log.read_text()
            assert "ended (exit -9); the loops were stopped" in log, log
            assert not any(_alive(pid) for pid in workers)
