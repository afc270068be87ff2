"""The daemon's API under concurrent load, next to a bare FastAPI app reading the same store.

``api_speed.py`` times one client; this one asks what many do to it: ``--clients`` (50)
concurrent keep-alive clients, each sending its next request as soon as the last answered,
for ``--duration`` seconds (20) per phase, over loopback only.

- Phase ``list``: every client reads the channel list (``GET /api/v1/channels``: 200
  channels with their 1, 7 and 30 day flows, a year of rollups behind them). Figures
  ``api_load_rps``, ``api_load_p50_ms``, ``api_load_p99_ms``, ``api_load_errors``; target
  >= 500 requests/s with p99 <= 200 ms and no error on this 2-core machine.
- The reference, same phase, same clients: a bare FastAPI app (no auth, no audit, no
  middleware) in a process of its own, whose one route makes the same store reads and
  returns them as JSON (``ref_load_rps``, ``ref_load_p99_ms``); ``api_load_ratio_vs_bare``
  is what lnpilot's API costs on top of the reads under load.
- Phase ``mixed``: 70 % channel list, 10 % a channel's year of series, 10 % the dashboard's
  overview, 10 % its channel table (``mixed_load_rps``, ``mixed_load_p99_ms``,
  ``mixed_load_errors``).
- ``api_load_server_cpu_ms_per_request`` / ``api_load_client_cpu_ms_per_request``: the CPU
  time the API's process and the load generator spent per channel list in that phase; unlike
  requests per second, the other work on a shared machine does not change them, and
  ``1000 / server`` is what one API process could answer with a core of its own.
- The clients are httpx's, which ask for gzip: the list comes compressed (once per key, as a
  browser would get it) and each client decodes it, part of its CPU figure.
- ``api_rss_mb_before`` / ``api_rss_mb_after``: the API process's resident memory before the
  first phase and after the last.

The store is ``api_speed.fill``'s (the same synthetic year); both servers run under uvicorn
in spawned processes, one worker each. The load generator shares the machine: its cost
weighs on both sides alike, which is why the ratio is the figure to compare across runs.
Prints ``name=value`` lines. ``--quick`` for a smoke run (5 clients, 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

import api_speed  # beside this file: the year of data, the lnpilot server, the quantiles
import store_speed
from lnpilot.api.channels import LIST_WINDOWS
from lnpilot.base.domain import scid_from_chan_id
from lnpilot.store import Store, sqlite_url
from lnpilot.web.templating import PREFIX

TARGET_RPS = 500
TARGET_P99_MS = 200


def serve_bare(path: Path, port: int) -> None:
    """The reference: FastAPI with one route making the channel list's store reads."""

    async def main() -> None:
        async with await Store.open(sqlite_url(path)) as store:
            app = FastAPI()

            @app.get("/channels")
            async def channels() -> list[dict[str, object]]:
                async with store.read() as reader:
                    listed = await reader.channels(1)
                    totals = await reader.channel_totals_over(
                        1,
                        [(api_speed.NOW - span, api_speed.NOW) for span in LIST_WINDOWS.values()],
                        now=api_speed.NOW,
                    )
                return [
                    {"scid": c.scid, "capacity_sat": c.capacity_sat, "windows": len(totals)}
                    for c in listed
                ]

            config = uvicorn.Config(app, port=port, log_level="warning")
            await uvicorn.Server(config).serve()

    asyncio.run(main())


@dataclass
class Tally:
    """What one phase saw: each answer's time, and the failures (non-2xx or transport)."""

    times_ms: list[float] = field(default_factory=list)
    errors: int = 0


Pick = Callable[[random.Random], str]


async def load(
    url: str, token: str, clients: int, duration_s: float, pick: Pick, *, dashboard: bool = False
) -> Tally:
    """``clients`` keep-alive clients requesting ``pick``'s paths back to back until the
    phase's time is up; with ``dashboard``, each signs in first (the dashboard's cookie)."""
    tally = Tally()
    deadline = time.monotonic() + duration_s

    async def client(n: int) -> None:
        rng = random.Random(n)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            if dashboard:
                await http.get(f"{PREFIX}/", params={"token": token}, follow_redirects=True)
            while time.monotonic() < deadline:
                path = pick(rng)
                started = time.perf_counter()
                try:
                    answer = await http.get(path)
                    ok = answer.is_success
                except httpx.TransportError:
                    ok = False
                tally.times_ms.append((time.perf_counter() - started) * 1000)
                tally.errors += 0 if ok else 1

    await asyncio.gather(*(client(n) for n in range(clients)))
    return tally


