"""`lnpilot extensions check`, `lnpilot lndhub` and `lnpilot users` against the real
extensions (the CLI runs in-process, configured by environment as a deployment would)."""

from __future__ import annotations

import json
from collections.abc import Callable

from lnpilot.lnbits.resources.lndhub import LndhubUrl
from lnpilot.testing import LNbitsServer, WalletKeys

from .conftest import Cli, json_of, wallet_env

MakeWallet = Callable[..., WalletKeys]


def test_extensions_check_warns_about_each_installed_extension(
    cli: Cli, ext_server: LNbitsServer
) -> None:
    su = ext_server.superuser
    env = {
        "LNPILOT_LNBITS__URL": ext_server.url,
        "LNPILOT_LNBITS__USERNAME": su.username,
        "LNPILOT_LNBITS__PASSWORD": su.password,
    }
    result = cli("extensions", "check", "--json", env=env)
    assert result.exit_code == 1, result.output  # active and affected: a cron job alerts
    found = {f["extension"]: f for f in json.loads(result.stdout)["findings"]}
    assert set(found) == {"lndhub", "usermanager", "boltz"}
    assert found["boltz"]["installed_version"] == "1.1.0"
    assert all(f["verdict"] == "affected" and f["active"] for f in found.values())
    assert "ANOTHER user's" in found["boltz"]["problem"]
    table = cli("extensions", "check", env=env)
    assert "what to do" in table.stdout


def test_lndhub_url_and_end_to_end_test(
    cli: Cli, ext_server: LNbitsServer, ext_wallet: MakeWallet
) -> None:
    keys = ext_wallet(2_000)
    env = wallet_env(ext_server, keys)
    made = json_of(cli("lndhub", "url", "--json", env=env))
    assert made["url"] == f"lndhub://admin:{keys.adminkey}@{ext_server.url}/lndhub/ext/"
    assert LndhubUrl.parse(made["url"]).key == keys.adminkey
    steps = json_of(cli("lndhub", "test", made["url"], "--json", env={}))["steps"]
    assert steps["balance_sat"] == 2_000
    assert steps["getuserinvoices"].endswith("the new one listed: yes")
    invoice_url = cli("lndhub", "url", "--invoice", env=env).stdout.strip()
    assert invoice_url.startswith(f"lndhub://invoice:{keys.inkey}@")
    assert cli("lndhub", "test", "lndhub://nope", env={}).exit_code == 2


def test_users_create_list_transactions_delete(
    cli: Cli, ext_server: LNbitsServer, ext_wallet: MakeWallet
) -> None:
    env = wallet_env(ext_server, ext_wallet(0))
    created = json_of(cli("users", "create", "cli-user", "--extra", "tag=vip", "--json", env=env))
    assert (created["name"], created["extra"]) == ("cli-user", {"tag": "vip"})
    listed = json_of(cli("users", "list", "--json", env=env))["users"]
    assert [u["id"] for u in listed] == [created["id"]]
    assert "adminkey" not in str(listed)
    wallet_id = created["wallets"][0]["id"]
    assert json_of(cli("users", "transactions", wallet_id, "--json", env=env))["payments"] == []
    other = wallet_env(ext_server, ext_wallet(0))
    refused = cli("users", "delete", created["id"], env=other)
    assert refused.exit_code == 2 and "not managed by this key's owner" in refused.output
    assert json_of(cli("users", "delete", created["id"], "--json", env=env)) == {
        "deleted": created["id"]
    }
    assert json_of(cli("users", "list", "--json", env=env))["users"] == []
