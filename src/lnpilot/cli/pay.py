"""``lnpilot pay``: pay a BOLT11 invoice from the configured wallet, at most once.

The invoice is decoded locally first so the operator sees what they are paying (amount,
description, payee, expiry) before anything is sent, and is asked to confirm unless
``--yes``. The payment itself goes through the client's ``pay``, which never pays twice.
When the outcome cannot be known in time, the payment hash is printed and the command
exits 3 without retrying: retrying blindly is exactly how a payment gets made twice.
"""

from __future__ import annotations

from typing import Annotated

import click
import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, fail, run, state_of
from lnpilot.lnbits import (
    InvoiceDecodeError,
    LNbitsClient,
    NotFoundError,
    PaymentOutcomeUnknownError,
)
from lnpilot.lnbits.bolt11 import Invoice, decode
from lnpilot.lnbits.models import Payment


def pay(
    ctx: typer.Context,
    bolt11: Annotated[str, typer.Argument(help="The BOLT11 invoice to pay.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Pay without asking.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Pay an invoice (needs the admin key). Asks before paying unless --yes.

    Exit codes: 0 paid, 1 not paid, 2 bad invoice or configuration, 3 outcome unknown.
    """
    try:
        invoice = decode(bolt11)
    except InvoiceDecodeError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    if invoice.is_expired():
        output.error(f"invoice expired at {output.when(invoice.expires_at)}; not paid")
        raise typer.Exit(ExitCode.BAD_INPUT)
    if state_of(ctx).settings().lnbits.admin_key is None:
        output.error(
            "paying needs the admin key: set lnbits.admin_key (or admin_key_file) "
            "in lnpilot.toml or LNPILOT_LNBITS__ADMIN_KEY"
        )
        raise typer.Exit(ExitCode.BAD_INPUT)

    payee, earlier = run(ctx, lambda client: _review(client, invoice))
    # Keep stdout for the JSON answer alone; the review goes to stderr then.
    console = output.stderr if as_json else output.stdout
    console.print(output.invoice_table(invoice, "Invoice to pay", payee=payee))
    if earlier is not None:
        output.stderr.print(
            f"Already paid by this wallet at {output.when(earlier.time)}; not paid again."
        )
        _show(earlier, as_json)
        return
    if not yes:
        try:
            confirmed = typer.confirm("Pay this invoice?", default=False, err=as_json)
        except click.exceptions.Abort:  # end of input (no terminal) counts as "no"
            confirmed = False
        if not confirmed:
            output.error("Not paid.")
            raise typer.Exit(ExitCode.FAILED)

    async def send(client: LNbitsClient) -> Payment:
        try:
            return await client.payments.pay(invoice.bolt11)
        except PaymentOutcomeUnknownError as exc:
            output.error(
                f"Outcome unknown for payment hash {exc.payment_hash}: it may or may not "
                "have been paid, and it was NOT retried. Check it later with "
                "`lnpilot payments list` before paying again."
            )
            raise typer.Exit(ExitCode.OUTCOME_UNKNOWN) from None

    _show(run(ctx, send), as_json)


async def _review(client: LNbitsClient, invoice: Invoice) -> tuple[str | None, Payment | None]:
    """The payee, and this wallet's successful payment of the invoice if there is one.

    An invoice rarely states its payee: LNbits recovers it from the signature. The earlier
    payment is looked up so that paying again says so instead of asking to confirm a
    payment the client would not make anyway.
    """
    payee = invoice.payee_pubkey or (await client.payments.decode(invoice.bolt11)).payee
    try:
        status = await client.payments.status(invoice.payment_hash)
    except NotFoundError:
        return payee, None
    earlier = status.details
    if earlier is not None and earlier.is_outgoing and status.paid:
        return payee, earlier
    return payee, None


def _show(payment: Payment, as_json: bool) -> None:
    if as_json:
        output.emit_json(output.payment_json(payment))
    else:
        output.stdout.print(output.payment_table(payment, "Paid"))
