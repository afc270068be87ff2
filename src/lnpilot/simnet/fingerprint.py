"""A digest of everything a run computed: every payment's attempts, our forwards, the summary.

Why: the simulation is optimised for speed (route trees, detours, the vectorised search), and
an optimisation must not change what it computes. The event log hash alone does not show
routes or failures, so this digest folds in, per payment, the sender, receiver and amount,
each attempt's channels, directions, amounts, time locks and failure (where and why), the
parts of a multi-path payment and the verdict; then our node's forwards, the run's summary
and the event log hash. Equal digests for the same scenario and seed before and after a
change mean the change kept the results (tests/simnet/test_fingerprint.py pins some;
bench/simnet_speed.py prints one per piece so that runs of old and new code can be compared).
"""

from __future__ import annotations

import hashlib
import json

from lnpilot.simnet.failures import HtlcFailure
from lnpilot.simnet.payments import PaymentOutcome
from lnpilot.simnet.routing import Route
from lnpilot.simnet.simulation import Simulation


def _route_text(route: Route) -> str:
    chans = ",".join(str(c.chan_id) for c in route.channels)
    dirs = "".join(str(d) for d in route.directions)
    amounts = ",".join(str(a) for a in route.amounts_msat)
    expiries = ",".join(str(e) for e in route.expiries)
    return f"{chans}/{dirs}/{amounts}/{expiries}"


def _failure_text(failure: HtlcFailure | None) -> str:
    if failure is None:
        return "ok"
    return f"{failure.hop_index}:{failure.wire.value}:{failure.detail.value}:{failure.chan_id}"


class RunFingerprint:
    """Attach to a simulation before running it; `hexdigest()` at any point after."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self._hash = hashlib.sha256()
        self.payments = 0
        self.attempts = 0
        self.multi_part = 0
        sim.payer.payment_listeners.append(self._on_payment)

    def _on_payment(self, source: str, dest: str, amt_msat: int, outcome: PaymentOutcome) -> None:
        self.payments += 1
        self.attempts += len(outcome.attempts)
        if outcome.parts:
            self.multi_part += 1
        attempts = ";".join(
            f"{_route_text(route)}={_failure_text(failure)}" for route, failure in outcome.attempts
        )
        parts = ";".join(_route_text(route) for route in outcome.parts)
        line = (
            f"{self.sim.network.now_ns}|{source}|{dest}|{amt_msat}|{outcome.status.value}|"
            f"{outcome.failure_reason.value}|{outcome.fee_msat}|{attempts}|{parts}\n"
        )
        self._hash.update(line.encode())

    def hexdigest(self) -> str:
        """sha256 over the payments so far, our node's forwards, the summary and the event log."""
        from lnpilot.simnet.summary import summarize  # summary imports simulation, as we do

        final = self._hash.copy()
        for fwd in self.sim.our_node.forwards:
            final.update(
                f"fwd|{fwd.timestamp_ns}|{fwd.chan_id_in}|{fwd.chan_id_out}|{fwd.amt_in_msat}|"
                f"{fwd.amt_out_msat}|{fwd.fee_msat}|{fwd.incoming_htlc_id}|"
                f"{fwd.outgoing_htlc_id}\n".encode()
            )
        summary = summarize(self.sim)
        summary.pop("route_cache", None)  # how often a tree was reused is not a result
        summary.pop("route_searches", None)  # nor how often a search was needed
        final.update(json.dumps(summary, sort_keys=True, default=str).encode())
        final.update(self.sim.event_log_hash().encode())
        return final.hexdigest()
