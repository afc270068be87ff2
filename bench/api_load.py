"""The daemon's API under concurrent load, next to a bare FastAPI app reading the same store.

``api_speed.py`` times one client; this one asks what many do to it: ``--clients`` (50)
concurrent keep-alive clients, each sending its next request as soon as the last answered,
for ``--duration`` seconds (20) per phase, over loopback only.

- Phase ``list``: every client reads the channel list (``GET /api/v1/channels``: 200
  channels with their 1, 7 and 30 day flows, a year of rollups behind them), from the API
  served the way ``lnpilot run`` serves it with ``[api] workers = 1`` and then ``= 2``
  (:class:`lnpilot.service.workers.ApiWorkers`, without the loops). Figures
  ``api_load_rps``, ``api_load_p50_ms``, ``api_load_p99_ms``, ``api_load_errors`` (one
  worker) and ``api_load_workers2_*`` (two); target >= 500 requests/s with p99 <= 200 ms
  and no error on this 2-core machine.
- The reference, same phase, same clients: a bare FastAPI app (no auth, no audit, no
  middleware) in a process of its own, whose one route makes the same store reads and
  returns them as JSON (``ref_load_rps``, ``ref_load_p99_ms``); ``api_load_ratio_vs_bare``
  is what lnpilot's API costs on top of the reads under load.
- The load generator of these phases is ``wrk`` (found on ``PATH``; Debian's ``apt-get
  install wrk``): a C client, one thread here, HTTP/1.1 keep-alive, asking for gzip, that
  costs far less CPU per request than a Python client, so that on 2 cores the API rather
  than the client is measured. Without it, ApacheBench (``ab``, ``apt-get install
  apache2-utils``; HTTP/1.0, so uvicorn closes every connection: a new one per request),
  else the httpx clients below; ``--client`` picks one. ``load_generator`` says which ran,
  ``*_client_cpu_ms_per_request`` what it cost.
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
  first phase and after the last (``api_workers2_rss_mb``: both workers', summed).
- ``load_avg_1m_before`` / ``load_avg_1m``: the machine's load average before and after:
  the machine is shared, and requests per second say as much about its other work.

The store is ``api_speed.fill``'s (the same synthetic year); every server runs under uvicorn
in spawned processes. The load generator shares the machine: its cost
weighs on both sides alike, which is why the ratio is the figure to compare across runs.
Prints ``name=value`` lines. ``--quick`` for a smoke run (5 clients, 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

import api_speed  # beside this file: the year of data, the lnpilot server, the quantiles
import store_speed
from lnpilot.api.app import create_app
from lnpilot.api.channels import LIST_WINDOWS
from lnpilot.base.domain import scid_from_chan_id
from lnpilot.config import Settings
from lnpilot.service import Services
from lnpilot.service.health import LoopHealth
from lnpilot.service.workers import ApiWorkers, WorkerSpec
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


def bench_app(services: Services) -> ASGIApp:
    """The daemon's app over the bench's year: its clock stopped where the year ends, its
    node named (never asked: the API reads the store). Module-level: workers import it."""
    fixed = dataclasses.replace(services, clock=lambda: api_speed.NOW, node_pubkey=api_speed.PUBKEY)
    return create_app(fixed)


def serve_workers(path: Path, port: int, count: int) -> None:
    """``count`` API workers on ``path``'s store as ``lnpilot run`` starts them, until
    SIGTERM."""
    closed = "http://127.0.0.1:9"
    settings = Settings(
        lnbits={"url": closed},
        lnd={"rest_url": closed, "macaroon": "00"},
        data_dir=path,
        api={"port": port, "workers": count},
    )

    async def serve() -> None:
        health = path / f"health-{count}"
        LoopHealth().publish_to(health)  # no loops here: the workers report none
        spec = WorkerSpec(settings, bench_app, health, secrets.token_bytes(32))
        workers = ApiWorkers(spec, count)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, workers.stop)
        await workers.run(lambda died: print(died))

    asyncio.run(serve())


def worker_pids(pid: int | None) -> list[int]:
    """The API worker processes ``serve_workers`` started (not multiprocessing's helpers)."""
    assert pid is not None
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(child))
    return found


def wait_workers(url: str, count: int) -> None:
    """Until ``count`` distinct processes answered ``/health`` (fresh connections)."""
    seen: set[int] = set()
    for _ in range(3000):
        try:
            with httpx.Client(timeout=30) as http:
                seen.add(http.get(f"{url}/health").json()["pid"])
        except httpx.TransportError:
            time.sleep(0.1)
        if len(seen) >= count:
            return
    raise RuntimeError(f"{url}: {len(seen)} of {count} workers answered")


