"""The whole stack for the metrics tests, once per module: the simulated network, a real
LNbits on top of it (its node API over the network's LND face), ``lnpilot run`` reading the
node through both, and a real Prometheus (Debian's package) scraping the daemon every second
with a read token.

Without Prometheus or LNbits installed the tests skip, except with ``CI=true``, where a
skip would hide that nothing was tested: there they fail (``make prometheus`` and
``make lnbits`` install them).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from collect.conftest import MACAROON, Sim
from lnpilot.devtools import (
    LNbitsServer,
    LndRestFunding,
    lnbits_required,
)
from real_lnbits import lnbits_for_tests
from service.conftest import Daemon, busy_sim, daemon_process

READY_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector; fails on any error Prometheus reports."""
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float:
        found = self.query(expr)
        assert len(found) == 1, f"{expr}: {found}"
        return float(found[0]["value"][1])


@contextmanager
def prometheus(directory: Path, target: str, token: str) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        if lnbits_required():
            raise AssertionError("prometheus is not installed: run `make prometheus`")
        pytest.skip("prometheus is not installed (make prometheus)")
    (directory / "token").write_text(token, encoding="utf-8")
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: lnpilot\n"
        f"    authorization:\n      credentials_file: {directory / 'token'}\n"
        f"    static_configs:\n      - targets: ['{target}']\n",
        encoding="utf-8",
    )
    port = _free_port()
    log = directory / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield Prometheus(url, process, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class Stack:
    sim: Sim
    lnbits: LNbitsServer
    daemon: Daemon
    prometheus: Prometheus


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    directory = tmp_path_factory.mktemp("metrics")
    async with busy_sim() as sim:
        lnbits = LNbitsServer(
            data_dir=directory / "lnbits", funding=LndRestFunding(sim.face.url, MACAROON)
        )
        with lnbits_for_tests(lnbits):
            su = lnbits.superuser
            login = {"url": lnbits.url, "username": su.username, "password": su.password}
            with daemon_process(directory, sim.face.url, lnbits=login) as daemon:
                daemon.wait_healthy({"collect", "monitor", "notify", "fees", "rebalance"})
                target = daemon.url.removeprefix("http://")
                with prometheus(directory, target, daemon.read_token) as prom:
                    yield Stack(sim, lnbits, daemon, prom)
