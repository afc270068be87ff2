"""How the CLI shows things: rich tables for people, plain JSON for scripts.

Every command renders through here so that a wallet, a payment or an invoice looks the
same wherever it appears (a command's answer, ``watch``, the demo). JSON keeps the
client's units (``*_msat`` integers, ISO-8601 UTC times); tables show satoshi. What the
REST API also answers is emitted from the same typed model the same way (:func:`emit_model`).
Payment preimages are left out everywhere: the client treats them as secrets.

Output that goes to a pipe, a file or cron is not fitted to 80 columns: see :class:`_Console`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import typer
from pydantic import TypeAdapter
from rich import box
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lnpilot.lnbits.bolt11 import Invoice
from lnpilot.lnbits.models import Payment, WalletBalance
from lnpilot.lnbits.stream import PaymentUpdate

#: The width of output that is not going to a terminal: wide enough that no table or line
#: lnpilot prints is ever folded, so `lnpilot channels | grep` and `> file` see whole rows.
PIPE_WIDTH = 1000


class _Console(Console):
    """A console that is only as narrow as a terminal it writes to.

    Rich fits output to 80 columns when it finds no terminal (and to the width of whichever
    of stdin, stdout or stderr is one, so ``lnpilot channels | less`` folds to the window
    although nothing is being displayed there yet). Tables folded that way lose their rows'
    one-line shape for grep, awk and log files. Not writing to a terminal, the width is
    :data:`PIPE_WIDTH`, unless ``COLUMNS`` asks for another.
    """

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or self._width is not None or "COLUMNS" in self._environ:
            return size
        return ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


stdout = _Console(highlight=False)
stderr = _Console(stderr=True, highlight=False)

_STATUS_STYLE = {"success": "green", "failed": "red", "pending": "yellow"}


def error(message: str) -> None:
    """One red line on stderr; ``message`` is shown literally (no rich markup)."""
    stderr.print(f"[red]{escape(message)}[/red]", soft_wrap=True)


def model_json(shape: Any, value: object) -> Any:
    """``value`` as JSON data, serialised by pydantic from its type ``shape`` (such as
    ``list[Alert]``): the way the REST API serialises the same type, so ``lnpilot … --json``
    and the API give one shape for one object (``tests/api/test_cli_agrees.py`` checks it)."""
    return TypeAdapter(shape).dump_python(value, mode="json")


def emit_model(shape: Any, value: object) -> None:
    """``value`` on stdout as the API answers it (:func:`model_json`)."""
    emit_json(model_json(shape, value))


def emit_json(data: Any, *, compact: bool = False) -> None:
    """JSON on stdout, uncoloured and unwrapped, so it pipes into jq as is."""
    text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=2)
    typer.echo(text)


def sat(msat: int) -> str:
    """``1,234.5 sat`` from msat."""
    return f"{sat_number(msat)} sat"


def sat_number(msat: int) -> str:
    """``1,234.5`` from msat: whole satoshi unless the amount has msat in it."""
    value = Decimal(msat) / 1000
    return f"{value:,f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def when(moment: datetime | None, *, zone: bool = True) -> str:
    """A UTC time to the second; ``zone=False`` where a column header already says UTC."""
    if moment is None:
        return "-"
    return moment.strftime("%Y-%m-%d %H:%M:%S" + (" UTC" if zone else ""))


# -- wallets -----------------------------------------------------------------------------


def wallet_json(wallet: WalletBalance) -> dict[str, Any]:
    return wallet.model_dump(mode="json")


def wallet_table(wallet: WalletBalance, title: str | None = None) -> Table:
    table = fields_table(title or f"Wallet {wallet.name}")
    table.add_row("name", escape(wallet.name))
    # LNbits returns the wallet id for the admin key only.
    table.add_row("id", wallet.id or "(admin key only)")
    table.add_row("balance", sat(wallet.balance_msat))
    return table


# -- payments ----------------------------------------------------------------------------


def payment_json(payment: Payment) -> dict[str, Any]:
    return payment.model_dump(mode="json", exclude={"preimage"})


def payment_table(payment: Payment, title: str) -> Table:
    """One payment in detail, e.g. the invoice just created or the payment just made."""
    table = fields_table(title)
    table.add_row("status", _status(payment.status))
    table.add_row("amount", sat(payment.amount_msat))
    if payment.fee_msat:
        table.add_row("fee", sat(abs(payment.fee_msat)))
    table.add_row("memo", escape(payment.memo or ""))
    table.add_row("payment hash", payment.payment_hash)
    table.add_row("time", when(payment.time))
    if not payment.is_outgoing:  # an invoice to hand to the payer
        table.add_row("expires", when(payment.expiry))
        table.add_row("bolt11", payment.bolt11)
    return table


def payments_table(payments: Sequence[Payment], title: str) -> Table:
    # Borderless, with the units in the headers: the memo keeps room in 80 columns.
    table = Table(
        title=escape(title),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("amount sat", justify="right", no_wrap=True)
    table.add_column("fee sat", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("memo")
    table.add_column("payment hash", no_wrap=True)
    for payment in payments:
        table.add_row(
            when(payment.time, zone=False),
            _signed(payment.amount_msat),
            sat_number(abs(payment.fee_msat)),
            _status(payment.status),
            escape(payment.memo or ""),
            payment.payment_hash[:12] + "…",
        )
    return table


def update_line(update: PaymentUpdate) -> Text:
    """One line per live update: time, signed amount, status, hash, memo, new balance.

    Print it with ``soft_wrap=True``: one update stays one line, whatever the width.
    """
    payment = update.payment
    line = Text.assemble(
        (when(payment.updated_at or payment.time), "dim"),
        "  ",
        (f"{_signed(payment.amount_msat) + ' sat':>14}", "bold"),
        "  ",
        (f"{payment.status:<8}", _STATUS_STYLE.get(payment.status, "")),
        "  ",
        payment.payment_hash[:12] + "…",
        "  ",
        payment.memo or "",
    )
    if update.wallet_balance_sat is not None:
        line.append(f"  balance {update.wallet_balance_sat:,} sat", "dim")
    if update.reconciled:
        line.append("  (caught up after reconnect)", "dim")
    return line


def update_json(update: PaymentUpdate) -> dict[str, Any]:
    return {
        "payment": payment_json(update.payment),
        "wallet_balance_sat": update.wallet_balance_sat,
        "reconciled": update.reconciled,
    }


# -- invoices (decoded locally) -----------------------------------------------------------


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    return {
        "payment_hash": invoice.payment_hash,
        "amount_msat": invoice.amount_msat,
        "description": invoice.description,
        "description_hash": invoice.description_hash,
        "payee_pubkey": invoice.payee_pubkey,
        "network_prefix": invoice.network_prefix,
        "created_at": invoice.created_at.isoformat(),
        "expiry_s": invoice.expiry_s,
        "expires_at": invoice.expires_at.isoformat(),
        "expired": invoice.is_expired(),
        "min_final_cltv_expiry": invoice.min_final_cltv_expiry,
        "bolt11": invoice.bolt11,
    }


def invoice_table(invoice: Invoice, title: str, payee: str | None = None) -> Table:
    """A decoded invoice; ``payee`` overrides the invoice's own (often absent) payee field."""
    table = fields_table(title)
    amount = sat(invoice.amount_msat) if invoice.amount_msat is not None else "any (not set)"
    table.add_row("amount", amount)
    if invoice.description is not None:
        table.add_row("description", escape(invoice.description))
    if invoice.description_hash is not None:
        table.add_row("description hash", invoice.description_hash)
    shown_payee = payee or invoice.payee_pubkey
    table.add_row("payee", shown_payee or "(not stated; known from the signature when paid)")
    table.add_row("payment hash", invoice.payment_hash)
    table.add_row("created", when(invoice.created_at))
    expires = when(invoice.expires_at)
    table.add_row("expires", f"[red]{expires} (expired)[/red]" if invoice.is_expired() else expires)
    table.add_row("network", invoice.network_prefix or "?")
    return table


# -- helpers -----------------------------------------------------------------------------


def fields_table(title: str) -> Table:
    """Name/value rows; borderless so a 64-character hash fits on one 80-column line."""
    table = Table(
        title=escape(title), title_justify="left", show_header=False, box=None, pad_edge=False
    )
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    return table


def _signed(msat: int) -> str:
    """Satoshi with an explicit sign, so incoming and outgoing read apart at a glance."""
    return ("+" if msat > 0 else "") + sat_number(msat)


def _status(status: str) -> str:
    style = _STATUS_STYLE.get(status)
    return f"[{style}]{status}[/{style}]" if style else escape(status)


def table(title: str, *columns: str) -> Table:
    """A listing table in the CLI's one style: title on the left, a rule under the head."""
    listing = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        listing.add_column(column)
    return listing
