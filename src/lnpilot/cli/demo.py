"""``lnpilot demo`` (``make demo``): real payments between two wallets on a real LNbits.

It starts a throw-away LNbits 1.6.2 on FakeWallet, funds alice and bob, has bob invoice
alice a few times through the client, pays one invoice a second time to show that the
client does not pay twice, prints the result with the CLI's own tables, and stops LNbits.
Each client gets only the key its role needs: bob the invoice key, alice the admin key.

This is the interim demo: the simulated-network work replaces it with a routing node.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, exit_code_for, fail
from lnpilot.lnbits import LNbitsClient, LNbitsError
from lnpilot.lnbits.models import Payment
from lnpilot.testing import LNbitsServer, LNbitsStartError, LNbitsUnavailable, WalletKeys

FUNDING_SAT = {"alice": 100_000, "bob": 20_000}
PURCHASES = [(1_000, "coffee"), (2_500, "lunch"), (4_200, "a book")]


def demo() -> None:
    """Start a real LNbits, make payments between two wallets, show them, stop it.

    Needs LNbits installed (`make lnbits`); exits 2 with how to install it otherwise.
    """
    with tempfile.TemporaryDirectory(prefix="lnpilot-demo-") as data_dir:
        server = LNbitsServer(data_dir=Path(data_dir))
        try:
            with output.stderr.status("Starting LNbits…"):
                server.start()
        except LNbitsUnavailable as exc:
            output.error(str(exc))
            output.error(
                "Install LNbits with `make lnbits` (it goes into its own venv under .cache/), "
                "then run `make demo` again."
            )
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        except LNbitsStartError as exc:
            fail(exc, ExitCode.FAILED)
        try:
            output.stdout.print(f"LNbits (FakeWallet) running at {server.url}")
            accounts = server.create_funded_accounts(FUNDING_SAT)
            output.stdout.print(
                "Funded "
                + " and ".join(f"{name} with {sats:,} sat" for name, sats in FUNDING_SAT.items())
                + " (superuser top-up)."
            )
            asyncio.run(_pay_and_show(server.url, accounts["alice"], accounts["bob"]))
        except LNbitsError as exc:
            fail(exc, exit_code_for(exc))
        except LNbitsStartError as exc:
            fail(exc, ExitCode.FAILED)
        finally:
            server.stop()
            output.stdout.print("LNbits stopped.")


async def _pay_and_show(url: str, alice_keys: WalletKeys, bob_keys: WalletKeys) -> None:
    async with (
        LNbitsClient(url, admin_key=alice_keys.adminkey, invoice_key=alice_keys.inkey) as alice,
        LNbitsClient(url, invoice_key=bob_keys.inkey) as bob,
    ):
        paid: list[tuple[Payment, str]] = []
        for amount_sat, memo in PURCHASES:
            invoice = await bob.payments.create_invoice(amount_sat, memo=memo)
            payment = await alice.payments.pay(invoice.bolt11)
            paid.append((payment, invoice.bolt11))
            output.stdout.print(
                f"bob invoiced {amount_sat:,} sat for {memo!r}; alice paid it: "
                f"{payment.status}, fee {output.sat(abs(payment.fee_msat))}"
            )

        first, first_bolt11 = paid[0]
        before = await alice.wallet.get(bypass_cache=True)
        again = await alice.payments.pay(first_bolt11)
        after = await alice.wallet.get(bypass_cache=True)
        if after.balance_msat != before.balance_msat or again.checking_id != first.checking_id:
            output.error("the second pay of the same invoice changed alice's balance")
            raise typer.Exit(ExitCode.FAILED)
        output.stdout.print(
            f"alice paid the {first.memo!r} invoice again: the client found it already paid "
            f"(hash {first.payment_hash[:16]}…) and sent nothing; her balance stayed at "
            f"{output.sat(after.balance_msat)}."
        )

        for name, client in (("alice", alice), ("bob", bob)):
            wallet = await client.wallet.get(bypass_cache=True)
            page = await client.payments.list_paginated(limit=20, sortby="time", direction="desc")
            output.stdout.print()
            output.stdout.print(output.wallet_table(wallet, f"{name}'s wallet"))
            output.stdout.print()
            output.stdout.print(output.payments_table(page.data, f"{name}'s payments"))
    output.stdout.print()
    output.stdout.print("Try it by hand: `lnpilot dev lnbits` prints a server's URL and keys.")
