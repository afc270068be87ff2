"""What the lnpilot client costs on top of bare httpx, measured against a real LNbits.

Why: the client adds credential checks, a cache lookup, a concurrency cap, a rate limiter,
retry bookkeeping, error mapping and pydantic models to every call. This bench measures what
that costs, so "the client is thin" is a number (target: at most 1.10 x bare httpx on the
uncached path), not a claim.

How, and why so:

- It starts its own LNbits 1.6.2 (FakeWallet) with :class:`lnpilot.devtools.LNbitsServer`, so
  the result does not depend on what else runs on a shared server.
- Both sides use the same connection settings: the same ``httpx.Limits`` (pool size and
  keep-alive) and timeout as :class:`~lnpilot.lnbits.transport.Transport` builds from
  :class:`~lnpilot.lnbits.transport.TransportSettings`; the bare side also decodes the JSON,
  as any real caller would.
- Requests are interleaved in one run, client and bare alternating per iteration (and which
  one goes first alternates too), after a warm-up, so server-side drift (database growth,
  CPU frequency, GC) hits both sides alike.
- The client's rate limiter is set far above the request rate: this bench measures the
  client's per-call overhead, not the throttle it applies on purpose.
- Reads use ``bypass_cache=True`` (the uncached path); cached reads are measured apart.

Prints ``name=value`` lines; ``client_overhead_ratio`` is the worst of the per-operation
ratios of medians (client median / bare median). ``--profile FILE`` also writes a cProfile
of the client-side calls to find where the overhead goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lnpilot.devtools import LNbitsServer, LNbitsUnavailable, WalletKeys
from lnpilot.lnbits import LNbitsClient
from lnpilot.lnbits.transport import TransportSettings

TARGET_RATIO = 1.10
#: High enough that the token bucket never waits during the bench (the default is 180/min).
BENCH_RATE_PER_MIN = 6_000_000.0
BENCH_BURST = 100_000

Call = Callable[[], Awaitable[Any]]


@dataclass
class Samples:
    """Latencies in seconds of one operation, client and bare side by side."""

    client: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)

    @property
    def client_median_ms(self) -> float:
        return statistics.median(self.client) * 1000

    @property
    def bare_median_ms(self) -> float:
        return statistics.median(self.bare) * 1000

    @property
    def ratio(self) -> float:
        """Median client latency over median bare latency: the headline figure."""
        return self.client_median_ms / self.bare_median_ms

    @property
    def paired_ratio(self) -> float:
        """Median of client_i / bare_i over iterations: a cross-check less hurt by drift."""
        return statistics.median(c / b for c, b in zip(self.client, self.bare, strict=True))


def bench_settings() -> TransportSettings:
    """The client's settings for the bench: defaults except a rate limit that never binds."""
    return TransportSettings(rate_limit_per_min=BENCH_RATE_PER_MIN, rate_limit_burst=BENCH_BURST)


def bare_client(url: str, settings: TransportSettings) -> httpx.AsyncClient:
    """Bare httpx with exactly the connection settings Transport uses."""
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
    )
    return httpx.AsyncClient(base_url=url, timeout=settings.timeout_s, limits=limits)


async def _timed(call: Call) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def interleave(
    client_call: Call,
    bare_call: Call,
    *,
    iterations: int,
    warmup: int,
    profiler: cProfile.Profile | None = None,
) -> Samples:
    """Alternate client and bare calls; warm-up calls are made but not recorded."""
    samples = Samples()
    for i in range(warmup + iterations):
        client_first = i % 2 == 0
        for side in ("client", "bare") if client_first else ("bare", "client"):
            if side == "client":
                if profiler is not None:
                    profiler.enable()
                elapsed = await _timed(client_call)
                if profiler is not None:
                    profiler.disable()
            else:
                elapsed = await _timed(bare_call)
            if i >= warmup:
                getattr(samples, side).append(elapsed)
    return samples


