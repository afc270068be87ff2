"""A whole simulation built from a scenario: network, our node, clock, demand, dynamics.

This is what the CLI, the demo, the integration tests and the benchmark hold: one object
that owns the pieces and wires them the same way every time, so that a scenario and a seed
always give the same run (`event_log_hash`).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from lnpilot.simnet.clock import NS_PER_S, Scheduler
from lnpilot.simnet.demand import AmountDistribution, Demand, Flow, Rhythm, capacity_weights
from lnpilot.simnet.dynamics import Dynamics, DynamicsConfig
from lnpilot.simnet.invoices import InvoiceRequest
from lnpilot.simnet.model import Node
from lnpilot.simnet.network import NetworkConfig, SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer, PaymentOutcome
from lnpilot.simnet.records import Invoice, InvoiceState
from lnpilot.simnet.scenario import Scenario, ScenarioError
from lnpilot.simnet.secp256k1 import N, pubkey_of
from lnpilot.simnet.snapshot import load_snapshot
from lnpilot.simnet.topology import TopologyConfig, generate


def named_privkey(name: str) -> int:
    """The private key of a scenario node: fixed by its name, so pubkeys are stable."""
    return int.from_bytes(hashlib.sha256(f"simnet-node:{name}".encode()).digest()) % (N - 1) + 1


class Simulation:
    """One run of a scenario; `seed` and `start` override the scenario's.

    A run that a real LNbits watches must start at the wall clock (`start=datetime.now(UTC)`):
    LNbits and lnpilot's client judge invoice expiry by the wall clock, not the virtual one.
    """

    def __init__(
        self, scenario: Scenario, seed: int | None = None, *, start: datetime | None = None
    ) -> None:
        spec = scenario.simulation
        self.scenario = scenario
        self.seed = spec.seed if seed is None else seed
        config = NetworkConfig(
            network_name=spec.network,
            start=spec.start if start is None else start,
            open_confirmations=spec.open_confirmations,
        )
        self.network = SimNetwork(self.seed, config)
        self.network.chain.block_height = spec.block_height
        self.network.chain.fee_rate_sat_per_vbyte = spec.fee_rate_sat_per_vbyte
        self.names: dict[str, str] = {}
        self._build_graph(scenario)
        ours = self.resolve(spec.our_node, "simulation.our_node")
        self.payer = Payer(
            self.network, int(spec.route_ttl_s * NS_PER_S), scenario.demand.sender_mix
        )
        self.our_node = OurNode(self.network, self.payer, ours)
        self.scheduler = Scheduler(self.network)
        self._rng = random.Random(f"simulation-{self.seed}")
        demand = scenario.demand
        flows = [
            Flow(
                f.name,
                f.per_hour,
                self.resolve(f.source, f"flows.{f.name}.source") if f.source else None,
                self.resolve(f.dest, f"flows.{f.name}.dest") if f.dest else None,
                AmountDistribution(f.amount_median_sat, f.amount_sigma, f.amount_max_sat),
                tuple(self.resolve(n, f"flows.{f.name}.sources") for n in f.sources),
                tuple(self.resolve(n, f"flows.{f.name}.dests") for n in f.dests),
                Rhythm(
                    f.daily_amplitude,
                    f.peak_hour_utc,
                    f.burst_every_h,
                    f.burst_hours,
                    f.burst_factor,
                ),
            )
            for f in scenario.flows
        ]
        self.demand = Demand(
            self.network,
            self.payer,
            self.scheduler,
            self.seed,
            demand.payments_per_day,
            AmountDistribution(
                demand.amount_median_sat, demand.amount_sigma, demand.amount_max_sat
            ),
            flows,
            exclude_sender=ours,
        )
        self.dynamics = Dynamics(
            self.network,
            self.scheduler,
            self.seed,
            DynamicsConfig(**scenario.dynamics.model_dump()),
            ours=ours,
        )
        self.demand.start()
        self.dynamics.start()
        if spec.auto_pay_invoices_after_s is not None:
            self._auto_pay_delay_ns = int(spec.auto_pay_invoices_after_s * NS_PER_S)
            self.our_node.subscribe_invoices(self._auto_pay)

    # --- building ---------------------------------------------------------------------

    def _build_graph(self, scenario: Scenario) -> None:
        net = self.network
        topo = scenario.topology
        if topo.kind == "generated":
            config = TopologyConfig(nodes=topo.nodes, channels_per_node=topo.channels_per_node)
            for i, pubkey in enumerate(generate(net, config, self.seed)):
                self.names[f"n{i}"] = pubkey
        elif topo.kind == "snapshot":
            if topo.path is None:
                raise ScenarioError("topology.path: needed when topology.kind is 'snapshot'")
            path = Path(topo.path)
            if not path.exists():
                raise ScenarioError(f"topology.path: snapshot {path} does not exist")
            load_snapshot(path, net, self.seed)
            for pubkey, node in net.nodes.items():
                self.names.setdefault(node.alias, pubkey)
        for spec in scenario.nodes:
            if spec.name in self.names:
                raise ScenarioError(f"nodes: name {spec.name!r} is used twice")
            privkey = named_privkey(spec.name)
            pubkey = pubkey_of(privkey).hex()
            net.add_node(
                Node(
                    pubkey=pubkey,
                    alias=spec.alias or spec.name,
                    uptime=spec.uptime,
                    privkey=privkey,
                    onchain_balance_sat=spec.onchain_sat,
                )
            )
            self.names[spec.name] = pubkey
        for i, chan in enumerate(scenario.channels):
            where = f"channels[{i}]"
            a = self.resolve(chan.a, f"{where}.a")
            b = self.resolve(chan.b, f"{where}.b")
            a_balance_sat = chan.a_balance_sat
            if a_balance_sat is None:
                a_balance_sat = chan.capacity_sat // 2
            if a_balance_sat > chan.capacity_sat:
                raise ScenarioError(f"{where}.a_balance_sat: more than capacity_sat")
            try:
                net.add_channel(
                    a,
                    b,
                    chan.capacity_sat,
                    a_balance_sat * 1000,
                    chan.policy_a.to_policy(),
                    chan.policy_b.to_policy(),
                    scid=chan.scid,
                    opener=a if chan.opener == "a" else b,
                    private=chan.private,
                )
            except ValueError as exc:
                raise ScenarioError(f"{where}: {exc}") from exc

    def resolve(self, ref: str, where: str) -> str:
        """A node's pubkey from its scenario name, alias or pubkey."""
        if ref in self.names:
            return self.names[ref]
        if ref in self.network.nodes:
            return ref
        raise ScenarioError(f"{where}: no node named {ref!r}")

    # --- running ----------------------------------------------------------------------

    def run_for(self, duration_s: float) -> None:
        """Advance `duration_s` of virtual time as fast as possible."""
        self.scheduler.run_for(duration_s)

    async def run_realtime(
        self,
        speed: float,
        stop: asyncio.Event | None = None,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        """Advance with the wall clock at `speed`× (for the demo and LNbits on top).

        Pass the LND face's lock when the face serves from another thread.
        """
        await self.scheduler.run_realtime(speed, stop, lock)

    def event_log_hash(self) -> str:
        """sha256 of the canonical event log so far: equal for equal scenario and seed."""
        return self.network.log.hexdigest()

    # --- what tests and the demo do to the network ------------------------------------

    def create_invoice(self, node: str, value_msat: int, memo: str = "") -> Invoice:
        """An invoice of a simulated node (for LNbits to pay through our node)."""
        pubkey = self.resolve(node, "node")
        entropy = hashlib.sha256(f"{self.seed}:{pubkey}:{self.network.now_ns}:{memo}".encode())
        entropy.update(str(self._rng.random()).encode())
        request = InvoiceRequest(value_msat, memo or "simnet invoice")
        return self.network.invoices.create(
            self.network.nodes[pubkey], request, self.network.now_ns, entropy.digest()
        )

    def pay_invoice_from(self, sender: str, payment_request: str) -> PaymentOutcome:
        """A simulated node pays an invoice of this network (ours or another's)."""
        invoice = self.network.invoices.by_request(payment_request)
        if invoice is None:
            raise ValueError("payment request was not issued in this network")
        return self.payer.pay(
            self.resolve(sender, "sender"),
            invoice.node,
            invoice.value_msat,
            invoice.payment_hash,
            final_cltv_delta=invoice.cltv_expiry,
        )

    def _auto_pay(self, invoice: Invoice) -> None:
        if invoice.state is not InvoiceState.OPEN or invoice.value_msat <= 0:
            return
        if invoice.settle_index or invoice.amt_paid_msat:
            return
        weights = capacity_weights(self.network, exclude=invoice.node)
        senders = [k for k, _ in weights if self.network.online[k]]
        if not senders:
            return
        sender = self._rng.choice(senders)

        def pay() -> None:
            if invoice.state is InvoiceState.OPEN:
                self.pay_invoice_from(sender, invoice.payment_request)

        self.scheduler.after(self._auto_pay_delay_ns, pay)
