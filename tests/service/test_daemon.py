"""``lnpilot run`` end to end: every loop runs against the node, the API and health answer,
and SIGTERM stops it cleanly."""

from __future__ import annotations

from pathlib import Path

from .conftest import busy_sim, daemon_process


async def test_run_serves_loops_api_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with busy_sim() as sim:
        with daemon_process(tmp_path, sim.face.url) as daemon:
            health = daemon.wait_healthy(
                {"collect", "monitor", "notify", "fees", "rebalance", "retention"}
            )
            assert health["healthy"] is True
            channels = daemon.get("/api/v1/channels")
            assert len(channels) == 6
            assert sum(c["flows"]["1d"]["forwards_out"] for c in channels) == 20
            # the fee loop ran in dry-run mode: journaled, nothing changed on the node
            runs = daemon.get("/api/v1/fees/runs")
            assert runs and {r["mode"] for r in runs} == {"dry-run"}
            # and so did the rebalancer's (the policy file's [rebalance] defaults)
            planned = daemon.get("/api/v1/rebalances/runs")
            assert planned and {r["mode"] for r in planned} == {"dry-run"}
            # the monitor's first run may have come before the first collection
            alerts = daemon.poll("/api/v1/alerts", lambda found: len(found) == 6)
            assert {a["rule"] for a in alerts} == {"liquidity_out_of_band"}
            assert daemon.terminate() == 0
            assert "lnpilot stopped." in (
                daemon.process.stdout.read() if daemon.process.stdout else ""
            )
