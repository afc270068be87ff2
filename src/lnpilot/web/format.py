"""How the dashboard writes numbers and times: the Jinja filters.

One place, so every page writes an amount, a rate or an age the same way. Amounts arrive in
msat (the code's unit) and are shown in sat, the unit operators read; times are UTC, and
ages are measured from the page's ``now`` (the daemon's clock, virtual in a simulation),
not the browser's.
"""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment


def sat(msat: int | None) -> str:
    """Whole sat with thousands separators; msat below one sat show as a decimal."""
    if msat is None:
        return "–"
    if msat and abs(msat) < 1000:
        return f"{msat / 1000:.3f}"
    return f"{msat // 1000:,}" if msat >= 0 else f"-{-msat // 1000:,}"


def sat_amount(amount_sat: int | None) -> str:
    return "–" if amount_sat is None else f"{amount_sat:,}"


def ppm(rate: int | None) -> str:
    return "–" if rate is None else f"{rate:,} ppm"


def utc(at: datetime | None) -> str:
    return "–" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def ago(at: datetime | None, now: datetime) -> str:
    """``at`` as an age at ``now``: "just now", "5 min ago", "3 h ago", "2 d ago"."""
    if at is None:
        return "never"
    seconds = (now - at).total_seconds()
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86_400:
        return f"{seconds // 3600:.0f} h ago"
    return f"{seconds // 86_400:.0f} d ago"


def short(pubkey: str | None) -> str:
    """A pubkey's first and last characters: enough to tell nodes apart on a phone."""
    if not pubkey:
        return "–"
    return pubkey if len(pubkey) <= 16 else f"{pubkey[:10]}…{pubkey[-4:]}"


def install(env: Environment) -> None:
    env.filters.update(
        sat=sat,
        sat_amount=sat_amount,
        ppm=ppm,
        utc=utc,
        ago=ago,
        short=short,
    )
