"""``lnpilot pay``: pay a BOLT11 invoice, an LNURL-pay or a Lightning address, at most once.

The invoice is decoded locally first so the operator sees what they are paying (amount,
description, payee, expiry) before anything is sent, and is asked to confirm unless
``--yes``. The payment itself goes through the client's ``pay``, which never pays twice.
When the outcome cannot be known in time, the payment hash is printed and the command
exits 3 without retrying: retrying blindly is exactly how a payment gets made twice.

An LNURL (``lnurl1…``) or Lightning address (``user@domain``) is scanned through LNbits
first, so the operator sees the service, its description and the amounts it accepts before
confirming; ``--amount-sat`` is then required (an invoice states its own amount).
"""

from __future__ import annotations

from typing import Annotated

import click
import typer
from rich.markup import escape

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
from lnpilot.lnbits.resources.lnurl import is_lnurl


def pay(
    ctx: typer.Context,
    bolt11: Annotated[
        str,
        typer.Argument(
            help="The BOLT11 invoice, LNURL (lnurl1…) or Lightning address (user@domain) to pay.",
            metavar="TARGET",
        ),
    ],
    amount_sat: Annotated[
        int | None,
        typer.Option("--amount-sat", help="Amount for an LNURL or Lightning address, in sat."),
    ] = None,
    comment: Annotated[
        str | None,
        typer.Option("--comment", help="A comment for an LNURL service that accepts one."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Pay without asking.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Pay an invoice (needs the admin key). Asks before paying unless --yes.

    TARGET is a BOLT11 invoice, or an LNURL-pay / Lightning address with --amount-sat.
    Exit codes: 0 paid, 1 not paid, 2 bad invoice or configuration, 3 outcome unknown.
    """
    if is_lnurl(bolt11):
        pay_lnurl(ctx, bolt11, amount_sat, comment, yes=yes, as_json=as_json)
        return
    if amount_sat is not None or comment is not None:
        output.error(
            "--amount-sat and --comment are for an LNURL or Lightning address; "
            "an invoice states its own amount"
        )
        raise typer.Exit(ExitCode.BAD_INPUT)
    try:
        invoice = decode(bolt11)
    except InvoiceDecodeError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    if invoice.is_expired():
        output.error(f"invoice expired at {output.when(invoice.expires_at)}; not paid")
        raise typer.Exit(ExitCode.BAD_INPUT)
    require_admin_key(ctx)

    payee, earlier = run(ctx, lambda client: _review(client, invoice))
    # Keep stdout for the JSON answer alone; the review goes to stderr then.
    console = output.stderr if as_json else output.stdout
    console.print(output.invoice_table(invoice, "Invoice to pay", payee=payee))
    if earlier is not None:
        output.stderr.print(
            f"Already paid by this wallet at {output.when(earlier.time)}; not paid again."
        )
        show_payment(earlier, as_json)
        return
    confirm_or_exit("Pay this invoice?", yes=yes, as_json=as_json)

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

    show_payment(run(ctx, send), as_json)


def require_admin_key(ctx: typer.Context) -> None:
    """Exit 2 before contacting anything when no admin key is configured."""
    if state_of(ctx).settings().lnbits.admin_key is None:
        output.error(
            "paying needs the admin key: set lnbits.admin_key (or admin_key_file) "
            "in lnpilot.toml or LNPILOT_LNBITS__ADMIN_KEY"
        )
        raise typer.Exit(ExitCode.BAD_INPUT)


def confirm_or_exit(question: str, *, yes: bool, as_json: bool) -> None:
    """Ask unless ``--yes``; "no" (or no terminal to ask on) exits 1, nothing paid."""
    if yes:
        return
    try:
        confirmed = typer.confirm(question, default=False, err=as_json)
    except click.exceptions.Abort:  # end of input (no terminal) counts as "no"
        confirmed = False
    if not confirmed:
        output.error("Not paid.")
        raise typer.Exit(ExitCode.FAILED)


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


def show_payment(payment: Payment, as_json: bool) -> None:
    if as_json:
        output.emit_json(output.payment_json(payment))
    else:
        output.stdout.print(output.payment_table(payment, "Paid"))


def pay_lnurl(
    ctx: typer.Context,
    code: str,
    amount_sat: int | None,
    comment: str | None,
    *,
    yes: bool,
    as_json: bool,
) -> None:
    """Pay an LNURL-pay or Lightning address: scan, show, check the amount, confirm, pay."""
    from lnpilot.cli.lnurl import pay_request_table
    from lnpilot.lnbits.resources.lnurl import LnurlPay, check_amount, normalize_code

    try:
        normalize_code(code)
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    if amount_sat is None or amount_sat <= 0:
        output.error("paying an LNURL or Lightning address needs --amount-sat N (N > 0)")
        raise typer.Exit(ExitCode.BAD_INPUT)
    amount_msat = amount_sat * 1000
    require_admin_key(ctx)

    request = run(ctx, lambda client: client.lnurl.scan(code))
    if not isinstance(request, LnurlPay):
        output.error(
            f"this is an LNURL-{request.kind}, not an LNURL-pay: "
            "`lnpilot pay` pays LNURL-pay codes and Lightning addresses"
        )
        raise typer.Exit(ExitCode.BAD_INPUT)
    console = output.stderr if as_json else output.stdout
    table = pay_request_table(request, "LNURL to pay")
    table.add_row("amount", output.sat(amount_msat))
    if comment:
        table.add_row("your comment", escape(comment))
    console.print(table)
    try:
        check_amount(request, amount_msat)
        if comment and len(comment) > request.comment_allowed:
            raise ValueError(
                f"comment is {len(comment)} characters; this service accepts at most "
                f"{request.comment_allowed}"
            )
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    confirm_or_exit(f"Pay {output.sat(amount_msat)} to this service?", yes=yes, as_json=as_json)

    async def send(client: LNbitsClient) -> Payment:
        try:
            return await client.lnurl.pay(request, amount_msat, comment=comment)
        except PaymentOutcomeUnknownError as exc:
            known = f"payment hash {exc.payment_hash}" if exc.payment_hash else "this payment"
            output.error(
                f"Outcome unknown for {known}: it may or may not have been paid, and it was "
                "NOT retried. Check it later with `lnpilot payments list` before paying again."
            )
            raise typer.Exit(ExitCode.OUTCOME_UNKNOWN) from None

    show_payment(run(ctx, send), as_json)
