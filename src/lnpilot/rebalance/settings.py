"""The ``[rebalance]`` part of the fee policy file: target bands, economics, budget, limits.

Rebalancing lives in the same TOML file as the fee policy (``fees.toml``), because the
operator thinks about a channel's price and its liquidity together; this module reads only
its own part of that file (``[rebalance]``) and the shared ``[groups]`` table, and never the
fee engine's code. Like the fee policy it is validated whole at load, every problem named
with its key and what is allowed, because a typo that silently keeps a default would spend
money nobody meant to spend.

Ratios and shares are whole percents (``target_pct = 50``), durations are seconds or days
with the unit in the key (``timeout_s``, ``earned_window_days``), amounts sat at the edge
(``daily_sat``) and msat inside. Per channel, settings resolve in three layers: the
``[rebalance]`` defaults, then the first ``[[rebalance.rule]]`` whose ``match`` holds, then
``[rebalance.channel."BLOCKxTXxOUT"]``. ``docs/rebalancing.md`` shows a complete file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from lnpilot.base.domain import Channel, chan_id_from_scid
from lnpilot.base.tomlfile import (
    FileProblems,
    StrictModel,
    Wording,
    load_toml,
    parse_toml,
    validate,
)
from lnpilot.rebalance.economics import GuardRule

_PUBKEY = re.compile(r"(02|03)[0-9a-f]{64}")

DirectionSetting = Literal["auto", "sink", "source", "balanced"]
Pct = Annotated[int, Field(ge=0, le=100)]


class SettingsError(FileProblems):
    """A ``[rebalance]`` part that cannot be used; ``problems`` has one line per problem."""


def _listed(value: object) -> object:
    """Let a single value stand for a list of one: ``peer = "02ab..."``."""
    return [value] if isinstance(value, str) else value


def _scid(value: str) -> str:
    chan_id_from_scid(value)  # raises ValueError naming the BLOCKxTXxOUT form
    return value


def _pubkey(value: str) -> str:
    if not _PUBKEY.fullmatch(value):
        raise ValueError("a node pubkey: 66 lowercase hex characters starting with 02 or 03")
    return value


Scids = Annotated[list[Annotated[str, BeforeValidator(_scid)]], BeforeValidator(_listed)]
Pubkeys = Annotated[list[Annotated[str, BeforeValidator(_pubkey)]], BeforeValidator(_listed)]
Names = Annotated[list[str], BeforeValidator(_listed)]


class Match(StrictModel):
    """Which channels a rule is for: all conditions given must hold; a list holds when any
    of its items does. ``alias`` takes glob patterns; ``group`` names ``[groups]`` entries."""

    channel: Scids | None = None
    peer: Pubkeys | None = None
    alias: Names | None = None
    group: Names | None = None


class ChannelSettings(StrictModel):
    """What a rule or a channel override may set; left out means inherited."""

    enabled: bool | None = None
    target_pct: Pct | None = None
    band_pct: Annotated[int, Field(ge=1, le=50)] | None = None
    direction: DirectionSetting | None = None
    fee_factor_pct: Pct | None = None
    guard: GuardRule | None = None
    max_fee_ppm: Annotated[int, Field(ge=0, le=100_000)] | None = None
    amount_pct: Annotated[int, Field(ge=1, le=100)] | None = None
    max_amount_pct: Annotated[int, Field(ge=1, le=100)] | None = None
    min_amount_sat: Annotated[int, Field(ge=1)] | None = None
    #: Refill only when the target's fee on its recent outflow repays the refill's cost plus
    #: this share (:func:`lnpilot.rebalance.economics.payback`); off when left out.
    payback_margin_pct: Annotated[int, Field(ge=0, le=1000)] | None = None


class Rule(ChannelSettings):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    match: Match = Match()


class Budget(StrictModel):
    """Spending limits over the whole node; all of them hold at once."""

    daily_sat: Annotated[int, Field(ge=0)] = 1_000
    monthly_sat: Annotated[int, Field(ge=0)] = 10_000
    earned_share_pct: Pct = 50
    earned_window_days: Annotated[int, Field(ge=1, le=365)] = 30


class SwapSettings(StrictModel):
    """``[rebalance.swap]``: swaps in through LNbits' Boltz extension as a second way to refill
    a channel (:mod:`lnpilot.rebalance.methods`). Off unless ``enabled``; a swap is only ever
    created in apply mode with an operator's approval."""

    enabled: bool = False
    pair: Annotated[str, Field(min_length=1, max_length=32)] = "BTC/BTC"
    refund_address: Annotated[str, Field(min_length=14, max_length=128)] | None = None
    funding_feerate_sat_vb: Annotated[int, Field(ge=1, le=10_000)] = 10
    funding_vbytes: Annotated[int, Field(ge=50, le=10_000)] = 140
    inbound_discount_ppm: Annotated[int, Field(ge=0, le=100_000)] = 0

    @property
    def funding_fee_sat(self) -> int:
        """Our own funding transaction's fee, which Boltz's quote cannot include."""
        return self.funding_feerate_sat_vb * self.funding_vbytes


