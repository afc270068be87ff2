"""The policy file: what it accepts, and errors that name the rule, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lnpilot.fees.policy import PolicyError, load_policy, parse_policy
from lnpilot.fees.values import format_duration

EXAMPLE = Path(__file__).parents[2] / "examples" / "fees.toml"
DEFAULT = '[[rule]]\nname = "default"\nstrategy = "flow_adaptive"\n'


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "fees.toml")
    return caught.value.problems


def test_the_example_policy_is_valid() -> None:
    policy = load_policy(EXAMPLE)
    assert [r.name for r in policy.rule][-1] == "default"
    assert policy.channel["800000x2x0"].unmanaged
    assert len(policy.digest) == 64


def test_the_rebalancers_part_of_the_file_is_left_to_it() -> None:
    policy = parse_policy(
        DEFAULT + "[rebalance]\ntarget_pct = 50\n[[rebalance.rule]]\nname = 'x'\n"
    )
    assert policy.rebalance["target_pct"] == 50


def test_units_are_converted_at_load() -> None:
    policy = parse_policy(
        """
        [safety]
        min_interval = "90m"
        [[rule]]
        name = "low"
        match.local_ratio = { max = 0.25 }
        match.activity = { window = "2d", forwards_out = { max = 0 } }
        strategy = "static"
        static.fee_rate_ppm = 10
        """
        + DEFAULT
    )
    assert policy.safety.min_interval_s == 5400
    match = policy.rule[0].match
    assert match.local_ratio is not None and match.local_ratio.max == 250
    assert match.activity is not None and match.activity.window_s == 2 * 86_400
    assert 2 * 86_400 in policy.windows_s()


def test_unknown_keys_name_the_rule_and_list_what_is_allowed() -> None:
    found = problems(
        '[[rule]]\nname = "x"\nstrategy = "static"\nstatic.fee_rate_pm = 5\n' + DEFAULT
    )
    assert len(found) == 1
    assert found[0].startswith("fees.toml: rule 'x' (#1): unknown key 'static.fee_rate_pm'")
    assert "allowed here: fee_rate_ppm" in found[0]


def test_bad_values_name_the_key_the_value_and_the_limit() -> None:
    found = problems(
        '[[rule]]\nname = "x"\nmatch.local_ratio = { max = 1.5 }\nstrategy = "nope"\n'
        '[safety]\nmin_interval = "soon"\n'
    )
    text = "\n".join(found)
    assert "rule 'x' (#1): match.local_ratio.max = 1.5: a ratio between 0 and 1" in text
    assert "rule 'x' (#1): strategy = 'nope': Input should be 'static', 'proportional'" in text
    assert "safety.min_interval = 'soon': a duration such as" in text


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        [[rule]]
        name = "a"
        strategy = "static"
        [[rule]]
        name = "a"
        match.group = "ghosts"
        strategy = "proportional"
        min_fee_rate_ppm = 500
        max_fee_rate_ppm = 100
        [[rule]]
        name = "last"
        match.capacity_sat = { min = 1 }
        strategy = "static"
        static.fee_rate_ppm = 1
        [channel."nonsense"]
        pin_fee_rate_ppm = 5
        """
    )
    text = "\n".join(found)
    assert "rule 'a' (#1): strategy 'static' needs static.fee_rate_ppm" in text
    assert "rule 'a' (#2): the name is used by an earlier rule" in text
    assert "rule 'a' (#2): match.group 'ghosts' is unknown; groups: none defined" in text
    assert "rule 'a' (#2): min_fee_rate_ppm = 500 is above max_fee_rate_ppm = 100" in text
    assert "rule 'last' (#3): the last rule is the default: it must have no match" in text
    assert "channel 'nonsense': short channel id must look like BLOCKxTXxOUT" in text


def test_a_rule_after_a_catch_all_can_never_apply() -> None:
    found = problems(DEFAULT + DEFAULT.replace('"default"', '"late"'))
    assert any("rule 'late' (#2): can never apply: rule 'default' before it" in p for p in found)


def test_required_parameters_may_come_from_an_unconditional_default_rule() -> None:
    parse_policy(
        '[[rule]]\nname = "d"\nstatic.fee_rate_ppm = 7\n'
        '[[rule]]\nname = "default"\nstrategy = "static"\n'
    )
    found = problems(
        '[[rule]]\nname = "d"\nmatch.capacity_sat = { min = 1 }\nstatic.fee_rate_ppm = 7\n'
        '[[rule]]\nname = "default"\nstrategy = "static"\n'
    )
    assert any("needs static.fee_rate_ppm" in p for p in found)


def test_inbound_fees_are_discounts_only() -> None:
    found = problems(
        DEFAULT.replace("\n", '\ninbound = "static"\ninbound_static.fee_rate_ppm = 10\n', 1)
    )
    assert any(
        "inbound_static.fee_rate_ppm = 10: Input should be less than or equal to 0" in p
        for p in found
    )


def test_pins_must_sit_inside_the_overrides_own_bounds() -> None:
    found = problems(
        DEFAULT + '[channel."800000x1x0"]\npin_fee_rate_ppm = 9\nmin_fee_rate_ppm = 10\n'
    )
    assert found == [
        "fees.toml: channel '800000x1x0': pin_fee_rate_ppm = 9 is outside "
        "min_fee_rate_ppm..max_fee_rate_ppm"
    ]


def test_range_ends_must_be_ordered() -> None:
    found = problems(DEFAULT.replace("\n", "\nmatch.capacity_sat = { min = 5, max = 1 }\n", 1))
    expected = "match.capacity_sat = {'min': 5, 'max': 1}: min (5) is above max (1)"
    assert any(expected in p for p in found)


def test_not_toml_and_unreadable_files() -> None:
    assert problems("[[rule]\n")[0].startswith("fees.toml: not valid TOML")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(Path("/nonexistent/fees.toml"))


def test_durations_print_as_they_are_written() -> None:
    assert format_duration(7 * 86_400) == "7d"
    assert format_duration(5400) == "90m"
    assert format_duration(3 * 3600 + 17, approximate=True) == "3h"
    assert format_duration(59, approximate=True) == "59s"
