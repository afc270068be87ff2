"""The monitoring rules and the alert lifecycle's settings, as the operator writes them in TOML.

Every shipped rule is on by default with the thresholds below; a ``[rules.NAME]`` table
changes a shipped rule's fields or, with a ``kind``, adds a rule of that kind under a new
name. Overrides narrow a rule to one channel (``scid``) or one peer (``peer``): the most
specific override wins, a channel's before its peer's. Everything is validated at load by
pydantic with unknown keys refused, so a typo (``treshold``) is an error naming the key
instead of a rule that silently keeps its default.

Durations are seconds (``*_s``); thresholds carry their unit in the name.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lnpilot.store.alerts import Matcher
from lnpilot.store.outbox import Severity


class RuleKind(enum.StrEnum):
    """What a rule looks at; each kind has one evaluator in :mod:`lnpilot.monitor.checks`."""

    UTILISATION = "utilisation"
    RATIO_BAND = "ratio_band"
    DEPLETION_FORECAST = "depletion_forecast"
    CHANNEL_INACTIVE = "channel_inactive"
    PEER_OFFLINE = "peer_offline"
    PEER_FLAPPING = "peer_flapping"
    CHANNEL_CLOSED = "channel_closed"
    HTLC_EXPIRY = "htlc_expiry"
    FAILED_FORWARDS = "failed_forwards"
    FEE_INCOME_ANOMALY = "fee_income_anomaly"
    NODE_UNREACHABLE = "node_unreachable"
    NODE_SLOW = "node_slow"
    NODE_NOT_SYNCED = "node_not_synced"
    ONCHAIN_RESERVE = "onchain_reserve"
    EXTENSION_INSECURE = "extension_insecure"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Override(_Strict):
    """Where an override applies: one channel or one peer (give exactly one)."""

    scid: str | None = None
    peer: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.scid is None) == (self.peer is None):
            raise ValueError("an override names exactly one of scid or peer")
        return self


class RuleBase(_Strict):
    """What every rule has. ``for_s`` is how long the condition must hold before the alert
    fires (it is ``pending`` until then); ``labels`` are added to the rule's alerts, for
    routing and silencing."""

    kind: RuleKind
    enabled: bool = True
    severity: Severity = Severity.WARNING
    for_s: float = Field(default=0, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
    overrides: tuple[dict[str, Any], ...] = ()

    @field_validator("labels")
    @classmethod
    def _no_reserved_labels(cls, value: dict[str, str]) -> dict[str, str]:
        taken = sorted(set(value) & RESERVED_LABELS)
        if taken:
            raise ValueError(f"labels {taken} are set by lnpilot itself")
        return value

    @model_validator(mode="after")
    def _check_overrides(self) -> Self:
        for override in self.overrides:
            self._apply(override)
        return self

    def _apply(self, override: Mapping[str, Any]) -> Self:
        """This rule with ``override``'s fields (validated like the rule's own)."""
        changes = {k: v for k, v in override.items() if k not in ("scid", "peer")}
        Override(scid=override.get("scid"), peer=override.get("peer"))
        if "kind" in changes or "overrides" in changes:
            raise ValueError("an override cannot change kind or hold overrides")
        data = self.model_dump(exclude={"overrides"})
        data.update(changes)
        return type(self).model_validate(data)

    def effective(self, *, scid: str | None = None, peer: str | None = None) -> Self:
        """The rule as it applies to a channel and/or peer: its peer override, then its
        channel override on top (the channel's is the more specific)."""
        rule = self
        for key, value in (("peer", peer), ("scid", scid)):
            if value is None:
                continue
            for override in self.overrides:
                if override.get(key) == value:
                    rule = rule._apply(override)
        return rule


class UtilisationRule(RuleBase):
    """Msat routed through a channel (in + out) over ``window_s``, over its capacity."""

    kind: Literal[RuleKind.UTILISATION] = RuleKind.UTILISATION
    severity: Severity = Severity.INFO
    threshold: float = Field(default=0.9, gt=0)
    window_s: float = Field(default=86_400, gt=0)


class RatioBandRule(RuleBase):
    """Our share of a channel's balance outside ``[low, high]``."""

    kind: Literal[RuleKind.RATIO_BAND] = RuleKind.RATIO_BAND
    for_s: float = Field(default=1800, ge=0)
    low: float = Field(default=0.1, ge=0, le=1)
    high: float = Field(default=0.9, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class DepletionForecastRule(RuleBase):
    """Time until a side of a channel is empty, from the balance trend over ``lookback_s``
    (least squares), below ``horizon_h``. "Empty" is below ``floor_ratio`` of capacity."""

    kind: Literal[RuleKind.DEPLETION_FORECAST] = RuleKind.DEPLETION_FORECAST
    horizon_h: float = Field(default=24, gt=0)
    lookback_s: float = Field(default=6 * 3600, gt=0)
    min_points: int = Field(default=4, ge=2)
    floor_ratio: float = Field(default=0.05, ge=0, lt=1)


class ChannelInactiveRule(RuleBase):
    """A channel the node lists as inactive (peer gone or channel disabled)."""

    kind: Literal[RuleKind.CHANNEL_INACTIVE] = RuleKind.CHANNEL_INACTIVE
    for_s: float = Field(default=900, ge=0)


class PeerOfflineRule(RuleBase):
    """A peer we have an open channel with is disconnected."""

    kind: Literal[RuleKind.PEER_OFFLINE] = RuleKind.PEER_OFFLINE
    for_s: float = Field(default=600, ge=0)


class PeerFlappingRule(RuleBase):
    """A peer that disconnected more than ``max_disconnects`` times over ``window_s``."""

    kind: Literal[RuleKind.PEER_FLAPPING] = RuleKind.PEER_FLAPPING
    max_disconnects: int = Field(default=3, ge=1)
    window_s: float = Field(default=3600, gt=0)


class ChannelClosedRule(RuleBase):
    """A channel seen closed within ``lookback_s``; force closes (and breaches) are
    ``force_severity``, the others ``severity``."""

    kind: Literal[RuleKind.CHANNEL_CLOSED] = RuleKind.CHANNEL_CLOSED
    lookback_s: float = Field(default=86_400, gt=0)
    force_severity: Severity = Severity.CRITICAL


class HtlcExpiryRule(RuleBase):
    """A pending HTLC whose expiry is fewer than ``blocks_left`` blocks away (the node
    force-closes the channel to claim it on chain when it gets close)."""

    kind: Literal[RuleKind.HTLC_EXPIRY] = RuleKind.HTLC_EXPIRY
    severity: Severity = Severity.CRITICAL
    blocks_left: int = Field(default=36, ge=1)


class FailedForwardsRule(RuleBase):
    """Forwards out of a channel that failed for lack of liquidity, per hour over
    ``window_s``, above ``max_per_hour`` (and at least ``min_count`` of them)."""

    kind: Literal[RuleKind.FAILED_FORWARDS] = RuleKind.FAILED_FORWARDS
    max_per_hour: float = Field(default=5, ge=0)
    window_s: float = Field(default=3600, gt=0)
    min_count: int = Field(default=3, ge=1)


class FeeIncomeAnomalyRule(RuleBase):
    """The node's fee income over the last day far below its usual: robust z-score
    (median and MAD of the previous ``days`` daily incomes) below ``-z_threshold``."""

    kind: Literal[RuleKind.FEE_INCOME_ANOMALY] = RuleKind.FEE_INCOME_ANOMALY
    z_threshold: float = Field(default=3.5, gt=0)
    days: int = Field(default=14, ge=3, le=90)
    min_days: int = Field(default=7, ge=3)
    min_median_msat: int = Field(default=1000, ge=0)


class NodeUnreachableRule(RuleBase):
    """A backend (LNbits, LND) whose last probe failed, or with no successful probe over
    ``stale_after_s`` while probes are being made."""

    kind: Literal[RuleKind.NODE_UNREACHABLE] = RuleKind.NODE_UNREACHABLE
    severity: Severity = Severity.CRITICAL
    for_s: float = Field(default=120, ge=0)
    stale_after_s: float = Field(default=600, gt=0)


class NodeSlowRule(RuleBase):
    """A backend whose median probe latency over ``window_s`` is above ``latency_ms``."""

    kind: Literal[RuleKind.NODE_SLOW] = RuleKind.NODE_SLOW
    for_s: float = Field(default=300, ge=0)
    latency_ms: float = Field(default=3000, gt=0)
    window_s: float = Field(default=900, gt=0)


class NodeNotSyncedRule(RuleBase):
    """The node says it is not synced to the chain (backends that do not say are skipped)."""

    kind: Literal[RuleKind.NODE_NOT_SYNCED] = RuleKind.NODE_NOT_SYNCED
    for_s: float = Field(default=600, ge=0)


class OnchainReserveRule(RuleBase):
    """Confirmed on-chain balance below what closing and fee-bumping may need: LND keeps
    ``per_channel_sat`` per anchor channel up to ``max_sat``; never below ``min_sat``."""

    kind: Literal[RuleKind.ONCHAIN_RESERVE] = RuleKind.ONCHAIN_RESERVE
    for_s: float = Field(default=600, ge=0)
    per_channel_sat: int = Field(default=10_000, ge=0)
    max_sat: int = Field(default=100_000, ge=0)
    min_sat: int = Field(default=0, ge=0)


class ExtensionInsecureRule(RuleBase):
    """LNbits runs an active extension whose release has a known security problem (see
    :mod:`lnpilot.lnbits.advisories`; the probe reads the installed list with the admin
    session). ``include_unverified`` also alerts on releases newer than the one the problem
    was recorded on, which may or may not still have it."""

    kind: Literal[RuleKind.EXTENSION_INSECURE] = RuleKind.EXTENSION_INSECURE
    include_unverified: bool = False


Rule = Annotated[
    UtilisationRule
    | RatioBandRule
    | DepletionForecastRule
    | ChannelInactiveRule
    | PeerOfflineRule
    | PeerFlappingRule
    | ChannelClosedRule
    | HtlcExpiryRule
    | FailedForwardsRule
    | FeeIncomeAnomalyRule
    | NodeUnreachableRule
    | NodeSlowRule
    | NodeNotSyncedRule
    | OnchainReserveRule
    | ExtensionInsecureRule,
    Field(discriminator="kind"),
]

#: The shipped rules: name (the ``alertname`` label) and kind.
DEFAULT_RULES: dict[str, RuleKind] = {
    "channel_utilisation_high": RuleKind.UTILISATION,
    "liquidity_out_of_band": RuleKind.RATIO_BAND,
    "liquidity_depletion_forecast": RuleKind.DEPLETION_FORECAST,
    "channel_inactive": RuleKind.CHANNEL_INACTIVE,
    "peer_offline": RuleKind.PEER_OFFLINE,
    "peer_flapping": RuleKind.PEER_FLAPPING,
    "channel_closed": RuleKind.CHANNEL_CLOSED,
    "htlc_near_expiry": RuleKind.HTLC_EXPIRY,
    "failed_forwards_no_liquidity": RuleKind.FAILED_FORWARDS,
    "fee_income_anomaly": RuleKind.FEE_INCOME_ANOMALY,
    "node_unreachable": RuleKind.NODE_UNREACHABLE,
    "node_slow": RuleKind.NODE_SLOW,
    "node_not_synced": RuleKind.NODE_NOT_SYNCED,
    "onchain_below_reserve": RuleKind.ONCHAIN_RESERVE,
    "lnbits_extension_insecure": RuleKind.EXTENSION_INSECURE,
}

#: Labels lnpilot sets on every alert; rules may not set them.
RESERVED_LABELS = frozenset({"alertname", "severity", "node"})


class Grouping(_Strict):
    """How alerts are batched into notices, as in Alertmanager: a group's first notice waits
    ``group_wait_s`` (to gather alerts firing together), changes wait ``group_interval_s``
    after the previous notice, and an unchanged firing group is re-sent every
    ``repeat_interval_s``."""

    group_by: tuple[str, ...] = ("alertname", "node")
    group_wait_s: float = Field(default=30, ge=0)
    group_interval_s: float = Field(default=300, ge=0)
    repeat_interval_s: float = Field(default=4 * 3600, gt=0)
    send_resolved: bool = True


class InhibitRule(_Strict):
    """While an alert matching ``source`` fires, alerts matching ``target`` that share the
    values of the ``equal`` labels are not notified (their cause is already told)."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    equal: tuple[str, ...] = ("node",)

    @field_validator("source", "target")
    @classmethod
    def _matchers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one matcher")
        for text in value:
            Matcher.parse(text)
        return value

    def source_matchers(self) -> tuple[Matcher, ...]:
        return tuple(Matcher.parse(t) for t in self.source)

    def target_matchers(self) -> tuple[Matcher, ...]:
        return tuple(Matcher.parse(t) for t in self.target)


#: While the node is unreachable, what the store says of its channels, peers and balances
#: is stale; a peer offline explains its channel going inactive.
DEFAULT_INHIBIT = (
    InhibitRule(source=("alertname=node_unreachable",), target=("scope=~channel|peer|node",)),
    InhibitRule(
        source=("alertname=peer_offline",),
        target=("alertname=channel_inactive",),
        equal=("node", "peer"),
    ),
)


class ActionMode(enum.StrEnum):
    DRY_RUN = "dry-run"
    APPLY = "apply"


class IncidentPolicy(_Strict):
    """Which alerts open incidents and what the action runner may do without asking.

    ``auto_actions`` lists safe action kinds (``lower_max_htlc``, ``raise_fee``,
    ``disable_channel``) the runner may carry out alone; they run only in ``apply`` mode,
    within ``max_auto_actions_per_day``. A close always waits for an approval.
    """

    open_for: tuple[Severity, ...] = (Severity.CRITICAL,)
    mode: ActionMode = ActionMode.DRY_RUN
    auto_actions: tuple[str, ...] = ()
    max_auto_actions_per_day: int = Field(default=10, ge=0)
    max_fee_rate_ppm: int = Field(default=5000, ge=0)
    fee_step_ratio: float = Field(default=0.25, gt=0, le=1)
    max_htlc_share: float = Field(default=0.5, gt=0, le=1)


class MonitorConfig(_Strict):
    """Everything the alert engine reads from the alerts file (bar ``[notify]``)."""

    rules: dict[str, Rule] = Field(default_factory=dict)
    grouping: Grouping = Grouping()
    inhibit: tuple[InhibitRule, ...] = DEFAULT_INHIBIT
    incidents: IncidentPolicy = IncidentPolicy()
    keep_resolved_days: float = Field(default=30, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _with_shipped_rules(cls, data: Any) -> Any:
        """Start from the shipped rules and lay the file's ``[rules.*]`` tables on them."""
        if not isinstance(data, Mapping):
            return data
        given = data.get("rules", {})
        if not isinstance(given, Mapping):
            return data
        rules: dict[str, Any] = {name: {"kind": kind} for name, kind in DEFAULT_RULES.items()}
        for name, table in given.items():
            if isinstance(table, Mapping) and name in rules:
                rules[name] = {**rules[name], **table}
            else:
                rules[name] = table
        return {**data, "rules": rules}

    @field_validator("rules")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not name.replace("_", "").isalnum():
                raise ValueError(f"rule name {name!r}: use letters, digits and underscores")
        return value

    def enabled_rules(self) -> dict[str, RuleBase]:
        return {name: rule for name, rule in self.rules.items() if rule.enabled}
