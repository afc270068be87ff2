"""The action plan an incident opens with, by the kind of rule that raised it.

Three horizons, as an operator works an incident: what to do now to stop the harm
(immediate), what to do in the coming hours or days to repair (short term), and what to
change so it does not happen again (long term). Each action is data: a kind, the channel
or peer it concerns, the reason. Kinds in :data:`AUTOMATABLE` are reversible policy changes
the runner may carry out alone when the operator's policy lists them; a close is carried
out only once approved; the rest are for a person.
"""

from __future__ import annotations

from collections.abc import Callable

from lnpilot.monitor.config import RuleKind
from lnpilot.store.alerts import Alert, Horizon, IncidentAction
from lnpilot.store.records import JsonValue

RAISE_FEE = "raise_fee"
LOWER_MAX_HTLC = "lower_max_htlc"
DISABLE_CHANNEL = "disable_channel"
CLOSE_CHANNEL = "close_channel"
MANUAL = "manual"

#: Reversible changes to our own channel policy: safe to run without a person.
AUTOMATABLE = frozenset({RAISE_FEE, LOWER_MAX_HTLC, DISABLE_CHANNEL})
#: What the runner can carry out at all (the close only after an approval).
EXECUTABLE = AUTOMATABLE | {CLOSE_CHANNEL}

_I, _S, _L = Horizon.IMMEDIATE, Horizon.SHORT_TERM, Horizon.LONG_TERM


def _act(
    horizon: Horizon, kind: str, description: str, target: dict[str, JsonValue]
) -> IncidentAction:
    return IncidentAction(
        horizon=horizon,
        kind=kind,
        description=description,
        safe=kind in AUTOMATABLE,
        params=dict(target) if kind != MANUAL else {},
    )


def _target(alert: Alert) -> tuple[dict[str, JsonValue], str]:
    """What the actions act on (a channel, else a peer) and how to name it in text."""
    if "scid" in alert.labels:
        return {"scid": alert.labels["scid"]}, f"channel {alert.labels['scid']}"
    if "peer" in alert.labels:
        name = alert.labels.get("peer_alias") or alert.labels["peer"][:16]
        return {"peer": alert.labels["peer"]}, f"the channels with peer {name}"
    return {}, "the node"


def _liquidity(alert: Alert) -> list[IncidentAction]:
    t, what = _target(alert)
    short_of = alert.details.get("short_of") or alert.details.get("side")
    plan = []
    if short_of != "inbound":
        plan += [
            _act(_I, RAISE_FEE, f"Raise the outbound fee of {what} to slow the drain", t),
            _act(_I, LOWER_MAX_HTLC, f"Lower the max HTLC of {what} below its local balance", t),
        ]
    return [
        *plan,
        _act(_S, MANUAL, f"Plan a rebalance of {what} (lnpilot rebalance plan)", t),
        _act(_L, MANUAL, f"Review capacity for {what}: more or larger channels where flow is", t),
    ]


def _peer_trouble(alert: Alert) -> list[IncidentAction]:
    t, what = _target(alert)
    return [
        _act(_I, DISABLE_CHANNEL, f"Disable routing over {what} while the peer misbehaves", t),
        _act(_S, MANUAL, "Contact the peer operator; reconnect once it is back", t),
        _act(_L, CLOSE_CHANNEL, f"Close {what} if the peer stays unreliable (needs approval)", t),
    ]


def _closed(alert: Alert) -> list[IncidentAction]:
    t, what = _target(alert)
    txid = alert.details.get("closing_txid") or "the closing transaction"
    return [
        _act(_I, MANUAL, f"Check {txid} and when the time-locked funds of {what} return", t),
        _act(_I, MANUAL, "Check the peer's other channels and our pending HTLCs", t),
        _act(_S, MANUAL, "Decide where the returning capital goes: reopen or another peer", t),
        _act(_L, MANUAL, "Record why it closed; review the peer before opening to it again", t),
    ]


