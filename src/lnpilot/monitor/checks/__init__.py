"""The evaluators, one per rule kind: each reads the store through a :class:`Context` and
returns a :class:`Finding` for every subject its condition holds for right now. Holding the
condition long enough, grouping, silencing and notifying are the lifecycle's business."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lnpilot.monitor.checks import channels, income, node, peers
from lnpilot.monitor.checks.base import Context, Finding
from lnpilot.monitor.config import RuleKind

Check = Callable[[Context, Any], Awaitable[list[Finding]]]

CHECKS: dict[RuleKind, Check] = {
    RuleKind.UTILISATION: channels.utilisation,
    RuleKind.RATIO_BAND: channels.ratio_band,
    RuleKind.DEPLETION_FORECAST: channels.depletion_forecast,
    RuleKind.CHANNEL_INACTIVE: channels.channel_inactive,
    RuleKind.CHANNEL_CLOSED: channels.channel_closed,
    RuleKind.FAILED_FORWARDS: channels.failed_forwards,
    RuleKind.PEER_OFFLINE: peers.peer_offline,
    RuleKind.PEER_FLAPPING: peers.peer_flapping,
    RuleKind.HTLC_EXPIRY: node.htlc_expiry,
    RuleKind.NODE_UNREACHABLE: node.node_unreachable,
    RuleKind.NODE_SLOW: node.node_slow,
    RuleKind.NODE_NOT_SYNCED: node.node_not_synced,
    RuleKind.ONCHAIN_RESERVE: node.onchain_reserve,
    RuleKind.EXTENSION_INSECURE: node.extension_insecure,
    RuleKind.FEE_INCOME_ANOMALY: income.fee_income_anomaly,
}

__all__ = ["CHECKS", "Check", "Context", "Finding"]
