"""The fee policy file: safety limits, groups, ordered rules and per-channel overrides.

One TOML file says how every channel is priced. It is validated whole when it is loaded,
because a policy that is wrong for one channel would otherwise surface only when that channel
is next evaluated, perhaps days later, or worse, silently price it by a rule nobody meant.
Every problem names the rule (by name and position), the key and what is allowed, and all of
them are reported at once (:class:`PolicyError`).

Units inside the model follow the code's rules: fee rates in ppm, base fees in msat, amounts
in sat where the file speaks sat, durations in seconds (``*_s``; the file writes ``"6h"``),
ratios as integer per-mille (the file writes ``0.3``) so that matching never depends on
floating-point rounding. The language itself is described in ``docs/fees.md``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, PrivateAttr, create_model, model_validator

from lnpilot.base.domain import chan_id_from_scid
from lnpilot.base.tomlfile import FileProblems, Loc, Wording, parse_toml, read_text, validate
from lnpilot.fees.strategies import INBOUND, OUTBOUND
from lnpilot.fees.strategies import tables as strategy_tables
from lnpilot.fees.values import (
    DurationS,
    InboundMsat,
    InboundPpm,
    Msat,
    Permille,
    Ppm,
    StrictModel,
)

_PUBKEY = re.compile(r"(02|03)[0-9a-f]{64}")

if TYPE_CHECKING:
    OutboundStrategy = str
    InboundStrategy = str
else:  # the registered names, so pydantic's message lists what is allowed
    OutboundStrategy = Literal[tuple(OUTBOUND)]
    InboundStrategy = Literal[("keep", *INBOUND)]


class PolicyError(FileProblems):
    """A policy file that cannot be used; ``problems`` holds one readable line per problem."""


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


def _member(value: str) -> str:
    """A group member: a peer's pubkey or a channel's short channel id."""
    if _PUBKEY.fullmatch(value):
        return value
    try:
        return _scid(value)
    except ValueError:
        raise ValueError(
            "a peer pubkey (66 hex characters) or a short channel id (BLOCKxTXxOUT)"
        ) from None


Scid = Annotated[str, BeforeValidator(_scid)]
Pubkey = Annotated[str, BeforeValidator(_pubkey)]
Member = Annotated[str, BeforeValidator(_member)]


class Bounded(StrictModel):
    """``{ min = .., max = .. }``, both ends included, either may be left out."""

    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class IntRange(Bounded):
    pass


class PermilleRange(Bounded):
    """A range of ratios, written 0..1 in the file, held in per mille."""

    min: Permille | None = None
    max: Permille | None = None


class ActivityMatch(StrictModel):
    """Forwarding activity of the channel over ``window``."""

    window_s: DurationS = Field(alias="window")
    forwards_out: IntRange | None = None
    forwards_in: IntRange | None = None
    volume_out_sat: IntRange | None = None
    volume_in_sat: IntRange | None = None
    out_share: PermilleRange | None = None  # volume out over volume in + out


class CountInWindow(Bounded):
    window_s: DurationS = Field(alias="window")


class RatioInWindow(Bounded):
    window_s: DurationS = Field(alias="window")
    min: Permille | None = None
    max: Permille | None = None


class Match(StrictModel):
    """Conditions of a rule: all must hold; a list holds when any of its items does."""

    channel: Annotated[list[Scid], BeforeValidator(_listed)] | None = None
    peer: Annotated[list[Pubkey], BeforeValidator(_listed)] | None = None
    alias: Annotated[list[str], BeforeValidator(_listed)] | None = None  # glob patterns
    group: Annotated[list[str], BeforeValidator(_listed)] | None = None
    capacity_sat: IntRange | None = None
    local_ratio: PermilleRange | None = None
    peer_local_ratio: PermilleRange | None = None
    age_days: IntRange | None = None
    activity: ActivityMatch | None = None
    liquidity_failures: CountInWindow | None = None
    peer_uptime: RatioInWindow | None = None
    onchain_fee_rate: IntRange | None = None  # sat/vB

    @property
    def matches_all(self) -> bool:
        return not self.model_fields_set


class _CommonSettings(StrictModel):
    """What a rule or an override sets besides the strategies' parameter tables; left out
    means inherited (or the default)."""

    strategy: OutboundStrategy | None = None
    inbound: InboundStrategy | None = None
    base_fee_msat: Msat | None = None
    min_fee_rate_ppm: Ppm | None = None
    max_fee_rate_ppm: Ppm | None = None
    min_base_fee_msat: Msat | None = None
    max_base_fee_msat: Msat | None = None
    min_inbound_fee_rate_ppm: InboundPpm | None = None
    max_inbound_fee_rate_ppm: InboundPpm | None = None
    never_below_cost: bool | None = None
    #: Keep the outbound fee at least what refilling the channel cost (per sat moved in over
    #: the last 30 days, 0 when nothing was paid) plus this many ppm; off when left out.
    liquidity_margin_ppm: Ppm | None = None
    #: charge-lnd's setting: a fee rate change smaller than this many ppm is not sent.
    min_fee_ppm_delta: Ppm | None = None
    cltv_delta: Annotated[int, Field(ge=18, le=2016)] | None = None
    min_htlc_msat: Annotated[int, Field(ge=1)] | None = None
    max_htlc_pct: Annotated[int, Field(ge=1, le=100)] | None = None


if TYPE_CHECKING:
    RuleSettings = _CommonSettings
else:
    # The common settings plus one optional field per registered parameter table
    # (``static``, ``flow_adaptive``, ``cost``, ...), so the tables are validated, listed in
    # "allowed here" and merged like any other setting without being written out here.
    RuleSettings = create_model(
        "RuleSettings",
        __base__=_CommonSettings,
        __module__=__name__,
        **{table: (params | None, None) for table, params in strategy_tables().items()},
    )
    RuleSettings.__doc__ = _CommonSettings.__doc__


class Rule(RuleSettings):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    match: Match = Match()


class ChannelOverride(RuleSettings):
    """``[channel."BLOCKxTXxOUT"]``: on top of whatever rule the channel matches."""

    unmanaged: bool = False
    groups: Annotated[list[str], BeforeValidator(_listed)] = Field(default_factory=list)
    pin_fee_rate_ppm: Ppm | None = None
    pin_base_fee_msat: Msat | None = None
    pin_inbound_fee_rate_ppm: InboundPpm | None = None
    pin_inbound_base_fee_msat: InboundMsat | None = None


class Safety(StrictModel):
    """Limits every proposal passes, whatever rule or strategy made it."""

    max_step_pct: Annotated[int, Field(ge=1, le=1000)] = 25
    max_step_floor_ppm: Annotated[int, Field(ge=1, le=100_000)] = 10
    max_base_step_msat: Annotated[int, Field(ge=1)] = 1000
    min_interval_s: DurationS = Field(default=6 * 3600, alias="min_interval")
    hysteresis_pct: Annotated[int, Field(ge=0, le=100)] = 5
    hysteresis_ppm: Annotated[int, Field(ge=0)] = 2
    daily_budget: Annotated[int, Field(ge=0)] = 24
    max_history_lag_s: DurationS = Field(default=3600, alias="max_history_lag")


class PolicyFile(StrictModel):
    """A validated policy; build it with :func:`load_policy` or :func:`parse_policy`."""

    safety: Safety = Safety()
    groups: dict[str, list[Member]] = Field(default_factory=dict)
    rule: Annotated[list[Rule], Field(min_length=1)]
    channel: dict[str, ChannelOverride] = Field(default_factory=dict)
    #: The rebalancer's part of the same file (``lnpilot.rebalance`` validates it); the fee
    #: engine reads only the shared ``[groups]``, and leaves this alone.
    rebalance: dict[str, Any] = Field(default_factory=dict)
    _digest: str = PrivateAttr(default="")

    @property
    def digest(self) -> str:
        """sha256 of the file's text: the journal says which policy made each decision."""
        return self._digest

    def _every_settings(self) -> tuple[RuleSettings, ...]:
        return (*self.rule, *self.channel.values())

    def uses_strategy(self, strategy: str) -> bool:
        """Whether a rule or a channel override may pick outbound `strategy`."""
        return any(settings.strategy == strategy for settings in self._every_settings())

    def reads_graph(self) -> bool:
        """Whether a strategy the policy may pick compares with the network graph (the
        gatherer reads the graph, which is costly, only then)."""
        return any(self.uses_strategy(s.name) for s in OUTBOUND.values() if s.reads_graph)

    def prices_liquidity(self) -> bool:
        """Whether a rule or an override sets ``liquidity_margin_ppm`` (the gatherer reads
        the rebalance journal's costs only then, so a policy without it decides as before)."""
        return any(s.liquidity_margin_ppm is not None for s in self._every_settings())

    def windows_s(self) -> list[int]:
        """Every window (seconds) a matcher or a strategy may ask about, for the gatherer:
        a used strategy's default windows and those of every parameter table written."""
        windows: set[int] = set()
        every = self._every_settings()
        for registered in (*OUTBOUND.values(), *INBOUND.values()):
            if registered.windows is None:
                continue
            if self.uses_strategy(registered.name):
                windows |= registered.windows_s()
            for settings in every:
                if getattr(settings, registered.table, None) is not None:
                    windows |= registered.windows_s(settings)
        for rule in self.rule:
            for condition in (
                rule.match.activity,
                rule.match.liquidity_failures,
                rule.match.peer_uptime,
            ):
                if condition is not None:
                    windows.add(condition.window_s)
        return sorted(windows)