AB_FIGURES = {
    "complete": re.compile(r"^Complete requests:\s+(\d+)", re.M),
    "failed": re.compile(r"^Failed requests:\s+(\d+)", re.M),
    "non2xx": re.compile(r"^Non-2xx responses:\s+(\d+)", re.M),
    "took_s": re.compile(r"^Time taken for tests:\s+([\d.]+)", re.M),
    "p50": re.compile(r"^\s+50%\s+(\d+)", re.M),
    "p99": re.compile(r"^\s+99%\s+(\d+)", re.M),
    "keepalive": re.compile(r"^Keep-Alive requests:\s+(\d+)", re.M),
}


def ab_load(
    ab: str, url: str, token: str, clients: int, duration_s: float, prefix: str
) -> dict[str, float | int]:
    """ApacheBench's figures for ``clients`` keep-alive clients over ``duration_s``, and its
    own CPU per request (a child's rusage, taken when it ended)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [ab, "-k", "-q", "-c", str(clients), "-t", str(duration_s), "-n", "100000000",
         "-H", f"Authorization: Bearer {token}", "-H", "Accept-Encoding: gzip", url],
        capture_output=True, text=True, timeout=duration_s + 120, check=False,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    got = {k: r.search(done.stdout) for k, r in AB_FIGURES.items()}
    if got["complete"] is None or got["took_s"] is None:
        raise RuntimeError(f"ab failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    complete = int(got["complete"][1])
    took_s = float(got["took_s"][1])
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    def number(name: str) -> int:
        found = got[name]
        return int(found[1]) if found is not None else 0

    return {
        f"{prefix}_rps": round(complete / took_s, 1),
        f"{prefix}_p50_ms": number("p50"),
        f"{prefix}_p99_ms": number("p99"),
        f"{prefix}_errors": number("failed") + number("non2xx"),
        f"{prefix}_requests": complete,
        f"{prefix}_keepalive_requests": number("keepalive"),
        f"{prefix}_client_cpu_ms_per_request": round(cpu_s * 1000 / max(complete, 1), 3),
    }


WRK_TIME = re.compile(r"([\d.]+)(us|ms|s)\b")
WRK_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str) -> float:
    found = WRK_TIME.match(text)
    if found is None:
        raise RuntimeError(f"wrk: not a time: {text!r}")
    return round(float(found[1]) * WRK_UNIT_MS[found[2]], 1)


def wrk_load(
    wrk: str, url: str, token: str, clients: int, duration_s: float, prefix: str
) -> dict[str, float | int]:
    """wrk's figures for ``clients`` keep-alive connections over ``duration_s`` (one
    thread), and its own CPU per request (a child's rusage, taken when it ended)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [wrk, "-t", "1", "-c", str(clients), "-d", f"{duration_s:g}s", "--latency",
         "--timeout", "30s", "-H", f"Authorization: Bearer {token}",
         "-H", "Accept-Encoding: gzip", url],
        capture_output=True, text=True, timeout=duration_s + 120, check=False,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = done.stdout
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if total is None or p50 is None or p99 is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {(out + done.stderr)[-500:]}")
    requests = int(total[1])
    took_s = float(total[2]) * WRK_UNIT_MS[total[3]] / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx[1]) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        f"{prefix}_rps": round(requests / took_s, 1),
        f"{prefix}_p50_ms": _wrk_ms(p50[1]),
        f"{prefix}_p99_ms": _wrk_ms(p99[1]),
        f"{prefix}_errors": errors,
        f"{prefix}_requests": requests,
        f"{prefix}_client_cpu_ms_per_request": round(cpu_s * 1000 / max(requests, 1), 3),
    }


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


def quantile(times_ms: list[float], q: int) -> float:
    """``api_speed.p``, or the one time (or 0) when a short phase on a busy machine got
    fewer than two answers."""
    if len(times_ms) < 2:
        return round(max(times_ms, default=0.0), 1)
    return api_speed.p(times_ms, q)


def figures(prefix: str, tally: Tally, duration_s: float) -> dict[str, float | int]:
    return {
        f"{prefix}_rps": round(len(tally.times_ms) / duration_s, 1),
        f"{prefix}_p50_ms": quantile(tally.times_ms, 50),
        f"{prefix}_p99_ms": quantile(tally.times_ms, 99),
        f"{prefix}_errors": tally.errors,
        f"{prefix}_requests": len(tally.times_ms),
    }