class Section(ChannelSettings):
    """The ``[rebalance]`` table as written; its channel settings are the defaults."""

    enabled: bool | None = True
    target_pct: Pct | None = 50
    band_pct: Annotated[int, Field(ge=1, le=50)] | None = 20
    direction: DirectionSetting | None = "auto"
    fee_factor_pct: Pct | None = 50
    guard: GuardRule | None = "margin"
    max_fee_ppm: Annotated[int, Field(ge=0, le=100_000)] | None = 2_000
    amount_pct: Annotated[int, Field(ge=1, le=100)] | None = 20
    max_amount_pct: Annotated[int, Field(ge=1, le=100)] | None = 50
    min_amount_sat: Annotated[int, Field(ge=1)] | None = 20_000
    direction_window_days: Annotated[int, Field(ge=1, le=90)] = 7
    direction_threshold_pct: Annotated[int, Field(ge=51, le=100)] = 65
    direction_shift_pct: Annotated[int, Field(ge=0, le=40)] = 15
    min_forwards_out: Annotated[int, Field(ge=0)] = 1
    sources: Literal["above_band", "above_centre"] = "above_band"
    max_per_run: Annotated[int, Field(ge=1, le=100)] = 4
    concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    timeout_s: Annotated[int, Field(ge=1, le=3600)] = 60
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    retry_after_s: Annotated[int, Field(ge=0)] = 3_600
    budget: Budget = Budget()
    swap: SwapSettings = SwapSettings()
    rule: list[Rule] = Field(default_factory=list)
    channel: dict[str, ChannelSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = _bounds(self)
        problems += [f"rule {r.name!r}: {p}" for r in self.rule for p in _bounds(r)]
        problems += [f"channel {s!r}: {p}" for s, c in self.channel.items() for p in _bounds(c)]
        names = [r.name for r in self.rule]
        problems += [
            f"rule {n!r}: the name is used twice" for n in set(names) if names.count(n) > 1
        ]
        for scid in self.channel:
            try:
                _scid(scid)
            except ValueError as exc:
                problems.append(f"channel {scid!r}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _bounds(settings: ChannelSettings) -> list[str]:
    if (
        settings.amount_pct is not None
        and settings.max_amount_pct is not None
        and settings.amount_pct > settings.max_amount_pct
    ):
        return [f"amount_pct ({settings.amount_pct}) is above max_amount_pct"]
    return []


@dataclass(frozen=True)
class ChannelTarget:
    """One channel's settings, every layer applied; ``rule`` is the rule that matched."""

    enabled: bool
    target_pct: int
    band_pct: int
    direction: DirectionSetting
    fee_factor_pct: int
    guard: GuardRule
    max_fee_ppm: int
    amount_pct: int
    max_amount_pct: int
    min_amount_sat: int
    rule: str | None
    payback_margin_pct: int | None = None


class RebalanceSettings:
    """The validated ``[rebalance]`` part and the groups it may name."""

    def __init__(self, section: Section, groups: dict[str, list[str]], digest: str) -> None:
        self.section = section
        self.groups = groups
        self.digest = digest

    @property
    def budget(self) -> Budget:
        return self.section.budget

    @property
    def direction_window(self) -> timedelta:
        return timedelta(days=self.section.direction_window_days)

    @property
    def earned_window(self) -> timedelta:
        return timedelta(days=self.section.budget.earned_window_days)

    def for_channel(self, channel: Channel) -> ChannelTarget:
        """The defaults, then the first matching rule, then the channel's override."""
        layers: list[ChannelSettings] = [self.section]
        rule = next((r for r in self.section.rule if self._matches(r.match, channel)), None)
        if rule is not None:
            layers.append(rule)
        if channel.scid is not None and channel.scid in self.section.channel:
            layers.append(self.section.channel[channel.scid])
        values: dict[str, Any] = {}
        fields = set(ChannelSettings.model_fields)
        for layer in layers:
            values.update(layer.model_dump(include=fields, exclude_none=True))
        # A layer may lower the ceiling below an inherited first amount: the ceiling wins.
        values["amount_pct"] = min(values["amount_pct"], values["max_amount_pct"])
        return ChannelTarget(**values, rule=rule.name if rule is not None else None)

    def _matches(self, match: Match, channel: Channel) -> bool:
        if match.channel is not None and channel.scid not in match.channel:
            return False
        if match.peer is not None and channel.peer_pubkey not in match.peer:
            return False
        if match.alias is not None and not any(
            fnmatch.fnmatchcase(channel.peer_alias or "", pattern) for pattern in match.alias
        ):
            return False
        if match.group is not None:
            members = {m for name in match.group for m in self.groups.get(name, ())}
            if channel.peer_pubkey not in members and channel.scid not in members:
                return False
        return True


class _Shared(BaseModel):
    """What the rebalancer reads of a policy file: its own table and the shared ``[groups]``.
    The fee engine's tables are the fee engine's to check, so other keys are let through."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    groups: dict[str, list[str]] = Field(default_factory=dict)
    rebalance: Section = Section()


#: Every line starts with the key (``rebalance.band: unknown key``), as the tests pin.
_WORDING = Wording(key_first=True)


def load_settings(path: Path) -> RebalanceSettings:
    """Read the ``[rebalance]`` part of a policy file; :class:`SettingsError` names problems.
    The daemon, which reads the fee policy too, uses :func:`settings_from_policy` instead."""
    shared = load_toml(path, _Shared, SettingsError, _WORDING)
    return _settings(shared.rebalance, shared.groups, str(path))


def parse_settings(text: str, source: str = "<policy>") -> RebalanceSettings:
    """Validate the ``[rebalance]`` part of policy TOML (defaults when it is absent)."""
    shared = validate(
        _Shared, parse_toml(text, source, SettingsError), source, SettingsError, _WORDING
    )
    return _settings(shared.rebalance, shared.groups, source)


def settings_from_policy(
    rebalance: Mapping[str, Any], groups: Mapping[str, Sequence[str]], source: str
) -> RebalanceSettings:
    """The settings from the fee engine's parse of the same file: its ``rebalance`` table as
    written and its already validated ``[groups]``, so the file is read and checked once.
    Plain data, not the fee engine's types: the two engines do not import each other."""
    shared = validate(_Shared, {"rebalance": rebalance}, source, SettingsError, _WORDING)
    return _settings(shared.rebalance, {name: list(m) for name, m in groups.items()}, source)


def _settings(section: Section, groups: dict[str, list[str]], source: str) -> RebalanceSettings:
    unknown = [
        f"{source}: rebalance.rule {rule.name!r}: match.group {name!r} is not in [groups]"
        for rule in section.rule
        for name in rule.match.group or ()
        if name not in groups
    ]
    if unknown:
        raise SettingsError(unknown)
    canonical = json.dumps(section.model_dump(mode="json"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return RebalanceSettings(section, groups, digest)