def _htlc_expiry(alert: Alert) -> list[IncidentAction]:
    t, what = _target(alert)
    return [
        _act(_I, DISABLE_CHANNEL, f"Disable routing over {what}: no new HTLCs onto it", t),
        _act(_I, MANUAL, "Check the peer is connected; keep on-chain funds for a force close", t),
        _act(_S, MANUAL, f"Follow the HTLC until it settles or {what} closes on chain", t),
        _act(_L, LOWER_MAX_HTLC, f"Lower the max HTLC of {what} to bound what can get stuck", t),
    ]


def _backend(alert: Alert) -> list[IncidentAction]:
    backend = alert.labels.get("backend", "the node")
    return [
        _act(_I, MANUAL, f"Check {backend} is running and reachable (process, disk, network)", {}),
        _act(_S, MANUAL, f"Read {backend}'s logs for the cause; restart or fix it", {}),
        _act(_L, MANUAL, "Review uptime: supervision, alerting on the host, a watchtower", {}),
    ]


def _not_synced(alert: Alert) -> list[IncidentAction]:
    return [
        _act(_I, MANUAL, "Check the chain backend (bitcoind) is synced and reachable", {}),
        _act(_S, MANUAL, "Hold channel opens and closes until the node is synced", {}),
        _act(_L, MANUAL, "Review the chain backend's resources and peers", {}),
    ]


def _onchain(alert: Alert) -> list[IncidentAction]:
    needed = alert.details.get("needed_sat")
    return [
        _act(_I, MANUAL, f"Deposit on-chain funds to reach the reserve ({needed} sat)", {}),
        _act(_S, MANUAL, "Hold new channel opens until the reserve is met", {}),
        _act(_L, MANUAL, "Keep the on-chain reserve in the capital plan", {}),
    ]


def _income(alert: Alert) -> list[IncidentAction]:
    return [
        _act(_I, MANUAL, "Look at recent forwards, failed forwards and fee changes", {}),
        _act(_S, MANUAL, "Compare our fees with competing routes; check drained channels", {}),
        _act(_L, MANUAL, "Review the fee strategy and where liquidity sits", {}),
    ]


def _extension(alert: Alert) -> list[IncidentAction]:
    extension = alert.labels.get("extension", "the extension")
    what = alert.details.get("what_to_do", "")
    return [
        _act(_I, MANUAL, f"Check who has {extension} enabled; deactivate it if unsure", {}),
        _act(_S, MANUAL, f"{what}", {}),
        _act(
            _L,
            MANUAL,
            f"Watch for a fixed {extension} release; re-run lnpilot extensions check",
            {},
        ),
    ]


_PLANS: dict[RuleKind, Callable[[Alert], list[IncidentAction]]] = {
    RuleKind.UTILISATION: _liquidity,
    RuleKind.RATIO_BAND: _liquidity,
    RuleKind.DEPLETION_FORECAST: _liquidity,
    RuleKind.FAILED_FORWARDS: _liquidity,
    RuleKind.CHANNEL_INACTIVE: _peer_trouble,
    RuleKind.PEER_OFFLINE: _peer_trouble,
    RuleKind.PEER_FLAPPING: _peer_trouble,
    RuleKind.CHANNEL_CLOSED: _closed,
    RuleKind.HTLC_EXPIRY: _htlc_expiry,
    RuleKind.NODE_UNREACHABLE: _backend,
    RuleKind.NODE_SLOW: _backend,
    RuleKind.NODE_NOT_SYNCED: _not_synced,
    RuleKind.ONCHAIN_RESERVE: _onchain,
    RuleKind.FEE_INCOME_ANOMALY: _income,
    RuleKind.EXTENSION_INSECURE: _extension,
}


def plan_for(kind: RuleKind, alert: Alert) -> list[IncidentAction]:
    """The three-horizon plan for an incident raised by ``alert`` of a rule of ``kind``."""
    return _PLANS[kind](alert)