def run(clients: int, duration_s: float, client: str) -> dict[str, float | int | str]:
    scid = scid_from_chan_id(store_speed.FIRST_CHAN_ID)
    year = (
        f"start={(api_speed.NOW - timedelta(days=365)).isoformat()}&end={api_speed.NOW.isoformat()}"
    )
    year = year.replace("+", "%2B")
    tools = {"wrk": wrk_load, "ab": ab_load}
    order = ["wrk", "ab"] if client == "auto" else [client]
    found_tool = next(((n, shutil.which(n)) for n in order if n in tools and shutil.which(n)), None)
    load_avg_before = round(os.getloadavg()[0], 2)

    def mixed(rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.7:
            return "/api/v1/channels"
        if roll < 0.8:
            return f"/api/v1/channels/{scid}/series?{year}"
        if roll < 0.9:
            return f"{PREFIX}/"
        return f"{PREFIX}/channels"

    def list_phase(url: str, path: str, token: str, prefix: str) -> dict[str, float | int]:
        if found_tool is not None:
            name, where = found_tool
            assert where is not None
            return tools[name](where, url + path, token, clients, duration_s, prefix)
        client_cpu_s = time.process_time()
        tally = asyncio.run(load(url, token, clients, duration_s, lambda _: path))
        found = figures(prefix, tally, duration_s)
        found[f"{prefix}_client_cpu_ms_per_request"] = round(
            (time.process_time() - client_cpu_s) * 1000 / max(len(tally.times_ms), 1), 3
        )
        return found

    def api_phase(pids: list[int], url: str, token: str, prefix: str) -> dict[str, float | int]:
        server_cpu_s = sum(cpu_s(pid) for pid in pids)
        found = list_phase(url, "/api/v1/channels", token, prefix)
        listed = found[f"{prefix}_requests"] or 1
        spent_s = sum(cpu_s(pid) for pid in pids) - server_cpu_s
        found[f"{prefix}_server_cpu_ms_per_request"] = round(spent_s * 1000 / listed, 3)
        return found

    spawn = multiprocessing.get_context("spawn")
    found: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory(prefix="lnpilot-api-load-") as tmp:
        path = Path(tmp)
        token = asyncio.run(api_speed.fill(path))
        bare_port = api_speed.free_port()
        bare = spawn.Process(target=serve_bare, args=(path, bare_port))
        bare.start()
        servers: list[BaseProcess] = [bare]
        bare_url = f"http://127.0.0.1:{bare_port}"
        try:
            wait_up(bare_url)
            found |= list_phase(bare_url, "/channels", token, "ref_load")
            for count, prefix in ((1, "api_load"), (2, "api_load_workers2")):
                port = api_speed.free_port()
                server = spawn.Process(target=serve_workers, args=(path, port, count))
                server.start()
                servers.append(server)
                url = f"http://127.0.0.1:{port}"
                wait_workers(url, count)
                pids = worker_pids(server.pid)
                rss_before = round(sum(rss_mb(pid) for pid in pids), 1)
                found |= api_phase(pids, url, token, prefix)
                if count == 1:
                    found["api_rss_mb_before"] = rss_before
                    found |= figures(
                        "mixed_load",
                        asyncio.run(load(url, token, clients, duration_s, mixed, dashboard=True)),
                        duration_s,
                    )
                    found["api_rss_mb_after"] = round(sum(rss_mb(pid) for pid in pids), 1)
                else:
                    found[f"api_workers{count}_rss_mb"] = round(sum(rss_mb(pid) for pid in pids), 1)
                server.terminate()
                server.join(60)
        finally:
            for started in servers:
                if started.exitcode is None:
                    started.terminate()
                    started.join(60)
    return {
        **found,
        "api_load_ratio_vs_bare": round(found["api_load_rps"] / found["ref_load_rps"], 2),
        "api_load_workers2_ratio_vs_bare": round(
            found["api_load_workers2_rps"] / found["ref_load_rps"], 2
        ),
        "api_load_target_rps": TARGET_RPS,
        "api_load_target_p99_ms": TARGET_P99_MS,
        "load_generator": (
            f"{found_tool[0]} ({found_tool[1]})"
            if found_tool
            else "httpx (python, in the bench's process)"
        ),
        "clients": clients,
        "duration_s_per_phase": duration_s,
        "channels": api_speed.CHANNELS,
        "cpus": os.cpu_count() or 0,
        "load_avg_1m_before": load_avg_before,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--quick", action="store_true", help="5 clients, 3 s per phase")
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "ab", "httpx"],
        default="auto",
        help="load generator of the list phases (auto: wrk, else ab, else httpx)",
    )
    args = parser.parse_args()
    if args.clients < 1 or not 0 < args.duration <= 300:
        parser.error("--clients must be at least 1 and --duration in (0, 300] seconds")
    clients, duration_s = (5, 3.0) if args.quick else (args.clients, args.duration)
    for name, value in run(clients, duration_s, args.client).items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
