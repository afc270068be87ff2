"""``lnpilot run`` as a real process, on the simulated network's node (its LND REST face),
with its own SQLite store, a fee policy, an alerts file whose liquidity band makes every
channel's alert fire, and tokens made by ``lnpilot tokens create``.

The network's clock starts half an hour ago so its forwards fall in today's windows; the
daemon reads it over HTTP like any LND.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.conftest import POLICY
from collect.conftest import MACAROON, Sim, running_sim

LNPILOT = [str(Path(sys.executable).parent / "lnpilot")]
ALERTS = """
[rules.liquidity_out_of_band]
low = 0.6
for_s = 0
"""
START_TIMEOUT_S = 60.0


@dataclass
class Daemon:
    process: subprocess.Popen[str]
    url: str
    config: Path
    read_token: str
    admin_token: str
    log: Path

    def auth(self, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token if admin else self.read_token}"}

    def wait_healthy(
        self, loops: set[str], timeout_s: float = START_TIMEOUT_S
    ) -> dict[str, object]:
        """The health document once every loop in ``loops`` has succeeded at least once."""
        deadline = time.monotonic() + timeout_s
        body: dict[str, object] = {}
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            body = httpx.get(f"{self.url}/health", timeout=5).json()
            done = {
                loop["status"]["name"]
                for loop in body["loops"]  # type: ignore[attr-defined]
                if loop["status"]["last_success_at"]
            }
            if loops <= done:
                return body
            time.sleep(0.2)
        raise AssertionError(f"loops not healthy in time: {body}\n{self.log.read_text()}")

    def get(self, path: str) -> Any:
        """GET ``path`` with the read token; the JSON answer."""
        return httpx.get(f"{self.url}{path}", headers=self.auth(), timeout=5).json()

    def poll(self, path: str, done: Callable[[Any], bool], timeout_s: float = 30) -> Any:
        """GET ``path`` until ``done`` says yes; its last answer."""
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.process.poll() is None, self.log.read_text()
            found = self.get(path)
            if done(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def lnpilot(config: Path, *args: str) -> str:
    done = subprocess.run(
        [*LNPILOT, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def _toml(values: dict[str, object]) -> str:
    return "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())


def write_config(
    directory: Path,
    face_url: str,
    lnbits: dict[str, str] | None = None,
    alerts: str = ALERTS,
    api: dict[str, object] | None = None,
    **service: object,
) -> Path:
    """``lnbits`` replaces the unreachable LNbits the daemon is given by default (which it
    never calls: without a login it reads the node through LND only)."""
    (directory / "fees.toml").write_text(POLICY, encoding="utf-8")
    (directory / "alerts.toml").write_text(alerts, encoding="utf-8")
    settings = {
        "collect_interval_s": 1,
        "monitor_interval_s": 1,
        "notify_interval_s": 1,
        "fees_policy_file": "fees.toml",
        "alerts_file": "alerts.toml",
        **service,
    }
    config = directory / "lnpilot.toml"
    config.write_text(
        f'data_dir = "data"\nlog_level = "INFO"\n'
        f"[lnbits]\n{_toml(lnbits or {'url': 'http://127.0.0.1:9'})}\n"
        f'[lnd]\nrest_url = "{face_url}"\nmacaroon = "{MACAROON}"\n'
        f"[service]\n{_toml(settings)}\n[api]\n{_toml({'port': 0, **(api or {})})}\n",
        encoding="utf-8",
    )
    return config


@contextmanager
def daemon_process(
    directory: Path,
    face_url: str,
    lnbits: dict[str, str] | None = None,
    alerts: str = ALERTS,
    api: dict[str, object] | None = None,
    **service: object,
) -> Iterator[Daemon]:
    config = write_config(directory, face_url, lnbits, alerts, api, **service)
    read = json.loads(lnpilot(config, "tokens", "create", "viewer", "--json"))["token"]
    admin = json.loads(lnpilot(config, "tokens", "create", "ops", "--scope", "admin", "--json"))
    log = directory / "daemon.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*LNPILOT, "--config", str(config), "run"],
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"API on (http://\S+)", first)
        assert found, f"{first!r}\n{log.read_text()}"
        yield Daemon(process, found[1], config, read, admin["token"], log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@asynccontextmanager
async def busy_sim() -> AsyncIterator[Sim]:
    """The network, its clock half an hour ago, after 20 payments through our node."""
    async with running_sim(datetime.now(UTC) - timedelta(minutes=30)) as sim:
        sim.traffic(20)
        yield sim
