"""`lnpilot extensions check`, `lnpilot lndhub` and `lnpilot users` against the real
extensions (the CLI runs in-process, configured by environment as a deployment would)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from lnpilot.devtools import LNbitsServer, WalletKeys
from lnpilot.devtools.boltz_backend import BoltzBackend
from lnpilot.devtools.clients import client_factory
from lnpilot.devtools.waiting import eventually
from lnpilot.lnbits.resources.lndhub import LndhubUrl

from .conftest import Cli, json_of, wallet_env

MakeWallet = Callable[..., WalletKeys]


async def _extension_says_complete(server: LNbitsServer, keys: WalletKeys, swap_id: str) -> None:
    """Wait for the extension (not the CLI) to mark a reverse swap complete."""
    async with client_factory(server.url) as build:
        client = build(keys)

        async def probe() -> bool | None:
            return True if (await client.boltz.swap_status(swap_id)).status == "complete" else None

        await eventually(probe, f"reverse swap {swap_id} to complete")


REFUND_ADDRESS = "bcrt1qq09wgpk83fvzjdwuamvch03tjd76f0xfasze0z"
ONCHAIN_ADDRESS = "bcrt1qkvj8hzqfnkkspv4wndw08mfruppy07f3u6prf2"


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


def test_swap_quote_dry_run_apply_list_status(
    cli: Cli, ext_server: LNbitsServer, ext_wallet: MakeWallet, boltz_backend: BoltzBackend
) -> None:
    keys = ext_wallet(300_000)
    env = wallet_env(ext_server, keys)
    quoted = json_of(cli("swap", "quote", "100000", "--direction", "in", "--json", env=env))
    assert (quoted["onchain_sat"], quoted["cost_sat"], quoted["cost_ppm"]) == (
        101_460,
        1_460,
        14_600,
    )

    dry = json_of(cli("swap", "out", "100000", "--address", ONCHAIN_ADDRESS, "--json", env=env))
    assert dry["dry_run"] is True
    assert json_of(cli("swap", "list", "--json", env=env))["swaps"] == []
    refused = cli(
        "swap", "out", "100000", "--address", ONCHAIN_ADDRESS, "--apply", env=env, input="n\n"
    )
    assert refused.exit_code == 1 and "Not created" in refused.output

    done = json_of(
        cli(
            "swap",
            "out",
            "100000",
            "--address",
            ONCHAIN_ADDRESS,
            "--apply",
            "--yes",
            "--json",
            env=env,
        )
    )
    # The quote's on-chain amount is after our claim fee; the swap's is before it.
    claim_sat = 1_104
    assert done["swap"]["onchain_amount_sat"] == done["quote"]["onchain_sat"] + claim_sat
    swap_id = done["swap"]["swap_id"]
    assert done["swap"]["stage"] == "created" and done["swap"]["created_by"] == "cli"
    listed = json_of(cli("swap", "list", "--json", env=env))["swaps"]
    assert [s["swap_id"] for s in listed] == [swap_id]
    # --intent makes a retry of the same command create nothing new.
    again = ("swap", "out", "100000", "--address", ONCHAIN_ADDRESS, "--apply", "--yes")
    first = json_of(cli(*again, "--intent", "pay-rent", "--json", env=env))["swap"]
    second = json_of(cli(*again, "--intent", "pay-rent", "--json", env=env))["swap"]
    assert first["row"] == second["row"] and first["swap_id"] == second["swap_id"]
    assert len(json_of(cli("swap", "list", "--json", env=env))["swaps"]) == 2

    asyncio.run(_extension_says_complete(ext_server, keys, swap_id))
    moved = json_of(cli("swap", "follow", "--json", env=env))["changes"]
    assert {(c["swap_id"], c["after"]) for c in moved} >= {(swap_id, "paid")}
    state = json_of(cli("swap", "status", swap_id, "--json", env=env))
    assert [h["stage"] for h in state["history"]] == ["intent", "created", "paid"]
    claimed = cli("swap", "claimed", swap_id, "--txid", "ab" * 32, env=env)
    assert claimed.exit_code == 0 and "claimed" in claimed.stdout, claimed.output
    bad = cli("swap", "claimed", swap_id, "--txid", "nope", env=env)
    assert bad.exit_code == 2 and "64 hex" in bad.output

    made = json_of(
        cli(
            "swap",
            "in",
            "60000",
            "--refund-address",
            REFUND_ADDRESS,
            "--apply",
            "--yes",
            "--json",
            env=env,
        )
    )
    assert made["swap"]["onchain_amount_sat"] == made["quote"]["onchain_sat"]
    assert (
        cli(
            "swap", "in", "1000", "--refund-address", REFUND_ADDRESS, "--apply", "--yes", env=env
        ).exit_code
        == 2
    )


def test_lnbits_settings_show_masks_secrets(cli: Cli, ext_server: LNbitsServer) -> None:
    su = ext_server.superuser
    env = {
        "LNPILOT_LNBITS__URL": ext_server.url,
        "LNPILOT_LNBITS__USERNAME": su.username,
        "LNPILOT_LNBITS__PASSWORD": su.password,
    }
    shown = json_of(cli("lnbits", "settings", "show", "--grep", "fake_wallet", "--json", env=env))
    assert shown == {"settings": {"fake_wallet_secret": "***"}}
    text = cli("lnbits", "settings", "show", "--set", env=env)
    assert text.exit_code == 0 and "lnbits_backend_wallet_class" in text.stdout
    assert su.user_id not in text.stdout
    keys_only = cli("lnbits", "settings", "show", env={"LNPILOT_LNBITS__URL": ext_server.url})
    assert keys_only.exit_code == 2 and "bearer token" in keys_only.output
