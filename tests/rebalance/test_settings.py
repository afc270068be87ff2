"""The ``[rebalance]`` part of the fee policy file: defaults, layers, and errors that name keys."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lnpilot.fees import parse_policy
from lnpilot.rebalance import SettingsError, load_settings, parse_settings

from .conftest import channel, pubkey

EXAMPLE_FEES = Path(__file__).resolve().parents[2] / "examples" / "fees.toml"

GROUPS = f"""
[groups]
exchanges = ["{pubkey(7)}", "800000x9x0"]
"""
REBALANCE = """
[rebalance]
target_pct = 50
band_pct = 20
fee_factor_pct = 40
max_fee_ppm = 1500

[rebalance.budget]
daily_sat = 500
monthly_sat = 5_000
earned_share_pct = 30
earned_window_days = 14

[[rebalance.rule]]
name = "exchanges"
match.group = "exchanges"
target_pct = 70
direction = "source"

[[rebalance.rule]]
name = "shops"
match.alias = "shop*"
band_pct = 10

[rebalance.channel."800000x3x0"]
enabled = false

[rebalance.channel."800000x7x0"]
band_pct = 5
"""
SECTION = GROUPS + REBALANCE


def test_no_section_means_the_documented_defaults() -> None:
    settings = parse_settings("")
    target = settings.for_channel(channel(1, local_pct=50))
    assert (target.enabled, target.target_pct, target.band_pct, target.direction) == (
        True,
        50,
        20,
        "auto",
    )
    assert (target.fee_factor_pct, target.max_fee_ppm, target.min_amount_sat) == (50, 2000, 20_000)
    budget = settings.budget
    assert (budget.daily_sat, budget.monthly_sat, budget.earned_share_pct) == (1000, 10_000, 50)
    assert settings.digest == parse_settings("[rebalance]\n").digest


def test_layers_defaults_then_first_matching_rule_then_the_channel() -> None:
    settings = parse_settings(SECTION)
    exchange = settings.for_channel(channel(7, local_pct=50))  # its peer is in the group
    assert (exchange.rule, exchange.target_pct, exchange.direction) == ("exchanges", 70, "source")
    assert exchange.fee_factor_pct == 40 and exchange.band_pct == 5  # the channel's override
    by_scid = settings.for_channel(channel(9, local_pct=50))  # the channel is in the group
    assert by_scid.rule == "exchanges"
    shop = settings.for_channel(channel(4, local_pct=50, peer=4))
    assert shop.rule is None
    named = settings.for_channel(replace(channel(4, local_pct=50), peer_alias="shop-eu"))
    assert (named.rule, named.band_pct) == ("shops", 10)
    assert settings.for_channel(channel(3, local_pct=50)).enabled is False
    assert settings.budget.earned_window_days == 14


def test_a_lower_ceiling_caps_an_inherited_first_amount() -> None:
    settings = parse_settings(
        '[rebalance]\namount_pct = 20\n[rebalance.channel."800000x1x0"]\nmax_amount_pct = 5\n'
    )
    assert settings.for_channel(channel(1, local_pct=50)).amount_pct == 5


def test_it_reads_beside_the_fee_policy_of_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "fees.toml"
    path.write_text(EXAMPLE_FEES.read_text() + REBALANCE)
    settings = load_settings(path)
    exchanges = "03cde60a6323f7122d5178255766e38114b4722ede08f7c9e0c5df9b912cc201d6"
    target = settings.for_channel(replace(channel(5, local_pct=50), peer_pubkey=exchanges))
    assert target.rule == "exchanges"  # the fee file's own [groups]
    assert parse_policy(path.read_text()).rule  # and the fee engine reads the same file


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "[rebalance]\ntarget_pct = 120\n",
            "rebalance.target_pct = 120: Input should be less than or equal to 100",
        ),
        ("[rebalance]\nband = 20\n", "rebalance.band: unknown key"),
        ("[rebalance.budget]\ndaily_sats = 1\n", "rebalance.budget.daily_sats: unknown key"),
        (
            '[rebalance]\ndirection = "up"\n',
            "rebalance.direction = 'up': Input should be 'auto', 'sink', 'source' or 'balanced'",
        ),
        (
            '[[rebalance.rule]]\nname = "x"\nmatch.peer = "02ab"\n',
            "rebalance.rule.0.match.peer.0 = '02ab': a node pubkey",
        ),
        (
            '[[rebalance.rule]]\nname = "x"\nmatch.group = "nope"\n',
            "rebalance.rule 'x': match.group 'nope' is not in [groups]",
        ),
        (
            '[[rebalance.rule]]\nname = "x"\n[[rebalance.rule]]\nname = "x"\n',
            "rule 'x': the name is used twice",
        ),
        (
            '[rebalance.channel."8x1"]\nenabled = false\n',
            "channel '8x1': short channel id must look like BLOCKxTXxOUT",
        ),
        (
            "[rebalance]\namount_pct = 30\nmax_amount_pct = 20\n",
            "rebalance: amount_pct (30) is above max_amount_pct",
        ),
        ("[rebalance\n", "not valid TOML"),
    ],
)
def test_problems_name_the_key_and_what_is_allowed(text: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(text, "fees.toml")
    assert any(problem in line for line in caught.value.problems), caught.value.problems
    assert all(line.startswith("fees.toml: ") for line in caught.value.problems)


def test_an_unreadable_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
