"""``lnpilot decode``: read a BOLT11 invoice offline."""

from __future__ import annotations

from typing import Annotated

import typer

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, fail
from lnpilot.lnbits import InvoiceDecodeError
from lnpilot.lnbits.bolt11 import decode as decode_bolt11


def decode(
    bolt11: Annotated[str, typer.Argument(help="The BOLT11 invoice to read.")],
    as_json: JsonFlag = False,
) -> None:
    """Show what an invoice asks for, without contacting LNbits (no configuration needed).

    The signature is not checked here; LNbits and the node check it when paying.
    """
    try:
        invoice = decode_bolt11(bolt11)
    except InvoiceDecodeError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    if as_json:
        output.emit_json(output.invoice_json(invoice))
    else:
        output.stdout.print(output.invoice_table(invoice, "Invoice"))
