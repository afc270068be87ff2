"""The alert lifecycle's rules, as properties over arbitrary histories (pure functions, no I/O).

Pending must hold for the rule's duration; deduplication by labels; silences apply only
while in force; inhibition follows its source; a group is notified once per change, re-sent
only after the repeat interval, and each notified alert gets exactly one resolved notice.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lnpilot.monitor.config import DEFAULT_INHIBIT, Grouping
from lnpilot.monitor.lifecycle import Observation, advance, fingerprint, plan_notices, suppress
from lnpilot.store.alerts import Alert, AlertStatus, GroupState, Matcher, Silence
from lnpilot.store.outbox import Notice, Severity

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NODE = "02" + "ab" * 32


def obs(rule: str = "peer_offline", hold_s: float = 300, **labels: str) -> Observation:
    full = {"alertname": rule, "node": NODE, "severity": "warning", **labels}
    return Observation(rule, Severity.WARNING, full, f"{rule} {labels}", hold_s)


class Engine:
    """Runs the pure steps the way the engine does, keeping the state in memory."""

    def __init__(self, grouping: Grouping | None = None) -> None:
        self.open: list[Alert] = []
        self.episodes: dict[str, Alert] = {}
        self.groups: dict[str, GroupState] = {}
        self.grouping = grouping or Grouping(group_wait_s=0, group_interval_s=300)
        self.ids = itertools.count(1)
        self.notices: list[Notice] = []

    def step(
        self,
        now: datetime,
        observed: list[Observation],
        silences: tuple[Silence, ...] = (),
        evaluated: set[str] | None = None,
    ) -> list[Alert]:
        rules = (
            evaluated
            if evaluated is not None
            else {o.rule for o in observed} | {a.rule for a in self.open}
        )
        moved = advance(self.open, observed, rules, now)
        current = suppress(moved.current, silences, DEFAULT_INHIBIT, now)
        current = [a if a.id is not None else replace(a, id=next(self.ids)) for a in current]
        for alert in current:
            self.episodes[alert.fingerprint] = alert
        self.open = [a for a in current if a.status is not AlertStatus.RESOLVED]
        notifiable = [a for a in current if a.status is AlertStatus.FIRING and not a.suppressed]
        plan = plan_notices(self.groups, notifiable, self.episodes, self.grouping, now)
        for key in plan.drop:
            del self.groups[key]
        self.groups.update({g.group_key: g for g in plan.save})
        self.notices += plan.notices
        return current


@settings(max_examples=200, deadline=None)
@given(
    holds=st.lists(st.booleans(), min_size=1, max_size=40),
    step_s=st.integers(min_value=1, max_value=400),
    hold_s=st.integers(min_value=0, max_value=1200),
)
def test_an_alert_fires_only_after_its_condition_held_for_the_whole_duration(
    holds: list[bool], step_s: int, hold_s: int
) -> None:
    engine = Engine()
    run_start: datetime | None = None
    for i, held in enumerate(holds):
        now = T0 + timedelta(seconds=i * step_s)
        current = engine.step(now, [obs(hold_s=hold_s, peer="p")] if held else [])
        run_start = (run_start or now) if held else None
        statuses = {a.status for a in current if a.status is not AlertStatus.RESOLVED}
        if not held:
            assert statuses == set(), "a condition that stops ends pending and firing alike"
        elif now - run_start >= timedelta(seconds=hold_s):
            assert statuses == {AlertStatus.FIRING}
        else:
            assert statuses == {AlertStatus.PENDING}, "fired before holding for its duration"


def test_a_pending_alert_that_stops_is_forgotten_and_starts_over() -> None:
    engine = Engine()
    engine.step(T0, [obs(peer="p")])
    engine.step(T0 + timedelta(seconds=200), [])
    current = engine.step(T0 + timedelta(seconds=400), [obs(peer="p")])
    assert [a.status for a in current] == [AlertStatus.PENDING]
    assert current[0].active_since == T0 + timedelta(seconds=400)


def test_same_labels_are_one_alert_and_display_labels_do_not_split_it() -> None:
    engine = Engine()
    a = obs(hold_s=0, peer="p", peer_alias="old")
    b = obs(hold_s=0, peer="p", peer_alias="new name")
    current = engine.step(T0, [a, b, a])
    assert len(current) == 1
    later = engine.step(T0 + timedelta(minutes=1), [b])
    assert later[0].id == current[0].id, "the same alert carries on, not a new one"
    assert fingerprint(a.labels) == fingerprint(b.labels)


def test_an_unevaluated_rule_keeps_its_alerts_as_they_are() -> None:
    """A rule that failed (no data) is not a recovery: nothing resolves."""
    engine = Engine()
    engine.step(T0, [obs(hold_s=0, peer="p")])
    current = engine.step(T0 + timedelta(minutes=1), [], evaluated=set())
    assert [a.status for a in current] == [AlertStatus.FIRING]


@settings(max_examples=100, deadline=None)
@given(
    start_min=st.integers(min_value=0, max_value=60),
    length_min=st.integers(min_value=1, max_value=60),
    probe_min=st.integers(min_value=0, max_value=150),
)
def test_a_silence_suppresses_only_while_in_force(
    start_min: int, length_min: int, probe_min: int
) -> None:
    silence = Silence(
        1,
        (Matcher.parse("peer=p"),),
        T0 + timedelta(minutes=start_min),
        T0 + timedelta(minutes=start_min + length_min),
        "t",
        "",
    )
    firing = Alert(
        fingerprint="f",
        rule="peer_offline",
        severity=Severity.WARNING,
        status=AlertStatus.FIRING,
        labels={"alertname": "peer_offline", "peer": "p"},
        summary="",
        active_since=T0,
        last_seen_at=T0,
    )
    now = T0 + timedelta(minutes=probe_min)
    [out] = suppress([firing], [silence], (), now)
    in_force = start_min <= probe_min < start_min + length_min
    assert (out.suppressed == "silence:1") is in_force


def test_node_unreachable_inhibits_its_channel_alerts_until_it_resolves() -> None:
    engine = Engine()
    unreachable = obs("node_unreachable", hold_s=0, scope="backend", backend="lnd-rest")
    drained = obs("liquidity_out_of_band", hold_s=0, scope="channel", scid="1x1x1", peer="p")
    other_node = Observation(
        "liquidity_out_of_band",
        Severity.WARNING,
        {**drained.labels, "node": "03" + "cd" * 32},
        "other node",
        0,
    )
    current = engine.step(T0, [unreachable, drained, other_node])
    by_node = {(a.rule, a.labels["node"]): a.suppressed for a in current}
    assert by_node[("liquidity_out_of_band", NODE)] == "inhibited:node_unreachable"
    assert by_node[("liquidity_out_of_band", other_node.labels["node"])] is None
    assert by_node[("node_unreachable", NODE)] is None, "a source never inhibits itself"
    later = engine.step(T0 + timedelta(minutes=1), [drained, other_node])
    assert all(a.suppressed is None for a in later)


def test_peer_offline_inhibits_only_that_peers_inactive_channels() -> None:
    engine = Engine()
    current = engine.step(
        T0,
        [
            obs("peer_offline", hold_s=0, scope="peer", peer="p"),
            obs("channel_inactive", hold_s=0, scope="channel", scid="1x1x1", peer="p"),
            obs("channel_inactive", hold_s=0, scope="channel", scid="2x2x2", peer="q"),
        ],
    )
    suppressed = {a.labels.get("scid"): a.suppressed for a in current}
    assert suppressed == {None: None, "1x1x1": "inhibited:peer_offline", "2x2x2": None}


@settings(max_examples=150, deadline=None)
@given(
    flips=st.lists(
        st.tuples(st.sampled_from(["p", "q", "r"]), st.booleans()), min_size=1, max_size=30
    ),
    step_s=st.integers(min_value=30, max_value=1800),
)
def test_notices_tell_each_change_once_and_each_resolution_once(
    flips: list[tuple[str, bool]], step_s: int
) -> None:
    grouping = Grouping(group_wait_s=60, group_interval_s=300, repeat_interval_s=3600)
    engine = Engine(grouping)
    up: set[str] = set()
    for i, (peer, on) in enumerate([*flips, *[("p", False), ("q", False), ("r", False)]]):
        (up.add if on else up.discard)(peer)
        engine.step(T0 + timedelta(seconds=i * step_s), [obs(hold_s=0, peer=p) for p in sorted(up)])
    for j in range(1, 20):  # let pending resolved notices go out
        engine.step(T0 + timedelta(seconds=len(flips) * step_s + 3 + j * 600), [])
    last: datetime | None = None
    told: dict[str, list[str]] = {}
    for notice in engine.notices:
        if last is not None:
            assert notice.created_at - last >= timedelta(seconds=300), "group_interval kept"
        last = notice.created_at
        for alert in notice.alerts:
            statuses = told.setdefault(alert.fingerprint, [])
            if not statuses or statuses[-1] != alert.status:
                statuses.append(alert.status)
            else:
                assert alert.status == "firing", "one resolved notice per resolution"
    for statuses in told.values():
        # firing (repeats allowed), then resolved once, and so on; ending resolved
        assert statuses[0] == "firing", "a resolved notice for an alert never notified"
        assert statuses[-1] == "resolved", "every notified alert is told resolved"
    assert engine.groups == {}, "nothing left to tell"


def test_an_unchanged_group_is_repeated_only_after_the_repeat_interval() -> None:
    grouping = Grouping(group_wait_s=30, group_interval_s=300, repeat_interval_s=3600)
    engine = Engine(grouping)
    for minute in range(0, 125):
        engine.step(T0 + timedelta(minutes=minute), [obs(hold_s=0, peer="p")])
    times = [(n.created_at - T0).total_seconds() / 60 for n in engine.notices]
    assert times == [1, 61, 121], "after group_wait, then every repeat_interval"
