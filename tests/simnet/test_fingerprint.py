"""The simulation computes the same results, payment by payment, as before its speed-ups.

The route search, the detours and the tree cache are tuned for speed (issue 13: the league
spent most of its time there); none of that may change what a run computes. Each digest
below was computed on the code before the speed-ups (main at 8c94edb) and covers every
payment's attempts (channels, amounts, time locks, failures), our node's forwards, the run's
summary and the event log (`simnet.fingerprint`). If you change what simnet computes on
purpose (a new sender rule, a new failure), a digest here changes: check that the change is
the one you meant, then replace the digest with the one the failure prints.

The generated scenario is a copy kept in tests/simnet/data (20 nodes of the 2026-02-03
mainnet graph with their leaves, bursty demand, seed 7, made by `lnpilot simnet scenario
new`), so that the generator's own calibration can change without touching this test.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from lnpilot.simnet.fingerprint import RunFingerprint
from lnpilot.simnet.scenario import load_scenario, parse_scenario
from lnpilot.simnet.simulation import Simulation

DATA = Path(__file__).with_name("data")
HOUR_S = 3600


def _generated() -> Simulation:
    path = DATA / "bursty20_seed7.toml.gz"
    return Simulation(parse_scenario(gzip.decompress(path.read_bytes()).decode(), str(path)))


def test_fee_drain_results_are_pinned() -> None:
    sim = Simulation(load_scenario(Path("fee_drain.toml")))
    fingerprint = RunFingerprint(sim)
    sim.run_for(12 * HOUR_S)
    assert fingerprint.payments == 2140
    assert len(sim.our_node.forwards) == 97
    assert fingerprint.hexdigest() == (
        "9a4c8c2f937dc798867bda384d4a9ef69a40a6042b097cf8c1111de9276eb3c5"
    )


def test_generated_piece_results_are_pinned() -> None:
    """Leaves behind hubs, failed attempts, detours and senders' own searches: the paths the
    speed-ups touch are all taken in this run (the counts say so)."""
    sim = _generated()
    fingerprint = RunFingerprint(sim)
    sim.run_for(12 * HOUR_S)
    stats = sim.payer.stats
    assert (fingerprint.payments, fingerprint.attempts) == (1743, 1797)
    assert stats.route_searches == 277  # senders' own searches after a detour found nothing
    assert sim.payer.cache.misses == 161
    assert len(sim.our_node.forwards) == 1
    assert fingerprint.hexdigest() == (
        "ce189fe7f895afe9f403da4bca2cdec2020a33f9e4bcde61c54f34b7398d1913"
    )


@pytest.mark.parametrize("change", ["fee", "seed"])
def test_digest_sees_a_changed_result(change: str) -> None:
    """The digest is not a constant: another seed, or one fee changed, gives another one."""

    def run(seed: int | None, fee_ppm: int | None) -> str:
        sim = Simulation(load_scenario(Path("fee_drain.toml")), seed=seed)
        fingerprint = RunFingerprint(sim)
        if fee_ppm is not None:
            ours = sim.our_node.pubkey
            chan_id = sim.network.nodes[ours].channel_ids[0]
            sim.network.update_policy(chan_id, ours, fee_rate_ppm=fee_ppm)
        sim.run_for(2 * HOUR_S)
        return fingerprint.hexdigest()

    same = run(None, None)
    assert run(None, None) == same
    other = run(12, None) if change == "seed" else run(None, 2_500)
    assert other != same