def rss_mb(pid: int | None) -> float:
    assert pid is not None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_s(pid: int | None) -> float:
    """The process's CPU time so far (user and system): what one request costs it is the
    figure a busy shared machine does not distort, unlike requests per second."""
    assert pid is not None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(f"{url}/openapi.json", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def figures(prefix: str, tally: Tally, duration_s: float) -> dict[str, float | int]:
    return {
        f"{prefix}_rps": round(len(tally.times_ms) / duration_s, 1),
        f"{prefix}_p50_ms": api_speed.p(tally.times_ms, 50),
        f"{prefix}_p99_ms": api_speed.p(tally.times_ms, 99),
        f"{prefix}_errors": tally.errors,
        f"{prefix}_requests": len(tally.times_ms),
    }


def run(clients: int, duration_s: float) -> dict[str, float | int | str]:
    scid = scid_from_chan_id(store_speed.FIRST_CHAN_ID)
    year = (
        f"start={(api_speed.NOW - timedelta(days=365)).isoformat()}&end={api_speed.NOW.isoformat()}"
    )
    year = year.replace("+", "%2B")

    def channel_list(rng: random.Random) -> str:
        return "/api/v1/channels"

    def mixed(rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.7:
            return "/api/v1/channels"
        if roll < 0.8:
            return f"/api/v1/channels/{scid}/series?{year}"
        if roll < 0.9:
            return f"{PREFIX}/"
        return f"{PREFIX}/channels"

    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="lnpilot-api-load-") as tmp:
        path = Path(tmp)
        token = asyncio.run(api_speed.fill(path))
        api_port, bare_port = api_speed.free_port(), api_speed.free_port()
        api = spawn.Process(target=api_speed.serve, args=(path, api_port))
        bare = spawn.Process(target=serve_bare, args=(path, bare_port))
        api.start()
        bare.start()
        api_url, bare_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
        try:
            wait_up(api_url)
            wait_up(bare_url)
            rss_before = rss_mb(api.pid)
            server_cpu_s, client_cpu_s = cpu_s(api.pid), time.process_time()
            found = figures(
                "api_load",
                asyncio.run(load(api_url, token, clients, duration_s, channel_list)),
                duration_s,
            )
            listed = found["api_load_requests"] or 1
            found["api_load_server_cpu_ms_per_request"] = round(
                (cpu_s(api.pid) - server_cpu_s) * 1000 / listed, 2
            )
            found["api_load_client_cpu_ms_per_request"] = round(
                (time.process_time() - client_cpu_s) * 1000 / listed, 2
            )
            found |= figures(
                "ref_load",
                asyncio.run(load(bare_url, token, clients, duration_s, lambda _: "/channels")),
                duration_s,
            )
            found |= figures(
                "mixed_load",
                asyncio.run(load(api_url, token, clients, duration_s, mixed, dashboard=True)),
                duration_s,
            )
            rss_after = rss_mb(api.pid)
        finally:
            for server in (api, bare):
                server.terminate()
                server.join(30)
    return {
        **found,
        "api_load_ratio_vs_bare": round(found["api_load_rps"] / found["ref_load_rps"], 2),
        "api_load_target_rps": TARGET_RPS,
        "api_load_target_p99_ms": TARGET_P99_MS,
        "api_rss_mb_before": rss_before,
        "api_rss_mb_after": rss_after,
        "clients": clients,
        "duration_s_per_phase": duration_s,
        "channels": api_speed.CHANNELS,
        "cpus": os.cpu_count() or 0,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--quick", action="store_true", help="5 clients, 3 s per phase")
    args = parser.parse_args()
    if args.clients < 1 or not 0 < args.duration <= 300:
        parser.error("--clients must be at least 1 and --duration in (0, 300] seconds")
    clients, duration_s = (5, 3.0) if args.quick else (args.clients, args.duration)
    for name, value in run(clients, duration_s).items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