POLICY_ENV_VAR = "LNPILOT_FEES_POLICY"
POLICY_FILE_NAME = "fees.toml"


def find_policy_file(named: Path | None, config_file: Path | None) -> Path | None:
    """The policy file the daemon and the commands read: `named` (``--policy`` or
    ``[service] fees_policy_file``), else ``$LNPILOT_FEES_POLICY``, else fees.toml beside
    the configuration file (or in the working directory) when there is one; else None."""
    if named is not None:
        return named
    from_env = os.environ.get(POLICY_ENV_VAR)
    if from_env:
        return Path(from_env)
    beside = (config_file.parent if config_file else Path()) / POLICY_FILE_NAME
    return beside if beside.is_file() else None


def load_policy(path: Path) -> PolicyFile:
    """Read and validate a policy file; raises :class:`PolicyError` naming every problem."""
    return parse_policy(read_text(path, PolicyError), str(path))


def parse_policy(text: str, source: str = "<policy>") -> PolicyFile:
    """Validate policy TOML; raises :class:`PolicyError` naming every problem."""
    raw = parse_toml(text, source, PolicyError)
    wording = Wording(context=lambda loc: _where(loc, raw), key=_key, tables=True)
    policy = validate(PolicyFile, raw, source, PolicyError, wording)
    problems = _semantic_problems(policy)
    if problems:
        raise PolicyError([f"{source}: {p}" for p in problems])
    policy._digest = hashlib.sha256(text.encode()).hexdigest()
    return policy


