"""``lnpilot fees import charge-lnd``: charge-lnd's own published examples, converted.

The configurations below are the examples of charge-lnd's README and ``examples/`` folder
(github.com/accumulator/charge-lnd), as published; each converted policy is planned on
hand-made channels to show it prices them as charge-lnd's rules say.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lnpilot.base.domain import PolicyUpdate
from lnpilot.cli.main import app
from lnpilot.fees.charge_lnd import ConversionError, convert
from lnpilot.fees.inputs import ChannelInputs
from lnpilot.fees.planner import Action, plan
from lnpilot.fees.policy import parse_policy

from .factories import PEER_A, channel, inputs, plan_inputs

# README, "A simple example" and "Example with inbound fees"
README_SIMPLE = """
[example-policy]
chan.min_capacity = 500000
strategy = static
base_fee_msat = 1000
fee_ppm = 10
"""
README_INBOUND = README_SIMPLE.replace(
    "fee_ppm = 10", "fee_ppm = 2000\ninbound_base_fee_msat = -500\ninbound_fee_ppm = -1000"
)
# README, "Non-final policies"
README_NON_FINAL = """
[mydefaults]
chan.max_capacity = 5_000_000
min_fee_ppm_delta = 10
base_fee_msat = 2000

[someotherpolicy]
chan.min_capacity = 500_000
strategy = static
fee_ppm = 50
"""
# README, "Maintain a friends list with lower fees"
README_FRIENDS = """
[friends]
node.id = file:///home/lnd/friends.list
strategy = static
base_fee_msat = 10
fee_ppm = 10
"""
# examples/all-channels-proportional.config
ALL_PROPORTIONAL = """
# all channels fees according to ratio to auto-balance
# fees are updated when fee delta >= 10

[default]
strategy = proportional
base_fee_msat = 1000
min_fee_ppm = 100
max_fee_ppm = 300
min_fee_ppm_delta = 10
"""
# examples/incentivise-low-flow.config
LOW_FLOW = """
# all channels same static fees
# no outgoing activity in 14 days: 50 ppm
# low outgoing activity in 7 days: 100 ppm

[default]
strategy = static
fee_ppm = 200

[very-low-out-flow]
chan.activity_period=14d
chan.max_htlcs_out = 0
strategy = static
fee_ppm = 50

[low-out-flow]
chan.activity_period=7d
chan.max_htlcs_out = 1
strategy = static
fee_ppm = 100
"""
# examples/static-but-incentivise-extremes.config
EXTREMES = """
[default]
strategy = static
fee_ppm = 200

[mydefaults]
base_fee_msat = 1000
min_fee_ppm_delta = 10

[very-low-local-balance]
chan.max_local_balance = 30_000
strategy = disable

[low-local-balance]
chan.max_ratio = 0.1
strategy = static
fee_ppm = 300

