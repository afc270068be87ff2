"""How ``lnpilot channels --closed`` and ``lnpilot channel SCID`` show closed channels.

Their JSON is the API's (:func:`lnpilot.cli.output.emit_model`), so a script moving from
the CLI to ``GET /api/v1/channels/closed`` reads the same fields.
"""

from __future__ import annotations

from datetime import datetime

from rich.markup import escape
from rich.table import Table

from lnpilot.cli import output
from lnpilot.cli.collect import describe_event
from lnpilot.lifecycle.closed import ClosedHistory, ClosedView, FinalAccounting
from lnpilot.store.lifecycle import Agreement


def closed_table(views: list[ClosedView]) -> Table:
    listing = output.table(
        f"{len(views)} closed channels (amounts in sat)",
        "channel",
        "peer",
        "capacity",
        "close",
        "settled",
        "closed seen",
        "earned",
        "spent",
    )
    for column in listing.columns:  # ids and times read whole or not at all
        column.no_wrap = True
    for view in views:
        c, a = view.record.channel, view.accounting
        listing.add_row(
            c.scid or "",
            escape(view.record.peer_alias or c.peer_pubkey[:12] + "…"),
            f"{c.capacity_sat:,}",
            c.close_type.value,
            _maybe_int(c.settled_balance_sat),
            _minute(view.record.closed_seen_at),
            f"{a.fees_earned_msat // 1000:,}",
            f"{a.rebalance_spent_msat // 1000:,}",
        )
    return listing


def print_history(scid: str, history: ClosedHistory) -> None:
    """The closed channel's summary, final accounting, agreements, plans and history."""
    view = history.view
    record, c, a = view.record, view.record.channel, view.accounting
    peer = c.peer_pubkey + (f" ({record.peer_alias})" if record.peer_alias else "")
    rows = [
        ("status", "[dim]closed[/dim]"),
        ("peer", escape(peer)),
        ("channel point", c.channel_point),
        ("capacity", f"{c.capacity_sat:,} sat"),
        ("close type", f"{c.close_type.value} (closed by {c.close_initiator.value})"),
        ("opened by", c.open_initiator.value),
        ("closing tx", c.closing_txid or "unknown"),
        ("close height", _maybe_int(c.close_height)),
        ("settled to us", _maybe_sat(c.settled_balance_sat)),
        ("first seen", output.when(record.first_seen_at)),
        ("closed seen", output.when(record.closed_seen_at)),
    ]
    rows += _accounting_rows(a)
    rows += [("agreement", agreement_text(agreement)) for agreement in view.agreements]
    summary = Table(
        title=f"Channel {scid}", title_justify="left", show_header=False, box=None, pad_edge=False
    )
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")
    for name, value in rows:
        summary.add_row(name, value)
    output.stdout.print(summary)
    if history.journal:
        output.stdout.print("lnpilot's procedure:")
    for step in history.journal:
        who = f" (approved by {step.approved_by})" if step.approved_by else ""
        line = f"  {output.when(step.at)}  plan {step.plan_id} {step.step}: {step.outcome}{who}"
        output.stdout.print(escape(f"{line} — {step.reason}"), soft_wrap=True)
    output.stdout.print("History:" if history.events else "No events recorded.")
    for event in history.events:
        output.stdout.print(escape(f"  {output.when(event.at)}  {describe_event(event)}"))
    if history.policy_history:
        output.stdout.print(f"{len(history.policy_history)} policy changes recorded.")


def agreement_text(agreement: Agreement) -> str:
    """One agreement in a line (escaped for rich): name, terms, contact, note, whether live.

    Open and closed channels show it the same way, so it is read the same in both."""
    terms = ", ".join(f"{name} {value}" for name, value in agreement.terms.items())
    parts = [f"{agreement.name or '(no name)'}: {terms or 'no terms'}"]
    if agreement.contact:
        parts.append(f"contact {agreement.contact}")
    if agreement.note:
        parts.append(f"note {agreement.note}")
    state = "archived " + output.when(agreement.archived_at) if agreement.archived_at else "live"
    return escape(f"{'; '.join(parts)} ({state}, since {output.when(agreement.created_at)})")


def _accounting_rows(a: FinalAccounting) -> list[tuple[str, str]]:
    onchain = (
        f"{a.onchain_fee_sat:,} sat (estimated by lnpilot's close)"
        if a.onchain_fee_sat is not None
        else "unknown (not closed by lnpilot; the node does not report it)"
    )
    lifetime = _duration(a.lnd_lifetime_s) + " (LND)" if a.lnd_lifetime_s else ""
    if a.observed_lifetime_s:
        lifetime = (lifetime + ", " if lifetime else "") + _duration(a.observed_lifetime_s)
        lifetime += " watched by lnpilot"
    return [
        ("forwards", f"{a.forwards_out} out, {a.forwards_in} in"),
        (
            "fees earned",
            f"{output.sat(a.fees_earned_msat)} (+ {output.sat(a.fees_inbound_msat)}"
            " on forwards in)",
        ),
        ("rebalancing spent", output.sat(a.rebalance_spent_msat)),
        ("on-chain close", onchain),
        ("net", output.sat(a.net_msat)),
        ("lifetime", lifetime or "unknown"),
    ]


def _minute(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else "unknown"


def _duration(seconds: int | None) -> str:
    if not seconds:
        return "unknown"
    days, rest = divmod(seconds, 86_400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


def _maybe_int(value: int | None) -> str:
    return f"{value:,}" if value is not None else "unknown"


def _maybe_sat(value: int | None) -> str:
    return f"{value:,} sat" if value is not None else "unknown"