# --- error messages ----------------------------------------------------------------------


def _where(loc: Loc, raw: dict[str, Any]) -> tuple[str, Loc]:
    """The rule or override a location is in, in words, and the rest of the location."""
    if len(loc) >= 2 and loc[0] == "rule" and isinstance(loc[1], int):
        rules = raw.get("rule")
        name = None
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            name = rules[loc[1]].get("name")
        label = f"rule {name!r}" if isinstance(name, str) else "rule"
        return f"{label} (#{loc[1] + 1})", loc[2:]
    if len(loc) >= 2 and loc[0] == "channel":
        return f"channel {loc[1]!r}", loc[2:]
    if len(loc) >= 2 and loc[0] == "groups":
        return f"group {loc[1]!r}", loc[2:]
    return "", loc


def _key(loc: Loc) -> str:
    """The key inside a rule or override, without list positions: the rule names those."""
    return ".".join(part for part in loc if isinstance(part, str))


# --- rules that span keys ----------------------------------------------------------------

_BOUND_PAIRS = (
    ("min_fee_rate_ppm", "max_fee_rate_ppm"),
    ("min_base_fee_msat", "max_base_fee_msat"),
    ("min_inbound_fee_rate_ppm", "max_inbound_fee_rate_ppm"),
)
_PINS = (
    ("pin_fee_rate_ppm", "min_fee_rate_ppm", "max_fee_rate_ppm"),
    ("pin_base_fee_msat", "min_base_fee_msat", "max_base_fee_msat"),
    ("pin_inbound_fee_rate_ppm", "min_inbound_fee_rate_ppm", "max_inbound_fee_rate_ppm"),
)
#: Parameters a strategy cannot do without: (strategy key, params table, field).
_NEEDED = tuple(
    (choice, registered.name, registered.table, field)
    for choice, registry in (("strategy", OUTBOUND), ("inbound", INBOUND))
    for registered in registry.values()
    for field in registered.needs
)


