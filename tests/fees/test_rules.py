"""Which rule a channel lands on, what it inherits, and why the rules above did not apply."""

from __future__ import annotations

from lnpilot.fees.matchers import channel_groups, evaluate
from lnpilot.fees.policy import Match
from lnpilot.fees.rules import resolve

from .factories import DAY_S, PEER_A, PEER_B, channel, inputs, plan_inputs, policy, window

LADDER = policy(
    """
    [groups]
    exchanges = ["PEER_B"]
    [[rule]]
    name = "defaults"
    max_fee_rate_ppm = 2000
    flow_adaptive = { step_pct = 7, band_low = 0.2 }
    [[rule]]
    name = "big"
    match.capacity_sat = { min = 5_000_000 }
    flow_adaptive = { step_pct = 3 }
    max_fee_rate_ppm = 3000
    [[rule]]
    name = "exchanges"
    match.group = "exchanges"
    strategy = "proportional"
    [[rule]]
    name = "drained"
    match.local_ratio = { max = 0.1 }
    match.liquidity_failures = { window = "1d", min = 2 }
    strategy = "static"
    static.fee_rate_ppm = 900
    [[rule]]
    name = "default"
    strategy = "flow_adaptive"
    [channel."800000x9x0"]
    strategy = "static"
    static.fee_rate_ppm = 11
    groups = ["exchanges"]
    """.replace("PEER_B", PEER_B)
)


def test_first_matching_rule_with_a_strategy_wins_and_earlier_defaults_cascade() -> None:
    big = inputs(channel(capacity_sat=8_000_000, local_sat=4_000_000))
    found = resolve(LADDER, big, plan_inputs(big))
    assert found.rule == "default"
    assert found.defaults_from == ("defaults", "big")
    settings = found.settings
    assert settings.max_fee_rate_ppm == 3000
    assert settings.flow_adaptive is not None
    # parameter tables merge key by key: step from "big", band from "defaults"
    assert (settings.flow_adaptive.step_pct, settings.flow_adaptive.band_low) == (3, 200)
    assert [name for name, _ in found.passed] == ["exchanges", "drained"]


def test_the_reasons_say_why_each_rule_above_did_not_apply() -> None:
    drained = inputs(channel(local_sat=50_000), windows={DAY_S: window(failures=1)})
    found = resolve(LADDER, drained, plan_inputs(drained))
    assert found.rule == "default"
    assert dict(found.passed) == {
        "big": "capacity_sat 1000000 is not >= 5000000",
        "exchanges": "not in group exchanges",
        "drained": "liquidity_failures(1d) 1 is not >= 2",
    }


def test_a_match_lists_every_condition_that_held() -> None:
    drained = inputs(channel(local_sat=50_000), windows={DAY_S: window(failures=3)})
    found = resolve(LADDER, drained, plan_inputs(drained))
    assert found.rule == "drained"
    assert found.matched == (
        "local_ratio 0.05 is <= 0.1",
        "liquidity_failures(1d) 3 is >= 2",
    )


def test_unknown_history_never_matches() -> None:
    unwatched = inputs(channel(local_sat=50_000), windows={DAY_S: window(failures=None)})
    found = resolve(LADDER, unwatched, plan_inputs(unwatched))
    assert found.rule == "default"
    assert dict(found.passed)["drained"] == (
        "liquidity_failures(1d) unknown: failed forwards not observed over the whole window"
    )


def test_groups_by_peer_by_channel_id_and_by_override() -> None:
    by_peer = inputs(channel(2, peer=PEER_B))
    by_override = inputs(channel(9))
    assert channel_groups(LADDER, by_peer) == {"exchanges"}
    assert channel_groups(LADDER, by_override) == {"exchanges"}
    assert resolve(LADDER, by_peer, plan_inputs(by_peer)).rule == "exchanges"


def test_an_override_goes_on_top_of_the_winning_rule() -> None:
    pinned = inputs(channel(9))
    found = resolve(LADDER, pinned, plan_inputs(pinned))
    assert found.rule == "exchanges"
    assert found.settings.strategy == "static"
    assert found.settings.static is not None and found.settings.static.fee_rate_ppm == 11
    assert found.settings.max_fee_rate_ppm == 2000


def test_matchers_each_condition() -> None:
    chan = inputs(
        channel(local_sat=300_000, alias="Bitrefill Node"),
        windows={7 * DAY_S: window(4, 40_000, forwards_in=1, volume_in_sat=10_000)},
        uptime={7 * DAY_S: 990},
    )
    other = inputs(channel(2, local_sat=900_000))
    plan = plan_inputs(chan, other, onchain_fee_rate=12)

    def holds(**conditions: object) -> bool:
        return evaluate(Match.model_validate(conditions), chan, plan, frozenset()).matched

    assert holds(channel=["800000x1x0"]) and not holds(channel="800000x2x0")
    assert holds(peer=PEER_A) and not holds(peer=PEER_B)
    assert holds(alias="bitrefill*") and not holds(alias=["acinq*", "*lnd*"])
    assert holds(local_ratio={"min": 0.3, "max": 0.3})
    assert holds(peer_local_ratio={"min": 0.6}) and not holds(peer_local_ratio={"max": 0.5})
    assert holds(age_days={"min": 69}) and not holds(age_days={"min": 70})
    assert holds(activity={"window": "7d", "forwards_out": {"min": 4}, "out_share": {"min": 0.8}})
    assert not holds(activity={"window": "1d", "forwards_out": {"min": 0}})  # not covered
    assert holds(peer_uptime={"window": "7d", "min": 0.99})
    assert not holds(peer_uptime={"window": "30d", "min": 0.0})
    assert holds(onchain_fee_rate={"max": 12}) and not holds(onchain_fee_rate={"min": 13})


def test_an_unknown_alias_or_fee_rate_does_not_match() -> None:
    chan = inputs(channel(alias=None))
    plan = plan_inputs(chan)
    assert evaluate(Match(alias=["*"]), chan, plan, frozenset()).reasons == ("peer alias unknown",)
    verdict = evaluate(
        Match.model_validate({"onchain_fee_rate": {"max": 5}}), chan, plan, frozenset()
    )
    assert verdict.reasons == ("on-chain fee rate unknown",)
