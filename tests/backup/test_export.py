"""Exports on a store the real collector filled from the simulated node, with a rebalance
journaled the way the rebalancer journals one: the rows match the store, CSV and JSON say
the same, accounting adds up, and the API download is the CLI's export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from api.conftest import Api
from lnpilot.backup.export import ExportFormat, ExportKind, Period, export
from lnpilot.cli.main import app
from lnpilot.store import Store, rebalances
from lnpilot.store.rebalances import AttemptRecord, RebalanceDecision, RebalanceRun

FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


async def text_of(store: Store, node_id: int, kind: ExportKind, fmt: ExportFormat) -> str:
    chunks = export(store, node_id, kind, FAR_PAST, FAR_FUTURE, fmt, period=Period.DAY)
    return "".join([c async for c in chunks])


async def node_id_of(api: Api) -> int:
    found = await api.services.node_id()
    assert found is not None
    return found


async def journal_a_rebalance(api: Api, node_id: int, chan_id: int, fee_paid_msat: int) -> None:
    at = api.sim.now
    run = RebalanceRun(node_id=node_id, at=at, mode="apply", trigger="test", budget_room_msat=10**6)
    decision = RebalanceDecision(
        role="target",
        action="rebalance",
        reason="below the band",
        outcome="planned",
        chan_id=chan_id,
        amount_msat=50_000_000,
    )
    async with api.store.transaction() as tx:
        _, (decision_id,) = await rebalances.record_run(tx, run, [decision])
        await rebalances.add_attempt(
            tx,
            AttemptRecord(
                decision_id=decision_id,
                node_id=node_id,
                at=at,
                amount_msat=50_000_000,
                fee_limit_msat=100_000,
                outcome="succeeded",
                route_fee_msat=fee_paid_msat,
                fee_paid_msat=fee_paid_msat,
                payment_hash="ab" * 32,
            ),
        )
        await rebalances.finish_rebalance(
            tx,
            decision_id,
            outcome="succeeded",
            moved_msat=50_000_000,
            fee_paid_msat=fee_paid_msat,
            failure=None,
            finished_at=at,
            duration_ms=20,
        )


async def test_forwards_csv_and_json_are_the_stores_forwards(api: Api) -> None:
    node_id = await node_id_of(api)
    async with api.store.read() as reader:
        stored = await reader.forwards(node_id, FAR_PAST, FAR_FUTURE)
    assert len(stored) >= 20
    rows = list(
        csv.DictReader(
            io.StringIO(await text_of(api.store, node_id, ExportKind.FORWARDS, ExportFormat.CSV))
        )
    )
    as_json = json.loads(await text_of(api.store, node_id, ExportKind.FORWARDS, ExportFormat.JSON))
    assert [(int(r["chan_id_out"]), int(r["fee_msat"])) for r in rows] == [
        (f.chan_id_out, f.fee_msat) for f in stored
    ]
    assert [{k: str(v) for k, v in o.items()} for o in as_json] == rows
    assert rows[0]["scid_out"] and rows[0]["at"].endswith("+00:00")


async def test_accounting_adds_up_fees_earned_and_rebalancing_spent(api: Api) -> None:
    node_id = await node_id_of(api)
    await api.store.rollup()
    async with api.store.read() as reader:
        stored = await reader.forwards(node_id, FAR_PAST, FAR_FUTURE)
    busiest = max(
        {f.chan_id_out for f in stored},
        key=lambda c: sum(f.fee_msat for f in stored if f.chan_id_out == c),
    )
    await journal_a_rebalance(api, node_id, busiest, fee_paid_msat=1_234)
    rows = json.loads(await text_of(api.store, node_id, ExportKind.ACCOUNTING, ExportFormat.JSON))
    assert sum(r["fees_earned_msat"] for r in rows) == sum(f.fee_msat for f in stored)
    assert sum(r["rebalance_spent_msat"] for r in rows) == 1_234
    (spent,) = [r for r in rows if r["rebalance_spent_msat"]]
    assert spent["chan_id"] == busiest
    assert spent["net_msat"] == spent["fees_earned_msat"] - 1_234
    assert spent["onchain_costs_sat"] is None, "not known: left empty, not a guessed zero"
    rebalance_rows = json.loads(
        await text_of(api.store, node_id, ExportKind.REBALANCES, ExportFormat.JSON)
    )
    assert [(r["chan_id"], r["fee_paid_msat"], r["outcome"]) for r in rebalance_rows] == [
        (busiest, 1_234, "succeeded")
    ]
    payments = json.loads(await text_of(api.store, node_id, ExportKind.PAYMENTS, ExportFormat.JSON))
    assert [(p["payment_hash"], p["fee_paid_msat"]) for p in payments] == [("ab" * 32, 1_234)]


async def test_the_api_download_is_the_same_export(api: Api) -> None:
    node_id = await node_id_of(api)
    params = {"start": FAR_PAST.isoformat(), "end": FAR_FUTURE.isoformat(), "format": "csv"}
    answer = await api.http.get("/api/v1/exports/forwards", params=params, headers=api.auth())
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert (
        'filename="lnpilot-forwards-20000101-21000101.csv"' in answer.headers["content-disposition"]
    )
    assert answer.text == await text_of(api.store, node_id, ExportKind.FORWARDS, ExportFormat.CSV)
    backwards = {**params, "start": params["end"], "end": params["start"]}
    refused = await api.http.get("/api/v1/exports/forwards", params=backwards, headers=api.auth())
    assert refused.status_code == 422
    unauthenticated = await api.http.get("/api/v1/exports/forwards")
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-02-01", "--to", "2026-01-01"], "must be before"),
        (["--from", "yesterday"], "give a date"),
    ],
)
def test_cli_refuses_a_bad_range(args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        app, ["export", "forwards", *args, "--db", "sqlite:////nonexistent/x.sqlite"]
    )
    assert result.exit_code == 2
    assert message in result.output


async def test_cli_writes_the_export_to_a_file(
    api: Api, tmp_path_factory: pytest.TempPathFactory
) -> None:
    node_id = await node_id_of(api)
    out = tmp_path_factory.mktemp("export") / "fees.csv"
    url = str(api.store.engine.url)
    # the CLI runs its own event loop: call it from a thread of this one's
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            "export",
            "fees",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--db",
            url,
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == await text_of(api.store, node_id, ExportKind.FEES, ExportFormat.CSV)
    assert out.read_text().startswith("at,chan_id,scid,source,base_fee_msat,fee_rate_ppm")
