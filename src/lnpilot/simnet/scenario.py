"""Scenario files: a network, its demand and its dynamics, in TOML.

A scenario names its nodes and refers to them by name (generated nodes are `n0`, `n1`, ...;
snapshot nodes by alias or pubkey). Validation is strict: an unknown or misspelt key is an
error that names the key and where it is, because a typo silently ignored would run a
different experiment than the one written. See docs/simnet.md for the format.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from lnpilot.base.tomlfile import (
    FileProblems,
    StrictModel,
    Wording,
    indexed,
    load_toml,
    parse_toml,
    validate,
)
from lnpilot.simnet.model import Policy
from lnpilot.simnet.senders import DEFAULT_SENDER_MIX, check_mix

#: Where the scenarios shipped with lnpilot live (used by `make demo`).
SCENARIO_DIR = Path(__file__).with_name("scenarios")


class ScenarioError(FileProblems):
    """A scenario that cannot be used; the message names the file, the key and the problem."""


#: Scenarios are arrays of tables: a location is written ``channels[0].capacity_sat``.
_WORDING = Wording(key=indexed, key_first=True)


class PolicySpec(StrictModel):
    base_fee_msat: int = Field(1000, ge=0)
    fee_rate_ppm: int = Field(1, ge=0)
    inbound_base_fee_msat: int = 0
    inbound_fee_rate_ppm: int = 0
    min_htlc_msat: int = Field(1000, ge=0)
    max_htlc_msat: int = Field(0, ge=0, description="0: 99% of the capacity")
    cltv_delta: int = Field(80, ge=1)
    disabled: bool = False

    def to_policy(self) -> Policy:
        return Policy(
            self.base_fee_msat,
            self.fee_rate_ppm,
            self.inbound_base_fee_msat,
            self.inbound_fee_rate_ppm,
            self.min_htlc_msat,
            self.max_htlc_msat,
            self.cltv_delta,
            self.disabled,
        )


class NodeSpec(StrictModel):
    name: str
    alias: str | None = None
    uptime: float = Field(1.0, ge=0.0, le=1.0)
    onchain_sat: int = Field(10_000_000, ge=0)


class ChannelSpec(StrictModel):
    a: str
    b: str
    capacity_sat: int = Field(gt=0)
    a_balance_sat: int | None = Field(None, ge=0, description="default: half the capacity")
    scid: str | None = None
    opener: Literal["a", "b"] = "a"
    private: bool = False
    policy_a: PolicySpec = PolicySpec()
    policy_b: PolicySpec = PolicySpec()


class TopologySpec(StrictModel):
    kind: Literal["none", "generated", "snapshot"] = "none"
    nodes: int = Field(100, ge=2)
    channels_per_node: int = Field(3, ge=1)
    path: str | None = Field(None, description="snapshot file (kind = snapshot)")


class DemandSpec(StrictModel):
    payments_per_day: float = Field(0.0, ge=0.0)
    amount_median_sat: int = Field(20_000, gt=0)
    amount_sigma: float = Field(1.3, ge=0.0)
    amount_max_sat: int = Field(5_000_000, gt=0)
    sender_mix: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SENDER_MIX),
        description="share of payers per implementation (lnd, cln, ldk): see simnet.senders",
    )

    @field_validator("sender_mix")
    @classmethod
    def _known_profiles(cls, mix: dict[str, float]) -> dict[str, float]:
        check_mix(mix)
        return mix


class FlowSpec(StrictModel):
    name: str
    per_hour: float = Field(gt=0.0)
    source: str | None = None
    dest: str | None = None
    sources: list[str] = Field([], description="draw the payer from these (not with source)")
    dests: list[str] = Field([], description="draw the payee from these (not with dest)")
    amount_median_sat: int = Field(5_000, gt=0)
    amount_sigma: float = Field(0.8, ge=0.0)
    amount_max_sat: int = Field(5_000_000, gt=0)
    daily_amplitude: float = Field(0.0, ge=0.0, le=1.0)
    peak_hour_utc: float = Field(19.0, ge=0.0, lt=24.0)
    burst_every_h: float = Field(0.0, ge=0.0, description="0: no bursts")
    burst_hours: float = Field(1.0, gt=0.0)
    burst_factor: float = Field(5.0, ge=1.0)

    @model_validator(mode="after")
    def _one_kind_of_end(self) -> FlowSpec:
        if self.source is not None and self.sources:
            raise ValueError("give source or sources, not both")
        if self.dest is not None and self.dests:
            raise ValueError("give dest or dests, not both")
        return self


class DynamicsSpec(StrictModel):
    block_interval_s: float = Field(600.0, ge=0.0)
    fee_rate_step_sigma: float = Field(0.15, ge=0.0)
    offline_mean_s: float = Field(7200.0, ge=0.0)
    fee_changes_per_node_per_day: float = Field(0.2, ge=0.0)
    fee_change_sigma: float = Field(0.3, ge=0.0)
    opens_per_day: float = Field(2.0, ge=0.0)
    closes_per_day: float = Field(2.0, ge=0.0)


class SimulationSpec(StrictModel):
    our_node: str
    seed: int = 0
    network: Literal["regtest", "testnet", "signet", "mainnet"] = "regtest"
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    block_height: int = Field(800_000, ge=1)
    fee_rate_sat_per_vbyte: int = Field(10, ge=1)
    open_confirmations: int = Field(3, ge=1)
    route_ttl_s: float = Field(24 * 3600.0, gt=0.0)
    auto_pay_invoices_after_s: float | None = Field(
        None, ge=0.0, description="simulated senders pay our invoices after this delay"
    )


class Scenario(StrictModel):
    simulation: SimulationSpec
    topology: TopologySpec = TopologySpec()
    nodes: list[NodeSpec] = Field(default_factory=list)
    channels: list[ChannelSpec] = Field(default_factory=list)
    demand: DemandSpec = DemandSpec()
    flows: list[FlowSpec] = Field(default_factory=list)
    dynamics: DynamicsSpec = DynamicsSpec()


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse and validate scenario TOML; ScenarioError names every bad key."""
    return validate(
        Scenario, parse_toml(text, source, ScenarioError), source, ScenarioError, _WORDING
    )