def _settings_problems(where: str, settings: RuleSettings) -> list[str]:
    problems = []
    for low, high in _BOUND_PAIRS:
        lo, hi = getattr(settings, low), getattr(settings, high)
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"{where}: {low} = {lo} is above {high} = {hi}")
    for table in strategy_tables():
        params = getattr(settings, table)
        if params is not None:
            problems += [f"{where}: {table}.{problem}" for problem in params.problems()]
    return problems


def _needed_problems(where: str, settings: RuleSettings, defaults: list[RuleSettings]) -> list[str]:
    """A strategy's required parameter must be set here or by an unconditional default."""
    problems = []
    for choice, value, table, field in _NEEDED:
        if getattr(settings, choice) != value:
            continue
        sources = [settings, *defaults]
        if not any(
            getattr(s, table) is not None and getattr(getattr(s, table), field) is not None
            for s in sources
        ):
            problems.append(
                f"{where}: {choice} {value!r} needs {table}.{field}, in this rule or in an "
                "earlier rule without match and strategy"
            )
    return problems


def _semantic_problems(policy: PolicyFile) -> list[str]:
    problems: list[str] = []
    groups = set(policy.groups)
    names: set[str] = set()
    defaults: list[RuleSettings] = []  # unconditional rules without a strategy, so far
    catch_all: str | None = None
    for index, rule in enumerate(policy.rule):
        where = f"rule {rule.name!r} (#{index + 1})"
        if rule.name in names:
            problems.append(f"{where}: the name is used by an earlier rule; names must be unique")
        names.add(rule.name)
        if catch_all is not None:
            problems.append(
                f"{where}: can never apply: rule {catch_all!r} before it matches every "
                "channel and names a strategy"
            )
        problems += _settings_problems(where, rule)
        problems += _needed_problems(where, rule, defaults)
        for group in rule.match.group or ():
            if group not in groups:
                allowed = ", ".join(sorted(groups)) or "none defined in [groups]"
                problems.append(f"{where}: match.group {group!r} is unknown; groups: {allowed}")
        if rule.match.matches_all:
            if rule.strategy is None:
                defaults.append(rule)
            else:
                catch_all = catch_all or rule.name
    last = policy.rule[-1]
    if not (last.match.matches_all and last.strategy is not None):
        problems.append(
            f"rule {last.name!r} (#{len(policy.rule)}): the last rule is the default: it "
            "must have no match and must name a strategy"
        )
    for scid, override in policy.channel.items():
        where = f"channel {scid!r}"
        try:
            _scid(scid)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
        problems += _settings_problems(where, override)
        problems += _needed_problems(where, override, defaults)
        for pin, low, high in _PINS:
            value = getattr(override, pin)
            lo, hi = getattr(override, low), getattr(override, high)
            if value is not None and (
                (lo is not None and value < lo) or (hi is not None and value > hi)
            ):
                problems.append(f"{where}: {pin} = {value} is outside {low}..{high}")
        for group in override.groups:
            if group not in groups:
                allowed = ", ".join(sorted(groups)) or "none defined in [groups]"
                problems.append(f"{where}: groups: {group!r} is unknown; groups: {allowed}")
    return problems
