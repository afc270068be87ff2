"""Two ``lnpilot run`` processes on one node and one PostgreSQL database: one owns the node,
the other stands by; kill the owner and the standby takes over.

PostgreSQL as the store's tests ask for it (``CI=true`` or ``LNPILOT_TEST_PG_URL``), in a
fresh database of the test's own. The takeover is waited for as a signal (the standby's
``/health`` saying ``owner``), bounded only so a broken build does not hang.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lnpilot.devtools.pg_database import FreshPgDatabase
from lnpilot.store import normalize_url, upgrade
from store.conftest import pg_server_url

from .conftest import busy_sim, daemon_process

TAKEOVER_BOUND_S = 60.0


def _loops(body: Any) -> dict[str, Any]:
    return {loop["status"]["name"]: loop["status"] for loop in body["loops"]}


def _checked_and_standing_by(body: Any) -> bool:
    """The ownership loop has checked (and waits: standby) and the collector has tried."""
    loops = _loops(body)
    return all(loops[name]["waiting_for"] is not None for name in ("ownership", "collect"))


async def test_one_daemon_owns_the_node_and_the_other_takes_over_when_it_is_killed(
    tmp_path: Path,
) -> None:
    server = pg_server_url()
    if server is None:
        pytest.skip("needs PostgreSQL: set CI=true or LNPILOT_TEST_PG_URL")
    async with FreshPgDatabase(normalize_url(server)) as url, busy_sim() as sim:
        await upgrade(url)  # once, before two daemons would migrate at the same time
        database_url = url.render_as_string(hide_password=False)
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        shared = {"database_url": database_url, "ownership_retry_s": 1}
        with daemon_process(tmp_path / "a", sim.face.url, **shared) as first:
            owner = first.wait_healthy({"ownership", "collect"})
            assert owner["role"] == "owner"
            with daemon_process(tmp_path / "b", sim.face.url, **shared) as second:
                standby = second.poll("/health", _checked_and_standing_by, TAKEOVER_BOUND_S)
                assert standby["role"] == "standby"
                assert _loops(standby)["collect"]["last_success_at"] is None
                assert "standby" in _loops(standby)["ownership"]["waiting_for"]
                first.process.kill()  # no goodbye: PostgreSQL frees the lock on socket close
                first.process.wait()
                taken = second.poll(
                    "/health",
                    lambda b: _loops(b)["collect"]["last_success_at"] is not None,
                    TAKEOVER_BOUND_S,
                )
                assert taken["role"] == "owner", second.log.read_text()
                assert _loops(taken)["collect"]["last_success_at"] is not None
