"""``lnpilot lnurl``: read what an LNURL or Lightning address offers, through LNbits.

Paying one is ``lnpilot pay CODE --amount-sat N``; this group only looks, so an operator can
check a service's bounds and description (or spot a withdraw/auth code) before paying.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, fail, run
from lnpilot.lnbits.resources.lnurl import (
    LnurlAuth,
    LnurlChannel,
    LnurlPay,
    LnurlScan,
    LnurlWithdraw,
    normalize_code,
)

app = typer.Typer(no_args_is_help=True, help="LNURL and Lightning addresses: scan one.")


@app.command()
def scan(
    ctx: typer.Context,
    code: Annotated[
        str, typer.Argument(help="An LNURL (lnurl1…) or Lightning address (user@domain).")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Show what an LNURL or Lightning address offers (LNbits fetches it; invoice key).

    Exit codes: 0 shown, 1 LNbits or the service failed, 2 not an LNURL.
    """
    try:
        normalize_code(code)
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    scanned = run(ctx, lambda client: client.lnurl.scan(code))
    if as_json:
        output.emit_json(scan_json(scanned))
    else:
        output.stdout.print(scan_table(scanned))


def scan_json(scanned: LnurlScan) -> dict[str, object]:
    """The typed scan as JSON, secrets (k1) left out, amounts in msat."""
    data: dict[str, object] = scanned.model_dump(mode="json", exclude={"k1", "raw"})
    if isinstance(scanned, LnurlPay):
        data["description"] = scanned.description
        data["identifier"] = scanned.identifier
    return data


def pay_request_table(request: LnurlPay, title: str) -> Table:
    """An LNURL-pay request as the operator should see it before paying."""
    table = output.fields_table(title)
    table.add_row("kind", "pay")
    if request.identifier:
        table.add_row("address", escape(request.identifier))
    table.add_row("description", escape(request.description) or "(none)")
    table.add_row(
        "accepts",
        f"{output.sat(request.min_sendable_msat)} to {output.sat(request.max_sendable_msat)}",
    )
    allowed = request.comment_allowed
    table.add_row("comments", f"up to {allowed} characters" if allowed else "not accepted")
    table.add_row("callback", escape(request.callback))
    return table


def scan_table(scanned: LnurlScan) -> Table:
    if isinstance(scanned, LnurlPay):
        return pay_request_table(scanned, "LNURL")
    table = output.fields_table("LNURL")
    table.add_row("kind", scanned.kind)
    if isinstance(scanned, LnurlWithdraw):
        table.add_row("description", escape(scanned.default_description) or "(none)")
        table.add_row(
            "offers",
            f"{output.sat(scanned.min_withdrawable_msat)} to "
            f"{output.sat(scanned.max_withdrawable_msat)}",
        )
    elif isinstance(scanned, LnurlAuth):
        table.add_row("login to", escape(scanned.domain))
    elif isinstance(scanned, LnurlChannel):
        table.add_row("node", escape(scanned.uri))
    table.add_row("callback", escape(scanned.callback))
    return table