async def cpu_overhead_us(calls: int) -> tuple[float, float]:
    """Per-call cost (µs) of a wallet read with no server at all: client, then bare httpx.

    Why: against a real LNbits the client's own cost is a fraction of a millisecond inside
    8-50 ms of server time, so on a busy machine the ratio above is mostly noise. Answering
    from ``httpx.MockTransport`` removes the server and the network and leaves exactly what
    the client adds on top of httpx.
    """
    body = json.dumps({"id": "0" * 32, "name": "bench", "balance": 1_000_000}).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    settings = bench_settings()
    key = "0" * 32
    mock_a = httpx.AsyncClient(
        base_url="http://lnbits.invalid", transport=httpx.MockTransport(answer)
    )
    mock_b = httpx.AsyncClient(
        base_url="http://lnbits.invalid", transport=httpx.MockTransport(answer)
    )
    async with (
        LNbitsClient(
            "http://lnbits.invalid", invoice_key=key, settings=settings, http_client=mock_a
        ) as client,
        mock_b,
    ):

        async def client_call() -> Any:
            return await client.wallet.get(bypass_cache=True)

        async def bare_call() -> Any:
            response = await mock_b.get("/api/v1/wallet", headers={"X-Api-Key": key})
            response.raise_for_status()
            return response.json()

        totals = {client_call: 0.0, bare_call: 0.0}
        for round_ in range(11):  # round 0 warms up; then alternate blocks
            for call in (client_call, bare_call):
                started = time.perf_counter()
                for _ in range(calls // 10):
                    await call()
                if round_:
                    totals[call] += time.perf_counter() - started
        await mock_a.aclose()
    measured = calls // 10 * 10
    return totals[client_call] / measured * 1e6, totals[bare_call] / measured * 1e6


async def run(url: str, keys: WalletKeys, args: argparse.Namespace) -> int:
    """Measure both operations interleaved, then cached reads, and print the figures."""
    settings = bench_settings()
    profiler = cProfile.Profile() if args.profile else None
    inkey_headers = {"X-Api-Key": keys.inkey}
    invoice_body = {"out": False, "amount": 1, "unit": "sat", "memo": "bench"}

    async with (
        LNbitsClient(url, invoice_key=keys.inkey, admin_key=keys.adminkey, settings=settings) as c,
        bare_client(url, settings) as bare,
    ):

        async def client_read() -> Any:
            return await c.wallet.get(bypass_cache=True)

        async def bare_read() -> Any:
            response = await bare.get("/api/v1/wallet", headers=inkey_headers)
            response.raise_for_status()
            return response.json()

        async def client_invoice() -> Any:
            return await c.payments.create_invoice(1, memo="bench")

        async def bare_invoice() -> Any:
            response = await bare.post("/api/v1/payments", headers=inkey_headers, json=invoice_body)
            response.raise_for_status()
            return response.json()

        gc.collect()
        results = {
            "read_wallet": await interleave(
                client_read,
                bare_read,
                iterations=args.iterations,
                warmup=args.warmup,
                profiler=profiler,
            ),
            "create_invoice": await interleave(
                client_invoice,
                bare_invoice,
                iterations=args.iterations,
                warmup=args.warmup,
                profiler=profiler,
            ),
        }

    # Cached reads: a fresh client whose cache outlives the loop, so every call after the
    # first is a hit and what is measured is the client's own hot path.
    cached_settings = bench_settings()
    cached_settings.cache_ttl_s = 300.0
    async with LNbitsClient(url, invoice_key=keys.inkey, settings=cached_settings) as cached:
        await cached.wallet.get()
        started = time.perf_counter()
        for _ in range(args.cached_calls):
            await cached.wallet.get()
        cached_elapsed = time.perf_counter() - started
        cache_stats = cached.transport.cache.stats

    cpu_client_us, cpu_bare_us = await cpu_overhead_us(args.cpu_calls)

    print(f"lnbits_url={url}")
    print(f"load_average_1m={os.getloadavg()[0]:.2f} cpus={os.cpu_count()}")
    print(
        f"client_rate_limit_per_min={BENCH_RATE_PER_MIN:.0f} "
        f"(raised from the default so the limiter never binds)"
    )
    print(
        f"connection_limits=max_connections={settings.max_connections},"
        f"max_keepalive={settings.max_connections},timeout_s={settings.timeout_s} (both sides)"
    )
    if profiler is not None:
        print("profile_enabled=true (client timings include cProfile's cost: ignore the ratios)")
    print(f"iterations_per_op={args.iterations} warmup_per_op={args.warmup} (interleaved)")
    for name, s in results.items():
        print(f"{name}_client_median_ms={s.client_median_ms:.3f}")
        print(f"{name}_bare_median_ms={s.bare_median_ms:.3f}")
        print(f"{name}_overhead_ms={s.client_median_ms - s.bare_median_ms:.3f}")
        print(f"{name}_ratio={s.ratio:.3f}")
        print(f"{name}_paired_ratio={s.paired_ratio:.3f}")
    ratio = max(s.ratio for s in results.values())
    print(f"no_server_read_client_us={cpu_client_us:.1f}")
    print(f"no_server_read_bare_us={cpu_bare_us:.1f}")
    print(f"client_cpu_overhead_us_per_call={cpu_client_us - cpu_bare_us:.1f}")
    print(f"cached_reads={args.cached_calls}")
    print(f"cache_hits={cache_stats.hits}")
    print(f"cache_misses={cache_stats.misses}")
    print(f"cached_reads_per_s={args.cached_calls / cached_elapsed:.0f}")
    verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"target_ratio={TARGET_RATIO} result={verdict} (ratio: worst op, median client/bare)")
    if profiler is not None:
        profiler.dump_stats(args.profile)
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
        stats.print_stats(40)
        print(f"profile={args.profile}", file=sys.stderr)
    print(f"client_overhead_ratio={ratio:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start LNbits, make a funded wallet, run the bench; 0 unless LNbits is missing on CI."""
    parser = argparse.ArgumentParser(description="lnpilot client overhead vs bare httpx")
    parser.add_argument("--iterations", type=int, default=200, help="measured pairs per op")
    parser.add_argument("--warmup", type=int, default=50, help="unrecorded pairs per op")
    parser.add_argument("--cached-calls", type=int, default=20_000)
    parser.add_argument("--cpu-calls", type=int, default=5_000, help="no-server reads per side")
    parser.add_argument(
        "--profile", type=Path, default=None, help="write a cProfile of the client calls here"
    )
    args = parser.parse_args(argv)

    try:
        with LNbitsServer() as server:
            keys = server.create_account("bench")
            server.fund(keys.wallet_id, 1_000)
            return asyncio.run(run(server.url, keys, args))
    except LNbitsUnavailable as exc:
        print(f"bench: real LNbits not available: {exc}", file=sys.stderr)
        return 1 if os.environ.get("CI", "").lower() in {"true", "1"} else 0


if __name__ == "__main__":
    sys.exit(main())
