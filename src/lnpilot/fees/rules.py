"""Which rule prices a channel, and with which settings once defaults and overrides are in.

Rules are read top to bottom. A matching rule without a strategy lends its settings to the
rules below it (for this channel); the first matching rule that names a strategy wins and
ends the search; the channel's own override, if any, goes on top of the result. Inside a
parameter table (``flow_adaptive``, ``cost``, ...) keys merge one by one, so a later rule
that changes one parameter keeps the others it inherited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from lnpilot.fees.inputs import ChannelInputs, PlanInputs
from lnpilot.fees.matchers import channel_groups, evaluate
from lnpilot.fees.policy import ChannelOverride, PolicyFile, RuleSettings

_SETTINGS = tuple(RuleSettings.model_fields)


@dataclass(frozen=True)
class Resolution:
    """The outcome of reading the rules for one channel.

    ``matched`` says why the winning rule matched; ``passed`` lists each rule above it
    that did not apply, with the first condition that failed.
    """

    rule: str
    settings: RuleSettings
    override: ChannelOverride | None
    defaults_from: tuple[str, ...]
    matched: tuple[str, ...]
    passed: tuple[tuple[str, str], ...]

    @property
    def unmanaged(self) -> bool:
        return self.override is not None and self.override.unmanaged


def merge(base: RuleSettings, over: RuleSettings) -> RuleSettings:
    """``base`` with every setting ``over`` sets explicitly; parameter tables key by key."""
    update: dict[str, Any] = {}
    for name in _SETTINGS:
        if name not in over.model_fields_set:
            continue
        value = getattr(over, name)
        previous = getattr(base, name)
        if isinstance(value, BaseModel) and isinstance(previous, BaseModel):
            value = previous.model_copy(
                update={key: getattr(value, key) for key in value.model_fields_set}
            )
        update[name] = value
    return base.model_copy(update=update)


def resolve(policy: PolicyFile, inputs: ChannelInputs, plan: PlanInputs) -> Resolution:
    """The rule and settings for one channel (the last rule always matches: validated)."""
    groups = channel_groups(policy, inputs)
    settings = RuleSettings()
    defaults_from: list[str] = []
    passed: list[tuple[str, str]] = []
    for rule in policy.rule:
        verdict = evaluate(rule.match, inputs, plan, groups)
        if not verdict.matched:
            passed.append((rule.name, verdict.reasons[0]))
            continue
        settings = merge(settings, rule)
        if rule.strategy is None:
            defaults_from.append(rule.name)
            continue
        override = policy.channel.get(inputs.channel.scid or "")
        if override is not None:
            settings = merge(settings, override)
        return Resolution(
            rule=rule.name,
            settings=settings,
            override=override,
            defaults_from=tuple(defaults_from),
            matched=verdict.reasons,
            passed=tuple(passed),
        )
    raise AssertionError("the policy's last rule matches every channel (checked at load)")
