"""A charge-lnd configuration turned into an lnpilot policy file (``fees.toml``).

charge-lnd's model maps onto the policy language almost key for key: sections are read in
order, a matching section without a strategy lends its properties to the ones below, the
first matching section with a strategy wins, and ``[default]`` comes last whatever its
place in the file. That is what lnpilot's rules do, so each section becomes a rule of the
same name, its ``chan.*``/``node.*``/``onchain.*`` keys become ``match`` conditions and its
properties become settings and strategy parameters.

What has no equivalent is refused with a clear error naming the section and the key, and
all such problems are reported at once (:class:`ConversionError`): a policy that silently
differs from the one the operator wrote would price channels by rules nobody meant. The
result is validated as any policy file before it is returned, and the differences that do
remain are written into it as comments (:attr:`Converted.notes`).
"""

from __future__ import annotations

import configparser
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lnpilot.base.domain import scid_from_chan_id
from lnpilot.fees.policy import PolicyError, parse_policy

SUPPORTED_STRATEGIES = ("static", "proportional", "cost", "ignore", "ignore_fees")
_PUBKEY = re.compile(r"(02|03)[0-9a-f]{64}")
_PERIOD = re.compile(r"(\d+)([smhd]?)")
BLOCKS_PER_DAY = 144


class ConversionError(ValueError):
    """A configuration that cannot be expressed; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Converted:
    """The policy file's text, and what differs from charge-lnd's behaviour."""

    toml: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _Rule:
    name: str
    match: dict[str, object] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    tables: dict[str, dict[str, object]] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, object]:
        return self.tables.setdefault(name, {})


class _Section:
    """One section being converted: its values, read strictly, and the problems found."""

    def __init__(self, name: str, values: dict[str, str], problems: list[str]) -> None:
        self.name = name
        self.values = values
        self.problems = problems

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"[{self.name}] {key}: {message}")

    def number(self, key: str) -> Decimal | None:
        raw = self.values[key]
        try:
            return Decimal(raw.replace("_", ""))
        except InvalidOperation:
            self.problem(key, f"{raw!r} is not a number")
            return None

    def integer(self, key: str, *, low: int | None = None, high: int | None = None) -> int | None:
        value = self.number(key)
        if value is None:
            return None
        if value != value.to_integral_value():
            self.problem(key, f"{self.values[key]!r} is not a whole number")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"{'' if low is None else low}..{'' if high is None else high}"
            self.problem(key, f"{value} is outside {span}")
            return None
        return int(value)

    def ratio(self, key: str) -> float | None:
        value = self.number(key)
        if value is None:
            return None
        if not 0 <= value <= 1:
            self.problem(key, f"{value} is not a ratio between 0 and 1")
            return None
        return float(value)

    def boolean(self, key: str) -> bool | None:
        raw = self.values[key].strip().lower()
        if raw in ("true", "yes", "on", "1"):
            return True
        if raw in ("false", "no", "off", "0"):
            return False
        self.problem(key, f"{self.values[key]!r} is not true or false")
        return None

    def items(self, key: str) -> list[str]:
        """A comma (or line) separated list; a ``file://`` reference cannot be carried over
        (lnpilot's policy names its channels and peers in the file or in ``[groups]``)."""
        found = [i.strip() for i in re.split(r"[,\n]", self.values[key]) if i.strip()]
        files = [i for i in found if i.startswith("file://")]
        if files:
            self.problem(
                key,
                f"file references ({', '.join(files)}) cannot be imported: list the ids in "
                "the charge-lnd file, or in a [groups] entry of fees.toml",
            )
        return [i for i in found if not i.startswith("file://")]


# --- matchers ---------------------------------------------------------------------------


def _range(
    rule: _Rule, name: str, read: Callable[[str], object | None], low_key: str, high_key: str
) -> Callable[[_Section], None]:
    def convert(section: _Section) -> None:
        bounds: dict[str, object] = {}
        for end, key in (("min", low_key), ("max", high_key)):
            if key in section.values:
                value = read(key)
                if value is not None:
                    bounds[end] = value
        if bounds:
            rule.match[name] = bounds

    return convert


def _channel_ids(section: _Section) -> list[str]:
    scids = []
    for item in section.items("chan.id"):
        parts = re.split(r"[x:]", item)
        try:
            if len(parts) == 3:
                block, tx, out = (int(p) for p in parts)
                scids.append(f"{block}x{tx}x{out}")
            else:
                scids.append(scid_from_chan_id(int(item)))
        except ValueError:
            section.problem("chan.id", f"{item!r} is not a channel id (BLOCKxTXxOUT or number)")
    return scids


def _node_ids(section: _Section) -> list[str]:
    found = section.items("node.id")
    bad = [i for i in found if not _PUBKEY.fullmatch(i)]
    for item in bad:
        section.problem("node.id", f"{item!r} is not a node pubkey")
    return [i for i in found if i not in bad]


def _period(section: _Section) -> str | None:
    raw = section.values["chan.activity_period"].strip()
    found = _PERIOD.fullmatch(raw)
    if found is None:
        section.problem("chan.activity_period", f"{raw!r}: expected seconds or #s, #m, #h, #d")
        return None
    return f"{found[1]}{found[2] or 's'}"


_ACTIVITY = {
    "chan.min_htlcs_in": ("forwards_in", "min"),
    "chan.max_htlcs_in": ("forwards_in", "max"),
    "chan.min_htlcs_out": ("forwards_out", "min"),
    "chan.max_htlcs_out": ("forwards_out", "max"),
    "chan.min_sats_in": ("volume_in_sat", "min"),
    "chan.max_sats_in": ("volume_in_sat", "max"),
    "chan.min_sats_out": ("volume_out_sat", "min"),
    "chan.max_sats_out": ("volume_out_sat", "max"),
}


def _activity(section: _Section, rule: _Rule, notes: list[str]) -> None:
    keys = [k for k in _ACTIVITY if k in section.values]
    if "chan.activity_period" not in section.values:
        for key in keys:
            section.problem(key, "has no effect in charge-lnd without chan.activity_period")
        return
    period = _period(section)
    if period is None:
        return
    activity: dict[str, object] = {"window": period}
    for key in keys:
        value = section.integer(key, low=0)
        if value is not None:
            name, end = _ACTIVITY[key]
            bounds = activity.setdefault(name, {})
            assert isinstance(bounds, dict)
            bounds[end] = value
    rule.match["activity"] = activity
    notes.append(
        f"[{section.name}]: the activity window counts only once lnpilot's history covers "
        f"{period}; charge-lnd skips channels younger than the period instead"
    )


def _age(section: _Section, rule: _Rule) -> None:
    bounds: dict[str, object] = {}
    for end in ("min", "max"):
        key = f"chan.{end}_age"
        if key not in section.values:
            continue
        blocks = section.integer(key, low=0)
        if blocks is None:
            continue
        if blocks % BLOCKS_PER_DAY:
            section.problem(
                key,
                f"{blocks} blocks: lnpilot matches age in days (144 blocks); use a "
                f"multiple of 144 such as {blocks // BLOCKS_PER_DAY * BLOCKS_PER_DAY}",
            )
            continue
        bounds[end] = blocks // BLOCKS_PER_DAY
    if bounds:
        rule.match["age_days"] = bounds


def _matchers(section: _Section, rule: _Rule, notes: list[str]) -> None:
    values = section.values
    if "chan.id" in values:
        rule.match["channel"] = _channel_ids(section)
    if "node.id" in values:
        rule.match["peer"] = _node_ids(section)
    _range(rule, "local_ratio", section.ratio, "chan.min_ratio", "chan.max_ratio")(section)
    _range(
        rule,
        "capacity_sat",
        lambda k: section.integer(k, low=0),
        "chan.min_capacity",
        "chan.max_capacity",
    )(section)
    _range(
        rule, "peer_local_ratio", section.ratio, "node.min_shared_ratio", "node.max_shared_ratio"
    )(section)
    _range(
        rule,
        "onchain_fee_rate",
        lambda k: section.integer(k, low=0),
        "onchain.min_fee_rate",
        "onchain.max_fee_rate",
    )(section)
    _age(section, rule)
    _activity(section, rule, notes)


_MATCHERS = {
    "chan.id",
    "node.id",
    "chan.min_ratio",
    "chan.max_ratio",
    "chan.min_capacity",
    "chan.max_capacity",
    "node.min_shared_ratio",
    "node.max_shared_ratio",
    "onchain.min_fee_rate",
    "onchain.max_fee_rate",
    "chan.min_age",
    "chan.max_age",
    "chan.activity_period",
    *_ACTIVITY,
}


# --- properties -------------------------------------------------------------------------


def _properties(
    section: _Section, rule: _Rule, open_cost_sat: int | None, notes: list[str]
) -> None:
    values = section.values
    strategy = values.get("strategy")
    if strategy is not None:
        strategy = strategy.strip()
        if strategy not in SUPPORTED_STRATEGIES:
            section.problem(
                "strategy",
                f"{strategy!r} has no lnpilot equivalent; importable: "
                + ", ".join(SUPPORTED_STRATEGIES),
            )
        elif strategy in ("ignore", "ignore_fees"):
            rule.settings["strategy"] = "ignore"
            kept = sorted(set(values) - {"strategy"} - _MATCHERS)
            if kept:
                notes.append(f"[{section.name}]: ignore leaves everything alone; dropped {kept}")
            return
        else:
            rule.settings["strategy"] = strategy
    if "base_fee_msat" in values:
        rule.settings["base_fee_msat"] = section.integer("base_fee_msat", low=0)
    if "fee_ppm" in values:
        rule.table("static")["fee_rate_ppm"] = section.integer("fee_ppm", low=0)
    if "min_fee_ppm" in values:
        rule.table("proportional")["fee_rate_ppm_full"] = section.integer("min_fee_ppm", low=0)
    if "max_fee_ppm" in values:
        rule.table("proportional")["fee_rate_ppm_empty"] = section.integer("max_fee_ppm", low=0)
    if "sum_peer_chans" in values:
        rule.table("proportional")["per_peer"] = section.boolean("sum_peer_chans")
    if "min_fee_ppm_delta" in values:
        rule.settings["min_fee_ppm_delta"] = section.integer("min_fee_ppm_delta", low=0)
    if "cost_factor" in values:
        factor = section.number("cost_factor")
        if factor is not None:
            pct = factor * 100
            if pct != pct.to_integral_value() or pct < 0:
                section.problem("cost_factor", f"{factor}: lnpilot takes whole percent (1.5)")
            else:
                rule.table("cost")["cost_factor_pct"] = int(pct)
    if strategy == "cost":
        if open_cost_sat is None:
            section.problem(
                "strategy",
                "'cost' reads the opening fee from LND's wallet, which lnpilot does not: "
                "give it with --open-cost-sat",
            )
        else:
            rule.table("cost")["open_cost_sat"] = open_cost_sat
    if "inbound_fee_ppm" in values or "inbound_base_fee_msat" in values:
        _inbound(section, rule)
    if "min_htlc_msat" in values:
        rule.settings["min_htlc_msat"] = section.integer("min_htlc_msat", low=1)
    if "max_htlc_msat_ratio" in values:
        ratio = section.number("max_htlc_msat_ratio")
        if ratio is not None:
            pct = ratio * 100
            if pct != pct.to_integral_value() or not 1 <= pct <= 100:
                section.problem(
                    "max_htlc_msat_ratio", f"{ratio}: lnpilot takes whole percent, 0.01..1"
                )
            else:
                rule.settings["max_htlc_pct"] = int(pct)
    if "time_lock_delta" in values:
        rule.settings["cltv_delta"] = section.integer("time_lock_delta", low=18, high=2016)


def _inbound(section: _Section, rule: _Rule) -> None:
    if "inbound_fee_ppm" not in section.values:
        section.problem(
            "inbound_base_fee_msat", "lnpilot's inbound static needs inbound_fee_ppm beside it"
        )
        return
    rule.settings["inbound"] = "static"
    table = rule.table("inbound_static")
    table["fee_rate_ppm"] = section.integer("inbound_fee_ppm", low=-1_000_000, high=0)
    if "inbound_base_fee_msat" in section.values:
        table["base_fee_msat"] = section.integer("inbound_base_fee_msat", high=0)


_PROPERTIES = {
    "strategy",
    "base_fee_msat",
    "fee_ppm",
    "min_fee_ppm",
    "max_fee_ppm",
    "sum_peer_chans",
    "min_fee_ppm_delta",
    "cost_factor",
    "inbound_fee_ppm",
    "inbound_base_fee_msat",
    "min_htlc_msat",
    "max_htlc_msat_ratio",
    "time_lock_delta",
}


# --- the whole file ---------------------------------------------------------------------


def convert(
    text: str, source: str = "<charge-lnd>", *, open_cost_sat: int | None = None
) -> Converted:
    """Turn charge-lnd configuration text into policy TOML; raises :class:`ConversionError`
    naming every section and key that cannot be expressed."""
    parser = configparser.ConfigParser(interpolation=configparser.ExtendedInterpolation())
    try:
        parser.read_string(text, source)
    except configparser.Error as exc:
        raise ConversionError([f"{source}: not a charge-lnd configuration: {exc}"]) from None
    problems: list[str] = []
    notes: list[str] = []
    names = [n for n in parser.sections() if n != "default"]
    if parser.has_section("default"):
        names.append("default")
    if not names:
        raise ConversionError([f"{source}: no sections: nothing to import"])
    rules: list[_Rule] = []
    for name in names:
        try:
            values = dict(parser[name])
        except configparser.Error as exc:
            problems.append(f"[{name}]: {exc}")
            continue
        section = _Section(name, values, problems)
        for key in sorted(set(values) - _MATCHERS - _PROPERTIES):
            kind = "matcher" if "." in key else "property"
            section.problem(key, f"this {kind} has no lnpilot equivalent")
        rule = _Rule(name)
        if name == "default" and any(k in _MATCHERS for k in values):
            section.problem("default", "[default] matches every channel; it takes no matchers")
        _matchers(section, rule, notes)
        _properties(section, rule, open_cost_sat, notes)
        rules.append(rule)
    _close(rules, notes)
    if any("has no lnpilot equivalent" in p and "strategy:" not in p for p in problems):
        problems.append("importable matchers: " + ", ".join(sorted(_MATCHERS)))
    if problems:
        raise ConversionError([f"{source}: {p}" for p in problems])
    toml = _render(rules, source, notes)
    try:
        parse_policy(toml, "converted policy")
    except PolicyError as exc:
        raise ConversionError([f"{source}: {p}" for p in exc.problems]) from None
    return Converted(toml, notes)


def _close(rules: list[_Rule], notes: list[str]) -> None:
    """The last rule is lnpilot's default: it must name a strategy and match everything."""
    last = rules[-1]
    if last.name == "default" and "strategy" not in last.settings:
        notes.append(
            "[default] names no strategy: charge-lnd leaves unmatched channels alone, so the "
            "default rule here is 'ignore' and its other properties are dropped"
        )
        rules[-1] = _Rule("default", settings={"strategy": "ignore"})
    elif last.name != "default" or last.match:
        notes.append(
            "no [default]: charge-lnd leaves unmatched channels alone; added a default rule "
            "with strategy 'ignore'"
        )
        rules.append(_Rule("default", settings={"strategy": "ignore"}))
    lent = False  # an earlier section without a strategy sets the delta (where it matches)
    for rule in rules:
        if "strategy" not in rule.settings:
            lent = lent or "min_fee_ppm_delta" in rule.settings
        elif rule.settings["strategy"] == "proportional" and not (
            lent or "min_fee_ppm_delta" in rule.settings
        ):
            rule.settings["min_fee_ppm_delta"] = 10
            notes.append(
                f"[{rule.name}]: min_fee_ppm_delta = 10 written, charge-lnd's own default for "
                "proportional"
            )
        elif rule.settings["strategy"] == "proportional" and "min_fee_ppm_delta" not in (
            rule.settings
        ):
            notes.append(
                f"[{rule.name}]: min_fee_ppm_delta comes from an earlier section where it "
                "matches; where none does, charge-lnd would use 10 and lnpilot none"
            )


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _render(rules: list[_Rule], source: str, notes: list[str]) -> str:
    lines = [
        f"# Converted from {source} by `lnpilot fees import charge-lnd`.",
        "# lnpilot's safety limits apply on top (steps of 25%, 6 h between changes of a",
        "# channel, hysteresis, a daily budget: docs/fees.md); widen [safety] for charge-lnd's",
        "# all-at-once changes.",
    ]
    lines += [f"# Note: {note}" for note in notes]
    for rule in rules:
        lines += ["", "[[rule]]", f"name = {_value(rule.name)}"]
        lines += [f"match.{key} = {_value(value)}" for key, value in rule.match.items()]
        lines += [f"{key} = {_value(value)}" for key, value in rule.settings.items()]
        lines += [f"{key} = {_value(value)}" for key, value in rule.tables.items()]
    return "\n".join(lines) + "\n"
