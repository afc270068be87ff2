"""Alertmanager-style label matchers: silences are stored as matchers, and both the alert
engine (silences, inhibition) and the notifier (routes) match labels this one way."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    """One Alertmanager-style label matcher: ``name=value``, ``!=``, ``=~regex``, ``!~regex``.

    Regexes are anchored (the whole value must match), as in Alertmanager. A label that is
    absent matches as the empty string, so ``scid!=`` means "has a scid".
    """

    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"matcher operator must be =, !=, =~ or !~, got {self.op!r}")
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"bad regex in matcher {self}: {exc}") from None

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``name=value`` (quotes around the value are optional); ValueError says why not."""
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(f"matcher {text!r} must look like name=value, !=, =~ or !~")
        name, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        return cls(name, op, value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        full = re.fullmatch(self.value, actual) is not None
        return full if self.op == "=~" else not full

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def all_match(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
