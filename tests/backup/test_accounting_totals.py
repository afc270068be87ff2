"""The accounting summed per period and per channel (the dashboard's P&L) is the accounting
export's rows summed: the fees earned come from a grouped statement, the rows from the
daily rollup row by row, so the two paths check each other."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from api.conftest import Api
from lnpilot.backup.export import Ledger, Period, accounting_rows, accounting_totals

from .test_export import FAR_FUTURE, FAR_PAST, journal_a_rebalance, node_id_of


@pytest.mark.parametrize("period", [Period.DAY, Period.MONTH])
async def test_the_totals_are_the_rows_summed(api: Api, period: Period) -> None:
    node_id = await node_id_of(api)
    await api.store.rollup()
    async with api.store.read() as reader:
        stored = await reader.forwards(node_id, FAR_PAST, FAR_FUTURE)
    earner = next(f.chan_id_out for f in stored if f.fee_msat)
    await journal_a_rebalance(api, node_id, earner, fee_paid_msat=1_234)
    by_period: defaultdict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_channel: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    async with api.store.read() as reader:
        async for start, chan_id, _scid, earned, spent, chain_sat, net in accounting_rows(
            reader, node_id, FAR_PAST, FAR_FUTURE, period
        ):
            assert net == earned - spent - (chain_sat or 0) * 1000
            for bucket in (by_period[start], by_channel[chan_id]):
                bucket[0] += earned
                bucket[1] += spent
                bucket[2] += (chain_sat or 0) * 1000
        found = await accounting_totals(reader, node_id, FAR_PAST, FAR_FUTURE, period)

    def triples(ledgers: Mapping[Any, Ledger]) -> dict[Any, list[int]]:
        return {
            key: [found.earned_msat, found.rebalancing_msat, found.onchain_msat]
            for key, found in ledgers.items()
        }

    assert triples(found.by_period) == dict(by_period)
    assert triples(found.by_channel) == dict(by_channel)
    assert found.total.earned_msat == sum(f.fee_msat for f in stored) > 0
    assert found.total.rebalancing_msat == 1_234
    assert found.by_channel[earner].net_msat == by_channel[earner][0] - 1_234
