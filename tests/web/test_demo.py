"""`lnpilot demo` (`make demo`) as a user runs it: it prints the dashboard's address, the
dashboard shows the simulated node being collected, repriced and judged, and Ctrl-C stops
everything it started.

A real process (not the CLI runner): the signal must reach it as from a terminal. LNbits is
left out (``LNPILOT_LNBITS_VENV`` points nowhere): the dashboard does not need it, and the CLI
tests run the demo with it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

DASHBOARD = re.compile(r"Dashboard: (http://127\.0\.0\.1:\d+)(/dashboard/\?token=lnp_\S+)")
AS_ADMIN = re.compile(r"As admin: (http://127\.0\.0\.1:\d+)(/dashboard/\?token=lnp_\S+)")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
CHANNELS = 5  # our node's channels in demo.toml


class Demo:
    """The demo's process, its output read line by line by a thread of its own.

    A thread, not select() on the pipe: readline() takes every line the pipe holds into its
    buffer, so a second line written with the first would never make select() ready again."""

    def __init__(self) -> None:
        env = {**os.environ, "LNPILOT_LNBITS_VENV": "/nonexistent", "COLUMNS": "200"}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("lnpilot")), "demo", "--speed", "600"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)  # the process closed its output

    def wait_for(self, pattern: re.Pattern[str], timeout_s: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while (left_s := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left_s)
            except queue.Empty:
                break
            assert line is not None, "the demo ended:\n" + "".join(self.output)
            if found := pattern.search(line):
                return found
        raise AssertionError(f"no {pattern.pattern!r} in:\n{''.join(self.output)}")

    def finish(self, timeout_s: float) -> str:
        """Wait for the process to end and return all it printed."""
        self.process.wait(timeout=timeout_s)
        self._reader.join(timeout=timeout_s)
        return "".join(self.output)


@pytest.fixture
def demo() -> Iterator[Demo]:
    started = Demo()
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.process.kill()
            started.process.wait()


@pytest.mark.slow
def test_the_demo_serves_a_live_dashboard_and_ctrl_c_stops_it(demo: Demo) -> None:
    base, link = demo.wait_for(DASHBOARD, timeout_s=60).groups()
    admin_base, admin_link = demo.wait_for(AS_ADMIN, timeout_s=10).groups()
    assert admin_base == base
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get(link).status_code == 303  # the token becomes the session cookie
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            table = http.get("/dashboard/channels").text
            fees = http.get("/dashboard/fees").text
            forwarded = sum(int(n) for n in re.findall(r'<td class="num">(\d+) / \d+</td>', table))
            if forwarded and "apply" in fees:
                break
            time.sleep(2)
        assert table.count('href="/dashboard/channels/') == CHANNELS, table
        assert forwarded > 0, "no forward collected from the simulated node"
        assert "apply" in fees, "the fee engine did not run in apply mode"
        assert "rebalance" in http.get("/dashboard/").text  # the rebalancer's loop runs
        assert 'name="csrf"' not in fees, "a read session cannot act"
    with httpx.Client(base_url=base, timeout=30) as admin:
        assert admin.get(admin_link).status_code == 303
        csrf = CSRF.search(admin.get("/dashboard/fees").text)
        assert csrf is not None, "an admin session is offered the actions"
        for plan, lands in (
            ("fees", "/dashboard/fees/"),
            ("rebalances", "/dashboard/rebalances/runs/"),
        ):
            planned = admin.post(f"/dashboard/{plan}/plan", data={"csrf": csrf[1]})
            assert planned.status_code == 303, planned.text
            assert planned.headers["location"].startswith(lands), planned.headers
            page = admin.get(planned.headers["location"])
            assert page.status_code == 200 and "dry" in page.text.lower(), page.text
    demo.process.send_signal(signal.SIGINT)
    output = demo.finish(timeout_s=60)
    assert demo.process.returncode == 0, output
    assert "Stopped the daemon." in output
    assert output.rstrip().endswith("Stopped the simulation.")
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/health")
