"""``lnpilot lnbits settings set`` against the session's real LNbits: a dry run by default,
unknown keys and wrong types refused before anything is sent, secrets masked in the diff,
and a written change recorded in lnpilot's audit log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lnpilot.devtools import LNbitsServer
from lnpilot.store import Store, audit, sqlite_url

from .conftest import Cli, json_of

pytestmark = pytest.mark.lnbits


def _audit_log(db: str) -> list[audit.AuditEntry]:
    async def read() -> list[audit.AuditEntry]:
        async with await Store.open(db) as store, store.read() as reader:
            return await audit.entries(reader)

    return asyncio.run(read())


def test_settings_set_shows_the_diff_then_writes_it_audited(
    cli: Cli, lnbits_server: LNbitsServer, tmp_path: Path
) -> None:
    su = lnbits_server.superuser
    env = {
        "LNPILOT_LNBITS__URL": lnbits_server.url,
        "LNPILOT_LNBITS__USERNAME": su.username,
        "LNPILOT_LNBITS__PASSWORD": su.password,
    }
    db = sqlite_url(tmp_path)
    shown = json_of(cli("lnbits", "settings", "show", "--grep", "site_title", "--json", env=env))
    title = shown["settings"]["lnbits_site_title"]

    dry = cli(
        "lnbits",
        "settings",
        "set",
        "lnbits_site_title=Node ops",
        "fake_wallet_secret=s3cr3t-new",
        "lnbits_max_incoming_payment_amount_sats=21000",
        "--db",
        db,
        env=env,
    )
    assert dry.exit_code == 0, dry.output
    assert "lnbits_site_title" in dry.stdout and "-> Node ops" in dry.stdout
    assert "fake_wallet_secret" in dry.stdout and "s3cr3t-new" not in dry.output
    assert "*** -> *** (a secret: changed, not shown)" in dry.stdout
    assert "Dry run: nothing written" in dry.output
    again = json_of(cli("lnbits", "settings", "show", "--grep", "site_title", "--json", env=env))
    assert again["settings"]["lnbits_site_title"] == title

    unknown = cli("lnbits", "settings", "set", "lnbits_site_titel=x", "--db", db, env=env)
    assert unknown.exit_code == 2
    assert "unknown setting(s) lnbits_site_titel; allowed:" in unknown.output
    assert "lnbits_site_title" in unknown.output
    wrong = cli("lnbits", "settings", "set", "lnbits_audit_enabled=maybe", "--db", db, env=env)
    assert wrong.exit_code == 2 and "lnbits_audit_enabled" in wrong.output
    assert cli("lnbits", "settings", "set", "no-equals", "--db", db, env=env).exit_code == 2

    try:
        written = json_of(
            cli(
                "lnbits",
                "settings",
                "set",
                "lnbits_site_title=Node ops",
                "--apply",
                "--db",
                db,
                "--json",
                env=env,
            )
        )
        assert written == {
            "dry_run": False,
            "changes": [{"key": "lnbits_site_title", "before": title, "after": "Node ops"}],
        }
        now = json_of(cli("lnbits", "settings", "show", "--grep", "site_title", "--json", env=env))
        assert now["settings"]["lnbits_site_title"] == "Node ops"
        unchanged = cli(
            "lnbits",
            "settings",
            "set",
            "lnbits_site_title=Node ops",
            "--apply",
            "--db",
            db,
            env=env,
        )
        assert "Nothing to change" in unchanged.stdout
    finally:
        cli(
            "lnbits",
            "settings",
            "set",
            f"lnbits_site_title={title}",
            "--apply",
            "--db",
            db,
            env=env,
        )
    refused = cli(
        "lnbits",
        "settings",
        "set",
        "lnbits_audit_retention_days=-1",
        "--apply",
        "--db",
        db,
        env=env,
    )
    assert refused.exit_code != 0

    log = _audit_log(db)
    assert [(e.action, e.outcome) for e in reversed(log)] == [
        ("lnbits.settings.set", "ok"),
        ("lnbits.settings.set", "ok"),
        ("lnbits.settings.set", "refused"),
    ]
    first = log[-1]
    assert first.target == lnbits_server.url.rstrip("/") and first.actor.endswith("(cli)")
    assert first.detail == {
        "changes": [{"key": "lnbits_site_title", "before": title, "after": "Node ops"}]
    }
    assert all(su.password not in str(e.detail) for e in log)
