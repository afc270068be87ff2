"""The alert commands on a real store: listing, silences, incidents worked to an exported
Markdown record, and the alerts file validated with errors that name the key."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from lnpilot.base.domain import ClosedChannel, CloseType, Initiator, NodeInfo
from lnpilot.cli.alerts import AlertsFileError, load_alerts_file
from lnpilot.cli.main import app
from lnpilot.monitor import Monitor, MonitorConfig
from lnpilot.store import Store, sqlite_url

from .conftest import T0

EXAMPLE = Path(__file__).parents[2] / "examples" / "alerts.toml"
NODE = "02" + "7c" * 32
Run = Callable[..., Result]


async def _seed(url: str) -> None:
    """A node whose channel was force-closed: one critical alert and its incident."""
    async with await Store.open(url) as store:
        async with store.transaction() as tx:
            node_id = await tx.upsert_node(NodeInfo(NODE, "ours", 800_000), T0)
            await tx.record_closed_channels(
                node_id,
                [
                    ClosedChannel(
                        scid="800000x9x0",
                        chan_id=800_000 << 40 | 9 << 16,
                        channel_point="ab" * 32 + ":0",
                        peer_pubkey="03" + "11" * 32,
                        capacity_sat=2_000_000,
                        settled_balance_sat=900_000,
                        close_type=CloseType.REMOTE_FORCE,
                        open_initiator=Initiator.LOCAL,
                        close_initiator=Initiator.REMOTE,
                        closing_txid="cd" * 32,
                    )
                ],
                T0,
            )
        await Monitor(store, MonitorConfig(), NODE).run_once(T0)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "data")
    asyncio.run(_seed(url))
    return url


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("LNPILOT_"):
            monkeypatch.delenv(name)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})

    yield invoke


def test_alerts_lists_what_fires(run: Run, db: str) -> None:
    result = run("alerts", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    [alert] = json.loads(result.stdout)
    assert alert["rule"] == "channel_closed" and alert["severity"] == "critical"
    table = run("alerts", "--db", db)
    assert "channel_closed" in table.stdout and "remote_force" in table.stdout


def test_silence_add_list_expire(run: Run, db: str) -> None:
    added = run(
        "alerts",
        "silence",
        "add",
        "scid=800000x9x0",
        "--for",
        "2h",
        "-m",
        "known",
        "--db",
        db,
        "--json",
    )
    assert added.exit_code == 0, added.output
    silence = json.loads(added.stdout)
    assert silence["matchers"] == [{"name": "scid", "op": "=", "value": "800000x9x0"}]
    listed = json.loads(run("alerts", "silence", "list", "--db", db, "--json").stdout)
    assert [s["id"] for s in listed] == [silence["id"]]
    assert run("alerts", "silence", "expire", str(silence["id"]), "--db", db).exit_code == 0
    assert json.loads(run("alerts", "silence", "list", "--db", db, "--json").stdout) == []
    bad = run("alerts", "silence", "add", "scid", "--db", db)
    assert bad.exit_code == 2 and "name=value" in bad.output


def test_an_incident_is_worked_and_exported_as_markdown(run: Run, db: str, tmp_path: Path) -> None:
    [incident] = json.loads(run("incidents", "--db", db, "--json").stdout)
    iid = str(incident["id"])
    assert incident["status"] == "open" and incident["severity"] == "critical"
    assert run("incident", iid, "ack", "--by", "alice", "--db", db).exit_code == 0
    note = run("incident", iid, "annotate", "-m", "peer says: hardware failure", "--db", db)
    assert note.exit_code == 0
    unfinished = run("incident", iid, "resolve", "--cause", "peer hardware", "--db", db)
    assert unfinished.exit_code == 2 and "cause and a resolution" in unfinished.output
    done = run(
        "incident",
        iid,
        "resolve",
        "--cause",
        "peer hardware failure",
        "--resolution",
        "funds swept; reopened to another peer",
        "--by",
        "alice",
        "--db",
        db,
    )
    assert done.exit_code == 0, done.output
    out = tmp_path / "incident.md"
    exported = run("incidents", "export", iid, "--output", str(out), "--db", db)
    assert exported.exit_code == 0, exported.output
    text = out.read_text()
    assert text.startswith(f"# Incident {iid}: channel 800000x9x0")
    for expected in (
        "| Status | resolved |",
        "## Cause\n\npeer hardware failure",
        "## Resolution\n\nfunds swept; reopened to another peer",
        "### Immediate",
        "### Short term",
        "### Long term",
        "| acknowledged |",
        "peer says: hardware failure",
        "| alice |",
    ):
        assert expected in text, expected
    again = run("incident", iid, "ack", "--db", db)
    assert again.exit_code == 2 and "already resolved" in again.output
    assert run("incident", iid, "export", "--db", db).stdout == text


def test_the_example_alerts_file_is_valid(tmp_path: Path) -> None:
    copy = tmp_path / "alerts.toml"
    copy.write_text(EXAMPLE.read_text())
    (tmp_path / "secrets").mkdir()
    for name in ("smtp-password", "telegram-token", "webhook-secret"):
        (tmp_path / "secrets" / name).write_text(f"{name}-value\n")
    monitor, notify = load_alerts_file(copy)
    assert set(monitor.rules) >= {"channel_closed", "peer_offline", "liquidity_out_of_band"}
    assert notify.routes and notify.receivers


def test_alerts_file_errors_name_the_key_and_hide_secrets(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(
        """