def load_scenario(path: Path) -> Scenario:
    """Read a scenario file (a name without directory is looked up among the shipped ones)."""
    if not path.exists() and path.parent == Path() and (SCENARIO_DIR / path).exists():
        path = SCENARIO_DIR / path
    return load_toml(path, Scenario, ScenarioError, _WORDING)


def snapshot_scenario(
    snapshot: Path, payments_per_day: float = 10_000.0, seed: int = 0
) -> Scenario:
    """A scenario over a graph snapshot: a new node "lnpilot" joins the real graph.

    Our node gets five 10M sat channels, balanced, to the five nodes with the most capacity
    (a new routing node's usual start), the network background payments, and a merchant
    flow into the biggest node so that our channels drain one way. This is the benchmark's
    default scenario and what `lnpilot simnet run --topology FILE` runs.
    """
    capacity: dict[str, int] = {}
    try:
        with gzip.open(snapshot, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        for chan in data["channels"]:
            for end in (chan["node1"], chan["node2"]):
                capacity[end] = capacity.get(end, 0) + int(chan["capacity_sat"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"{snapshot}: not a readable graph snapshot: {exc!r}") from exc
    biggest = sorted(capacity, key=lambda k: (-capacity[k], k))[:5]
    channels = [
        {
            "a": "lnpilot",
            "b": pubkey,
            "capacity_sat": 10_000_000,
            "a_balance_sat": 5_000_000,
            "policy_a": {"base_fee_msat": 0, "fee_rate_ppm": 300},
            "policy_b": {"base_fee_msat": 0, "fee_rate_ppm": 200},
        }
        for pubkey in biggest
    ]
    return Scenario.model_validate(
        {
            "simulation": {"our_node": "lnpilot", "seed": seed},
            "topology": {"kind": "snapshot", "path": str(snapshot)},
            "nodes": [{"name": "lnpilot", "onchain_sat": 100_000_000}],
            "channels": channels,
            "demand": {"payments_per_day": payments_per_day, "amount_median_sat": 20_000},
            "flows": [{"name": "merchant", "dest": biggest[0], "per_hour": 60}],
        }
    )