[high-local-balance]
chan.min_ratio = 0.9
strategy = static
fee_ppm = 100
"""


def planned(toml: str, *chans: ChannelInputs) -> list[PolicyUpdate]:
    widened = (
        "[safety]\nmax_step_pct = 1000\nmax_step_floor_ppm = 100000\n"
        "max_base_step_msat = 100000\nhysteresis_pct = 0\nhysteresis_ppm = 0\n" + toml
    )
    found = plan(parse_policy(widened), plan_inputs(*chans))
    return [d.proposal for d in found.decisions]


def test_the_readme_simple_example_prices_big_channels_and_leaves_the_others() -> None:
    toml = convert(README_SIMPLE).toml
    assert "match.capacity_sat = { min = 500000 }" in toml
    big = inputs(channel(1, capacity_sat=1_000_000, fee_rate_ppm=100))
    small = inputs(channel(2, capacity_sat=400_000, local_sat=200_000, fee_rate_ppm=100))
    # big: static 10 ppm and 1 sat base; small matches nothing: no [default], left alone
    assert planned(toml, big, small) == [
        PolicyUpdate(fee_rate_ppm=10, base_fee_msat=1000),
        PolicyUpdate(),
    ]


def test_the_readme_inbound_example_sets_the_inbound_discount() -> None:
    toml = convert(README_INBOUND).toml
    big = inputs(channel(1, fee_rate_ppm=100))
    assert planned(toml, big) == [
        PolicyUpdate(
            fee_rate_ppm=2000,
            base_fee_msat=1000,
            inbound_fee_rate_ppm=-1000,
            inbound_base_fee_msat=-500,
        )
    ]


def test_the_readme_non_final_policy_lends_its_defaults() -> None:
    toml = convert(README_NON_FINAL).toml
    # 1M sat matches both: 2 sat base from mydefaults, 50 ppm; delta 10 from mydefaults
    matched = inputs(channel(1, capacity_sat=1_000_000, fee_rate_ppm=100))
    near = inputs(channel(2, capacity_sat=1_000_000, fee_rate_ppm=55))
    huge = inputs(channel(3, capacity_sat=6_000_000, local_sat=3_000_000, fee_rate_ppm=100))
    # huge: not in mydefaults (> 5M), so 50 ppm without the 2 sat base and without a delta
    assert planned(toml, matched, near, huge) == [
        PolicyUpdate(fee_rate_ppm=50, base_fee_msat=2000),
        PolicyUpdate(base_fee_msat=2000),  # 55 → 50 is below the delta of 10: kept
        PolicyUpdate(fee_rate_ppm=50),
    ]


def test_proportional_example_keeps_its_delta() -> None:
    toml = convert(ALL_PROPORTIONAL).toml
    assert "min_fee_ppm_delta = 10" in toml
    # ratio 0.25: 100 + 0.75 × 200 = 250; current 245 is within the delta: kept
    moved = inputs(channel(1, local_sat=250_000, fee_rate_ppm=200, base_fee_msat=1000))
    kept = inputs(channel(2, local_sat=250_000, fee_rate_ppm=245, base_fee_msat=1000))
    assert planned(toml, moved, kept) == [PolicyUpdate(fee_rate_ppm=250), PolicyUpdate()]


def test_proportional_without_a_delta_gets_charge_lnds_default_of_10() -> None:
    converted = convert(ALL_PROPORTIONAL.replace("min_fee_ppm_delta = 10\n", ""))
    assert "min_fee_ppm_delta = 10" in converted.toml
    assert any("charge-lnd's own default" in note for note in converted.notes)


def test_the_low_flow_example_becomes_activity_rules_with_default_last() -> None:
    converted = convert(LOW_FLOW)
    policy = parse_policy(converted.toml)
    assert [r.name for r in policy.rule] == ["very-low-out-flow", "low-out-flow", "default"]
    activity = policy.rule[0].match.activity
    assert activity is not None and activity.window_s == 14 * 86_400
    assert activity.forwards_out is not None and activity.forwards_out.max == 0


def test_what_cannot_be_expressed_is_named_all_at_once() -> None:
    with pytest.raises(ConversionError) as raised:
        convert(EXTREMES + README_FRIENDS, "extremes.config")
    assert raised.value.problems == [
        "extremes.config: [very-low-local-balance] chan.max_local_balance: this matcher has "
        "no lnpilot equivalent",
        "extremes.config: [very-low-local-balance] strategy: 'disable' has no lnpilot "
        "equivalent; importable: static, proportional, cost, ignore, ignore_fees",
        "extremes.config: [friends] node.id: file references (file:///home/lnd/friends.list) "
        "cannot be imported: list the ids in the charge-lnd file, or in a [groups] entry of "
        "fees.toml",
        "extremes.config: importable matchers: " + ", ".join(sorted(MATCHERS_SHOWN)),
    ]


MATCHERS_SHOWN = {
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
    "chan.min_htlcs_in",
    "chan.max_htlcs_in",
    "chan.min_htlcs_out",
    "chan.max_htlcs_out",
    "chan.min_sats_in",
    "chan.max_sats_in",
    "chan.min_sats_out",
    "chan.max_sats_out",
}


def test_cost_needs_the_opening_fee_and_channel_ids_become_scids() -> None:
    config = (
        "[recover]\nchan.id = 636374x680x1, 699769881923682305\nstrategy = cost\n"
        "cost_factor = 1.5\n"
    )
    with pytest.raises(ConversionError, match="give it with --open-cost-sat"):
        convert(config)
    toml = convert(config, open_cost_sat=1540).toml
    assert 'match.channel = ["636374x680x1", "636437x1172x1"]' in toml
    assert "cost = { cost_factor_pct = 150, open_cost_sat = 1540 }" in toml


def test_the_cli_writes_the_policy_and_refuses_to_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "charge-lnd.config"
    source.write_text(ALL_PROPORTIONAL)
    out = tmp_path / "fees.toml"
    runner = CliRunner()
    done = runner.invoke(app, ["fees", "import", "charge-lnd", str(source), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert parse_policy(out.read_text()).rule[0].strategy == "proportional"
    again = runner.invoke(app, ["fees", "import", "charge-lnd", str(source), "-o", str(out)])
    assert again.exit_code == 2
    assert "exists; pass --force" in again.output
    source.write_text(EXTREMES)
    bad = runner.invoke(app, ["fees", "import", "charge-lnd", str(source)])
    assert bad.exit_code == 2
    assert "'disable' has no lnpilot equivalent" in bad.output


def test_unmatched_channels_are_left_alone_without_a_default() -> None:
    toml = convert(README_SIMPLE).toml
    decision = plan(
        parse_policy(toml),
        plan_inputs(inputs(channel(1, capacity_sat=100_000, local_sat=50_000, peer=PEER_A))),
    ).decisions[0]
    assert decision.action is Action.NONE and decision.rule == "default"
    assert "ignore: the fee rate is left as it is" in decision.reason