[rules.liquidity_out_of_band]
treshold = 3

[rules.backwards]
kind = "ratio_band"
low = 0.9
high = 0.2

[rules.my_rule]
threshold = 1

[[rules.channel_utilisation_high.overrides]]
scid = "800000x1x0"
threshold = -1

[notify.receivers.tg]
type = "telegram"
bot_token = 42
chat_id = 1
"""
    )
    with pytest.raises(AlertsFileError) as caught:
        load_alerts_file(path)
    text = "\n".join(caught.value.problems)
    assert "unknown key 'rules.liquidity_out_of_band.ratio_band.treshold'" in text
    assert "low (0.9) must be below high (0.2)" in text
    assert "rules.my_rule" in text and "kind" in text
    assert "greater than 0" in text
    assert "notify.receivers.tg.telegram.bot_token = ***" in text
    path.write_text('[[notify.routes]]\nname = "x"\nreceivers = ["nobody"]\n')
    with pytest.raises(AlertsFileError) as caught:
        load_alerts_file(path)
    assert "unknown receivers ['nobody']" in caught.value.problems[0]


def test_notify_test_reports_each_receiver(run: Run, tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.toml"
    alerts.write_text(
        """
[notify.receivers.dead]
type = "webhook"
url = "http://127.0.0.1:9/hook"
[[notify.routes]]
name = "all"
receivers = ["dead"]
"""
    )
    result = run("notify", "test", "--alerts", str(alerts), "--db", sqlite_url(tmp_path / "d"))
    assert result.exit_code == 1 and "failed dead: webhook unreachable" in result.stdout


def test_without_alerts_option_the_daemon_s_alerts_file_is_read(run: Run, tmp_path: Path) -> None:
    """``lnpilot notify test`` reads what ``lnpilot run`` reads: ``[service] alerts_file``,
    not the alerts.toml that happens to lie beside the configuration."""
    receiver = '[notify.receivers.{0}]\ntype = "webhook"\nurl = "http://127.0.0.1:9/{0}"\n'
    route = '[[notify.routes]]\nname = "all"\nreceivers = ["{0}"]\n'
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "daemon-alerts.toml").write_text(
        receiver.format("daemons") + route.format("daemons")
    )
    (tmp_path / "alerts.toml").write_text(receiver.format("beside") + route.format("beside"))
    (tmp_path / "lnpilot.toml").write_text(
        '[lnbits]\nurl = "http://127.0.0.1:9"\n[service]\nalerts_file = "conf/daemon-alerts.toml"\n'
    )
    db = sqlite_url(tmp_path / "d")
    result = run("notify", "test", "--db", db)
    assert result.exit_code == 1 and "failed daemons: webhook unreachable" in result.stdout
    assert "beside" not in result.stdout
    # --alerts still wins
    result = run("notify", "test", "--alerts", str(tmp_path / "alerts.toml"), "--db", db)
    assert "failed beside: webhook unreachable" in result.stdout
