"""The fee policy a new operator starts from: ``lnpilot init`` writes it, the league runs it.

One text, so that what the strategy league measures as ``lnpilot_default`` (``bench/league.py``)
is exactly what a new user gets, and a change to it is measured before it ships. It only
ever plans until the operator sets ``fees_apply = true`` in lnpilot.toml (the daemon's fee
loop is a journaled dry run by default), and, once applied, each channel looks for the fee
that earns most (``price_discovery``, docs/fees.md) between 1 and 5,000 ppm, moving at most
twice a day, learning only from windows with enough forwards. It sets no cost floor
(``never_below_cost``): the league showed the floor's guessed opening cost holding busy
channels above the price their traffic paid (docs/strategy-league.md, "league-strategy").
``examples/fees.toml`` is the same policy with more of the language shown.
"""

from __future__ import annotations

DEFAULT_POLICY_TOML = """\
# lnpilot's fee policy, written by `lnpilot init` (docs/fees.md; examples/fees.toml has more).
# The daemon only plans with it (journaled dry runs) until `fees_apply = true` in lnpilot.toml.

[safety]
max_step_pct = 50          # a fee rate moves at most 50% of its value per update...
max_step_floor_ppm = 10    # ...or 10 ppm, whichever is more
max_base_step_msat = 1000  # a base fee moves at most 1 sat per update
min_interval = "12h"       # no update within 12 hours of the channel's last change
hysteresis_pct = 5         # changes smaller than 5% of the rate...
hysteresis_ppm = 2         # ...and than 2 ppm are not worth a gossip update
daily_budget = 24          # policy updates per rolling 24 hours, whole node
max_history_lag = "1h"     # flows older than this (collector stopped) are not trusted

[[rule]]
name = "defaults"
min_fee_rate_ppm = 1
max_fee_rate_ppm = 5000
base_fee_msat = 0

[[rule]]
name = "default"           # every channel: find the fee that earns most, in the bounds above
strategy = "price_discovery"
# learn only from 12 h windows of 4+ forwards out; a quiet channel holds its fee unless
# the competitors into the same peer show a lower one (docs/strategy-league.md)
price_discovery.window = "12h"
price_discovery.step_pct = 50
price_discovery.max_updates_per_day = 2
price_discovery.min_forwards = 4
price_discovery.idle_lowers_blind = false
"""
