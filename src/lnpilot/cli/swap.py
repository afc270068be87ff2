"""``lnpilot swap``: Lightning <-> on-chain swaps through LNbits' Boltz extension.

``out`` (a reverse swap) pays Lightning out of the wallet and receives on-chain: the channel
the payment leaves through gains inbound liquidity. ``--channel`` names the too-full channel
to drain: it is checked (active, enough spendable on our side), shown before and after, and
journaled with the swap; LNbits' pay has no outgoing-channel option, so the node's router
still picks the way out. ``in`` (a submarine swap) gives an
address to pay on-chain and receives Lightning into the wallet. Both are dry runs by
default: they print the quote and what would be done; ``--apply`` does it after a
confirmation (``--yes`` skips the question). The quote is Boltz's pair fees, in sats and
ppm, to compare with what a circular rebalance would cost.

A created swap is journaled in the store (:mod:`lnpilot.rebalance.swaps`): its intent
before the create, then each stage. ``list`` and ``status`` read the journal, ``follow``
asks the extension where the open swaps stand (the daemon does it on its own), ``claimed``
records the on-chain claim of a reverse swap that Boltz 1.1.0 does not make.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

import click
import typer
from sqlalchemy.exc import SQLAlchemyError

from lnpilot.base.domain import Channel, ChannelState, chan_id_from_scid
from lnpilot.cli import output
from lnpilot.cli.collect import DbOption
from lnpilot.cli.runtime import ExitCode, JsonFlag, exit_code_for, fail, run, state_of
from lnpilot.config import make_client, make_node, retention_of
from lnpilot.lnbits import LNbitsError
from lnpilot.lnbits.resources.boltz import SwapQuote, quote_swap
from lnpilot.node.backend import NodeBackend, NodeError
from lnpilot.rebalance.economics import sat_text
from lnpilot.rebalance.swaps import SwapDesk, SwapRequest, swap_detail
from lnpilot.store import Store, normalize_url, sqlite_url
from lnpilot.store import swaps as journal
from lnpilot.store.swaps import SwapRecord

T = TypeVar("T")

app = typer.Typer(help="On-chain swaps through the Boltz extension.", no_args_is_help=True)

AmountArg = Annotated[int, typer.Argument(min=1, help="Lightning amount in sat.")]
PairOpt = Annotated[str, typer.Option("--pair", help="Boltz pair.")]
ApplyFlag = Annotated[bool, typer.Option("--apply", help="Create the swap (without: dry run).")]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before creating it.")]
IntentOpt = Annotated[
    str | None,
    typer.Option(
        "--intent",
        help="Idempotency key: a second run with the same key creates nothing "
        "(default: a new one per run).",
    ),
]


def _with_desk(
    ctx: typer.Context,
    db: str | None,
    work: Callable[[SwapDesk, NodeBackend | None, Store], Awaitable[T]],
) -> T:
    """Run ``work`` with a swap desk on the configured LNbits and the store. The node is
    optional: with a wallet's keys only, swaps work but have no block height to expire
    by and no node to belong to. Failures become one red line and an exit code."""
    settings = state_of(ctx).settings()
    client = make_client(settings)
    try:
        url = normalize_url(db or settings.service.database_url or sqlite_url(settings.data_dir))
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)
    try:
        node: NodeBackend | None = make_node(settings, client)
    except ValueError:
        node = None

    async def main() -> T:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(client)
            if node is not None:
                await stack.enter_async_context(node)
            store = await Store.open(url, retention=retention_of(settings))
            await stack.enter_async_context(store)
            return await work(SwapDesk(client, store), node, store)

    try:
        return asyncio.run(main())
    except LNbitsError as exc:
        fail(exc, exit_code_for(exc))
    except (NodeError, SQLAlchemyError, OSError) as exc:
        fail(exc, ExitCode.FAILED)
    except ValueError as exc:
        fail(exc, ExitCode.BAD_INPUT)


async def _node_id(node: NodeBackend | None, store: Store) -> int | None:
    """The store's id of the configured node, when there is one the collector has seen."""
    if node is None:
        return None
    info = await node.get_info()
    async with store.read() as reader:
        return await reader.node_id(info.pubkey)


def _quote(ctx: typer.Context, kind: Literal["out", "in"], amount_sat: int, pair: str) -> SwapQuote:
    pairs = run(ctx, lambda client: client.boltz.pairs())
    if pair not in pairs:
        output.error(f"pair {pair!r} not offered; the backend offers {sorted(pairs)}")
        raise typer.Exit(ExitCode.BAD_INPUT)
    return quote_swap(pair, pairs[pair], kind, amount_sat)


def _quote_json(quote: SwapQuote) -> dict[str, object]:
    return {
        "kind": quote.kind,
        "pair": quote.pair,
        "lightning_sat": quote.lightning_sat,
        "onchain_sat": quote.onchain_sat,
        "boltz_fee_sat": quote.boltz_fee_sat,
        "miner_fee_sat": quote.miner_fee_sat,
        "cost_sat": quote.cost_sat,
        "cost_ppm": quote.cost_ppm,
        "within_limits": quote.within_limits,
    }


def _quote_line(quote: SwapQuote) -> str:
    ln, chain = f"{quote.lightning_sat:,} sat", f"{quote.onchain_sat:,} sat"
    moves = (
        f"pay {ln} over Lightning, receive {chain} on-chain"
        if quote.kind == "out"
        else f"send {chain} on-chain, receive {ln} over Lightning"
    )
    limits = "" if quote.within_limits else " (OUTSIDE the pair's limits: it would be refused)"
    return (
        f"swap {quote.kind} on {quote.pair}: {moves}; cost {quote.cost_sat:,} sat "
        f"(Boltz {quote.boltz_fee_sat:,} + miners {quote.miner_fee_sat:,}) = {quote.cost_ppm:,} ppm"
        f"{limits}"
    )


@app.command()
def quote(
    ctx: typer.Context,
    amount_sat: AmountArg,
    direction: Annotated[str, typer.Option("--direction", help="out or in.")] = "out",
    pair: PairOpt = "BTC/BTC",
    as_json: JsonFlag = False,
) -> None:
    """What a swap would cost, by the backend's current pair fees."""
    if direction not in ("out", "in"):
        raise typer.BadParameter("give out or in", param_hint="--direction")
    made = _quote(ctx, "out" if direction == "out" else "in", amount_sat, pair)
    if as_json:
        output.emit_json(_quote_json(made))
    else:
        output.stdout.print(_quote_line(made), soft_wrap=True)


def _approved(made: SwapQuote, apply: bool, yes: bool, as_json: bool) -> bool:
    (output.stderr if as_json else output.stdout).print(_quote_line(made), soft_wrap=True)
    if not apply:
        output.stderr.print("Dry run: nothing created (add --apply to create the swap).")
        return False
    if not made.within_limits:
        output.error("Outside the pair's limits: not created.")
        raise typer.Exit(ExitCode.BAD_INPUT)
    if yes:
        return True
    try:
        confirmed = typer.confirm("Create this swap?", default=False, err=as_json)
    except click.exceptions.Abort:  # end of input counts as "no"
        confirmed = False
    if not confirmed:
        output.error("Not created.")
        raise typer.Exit(ExitCode.FAILED)
    return True


def _create(
    ctx: typer.Context,
    made: SwapQuote,
    request: SwapRequest,
    flags: tuple[bool, bool, bool],
    intent: str | None,
    db: str | None,
    *,
    chan_id: int | None = None,
) -> SwapRecord | None:
    """Show the quote; unless a dry run, create through the journal after approval."""
    apply, yes, as_json = flags
    record: SwapRecord | None = None
    if _approved(made, apply, yes, as_json):
        approved_by = f"{getpass.getuser()} ({'--yes' if yes else 'confirmed'})"

        async def work(desk: SwapDesk, node: NodeBackend | None, store: Store) -> SwapRecord:
            return await desk.start(
                request,
                intent_key=intent or f"cli:{uuid.uuid4().hex}",
                created_by="cli",
                approved_by=approved_by,
                node_id=await _node_id(node, store),
                chan_id=chan_id,
                quote=made,
            )

        record = _with_desk(ctx, db, work)
    if as_json:
        answer: dict[str, object] = {"dry_run": record is None, "quote": _quote_json(made)}
        output.emit_json(answer | ({"swap": swap_detail(record)} if record else {}))
    return record


def _drained(ctx: typer.Context, scid: str, amount_sat: int) -> Channel:
    """The channel ``scid`` as the node reports it, refused when the swap's payment cannot
    leave through it (not active, or less spendable on our side than the amount)."""
    try:
        chan_id = chan_id_from_scid(scid)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--channel") from None
    settings = state_of(ctx).settings()
    client = make_client(settings)

    async def main() -> list[Channel]:
        async with client, make_node(settings, client) as node:
            return await node.list_channels()

    try:
        channels = asyncio.run(main())
    except LNbitsError as exc:
        fail(exc, exit_code_for(exc))
    except (NodeError, ValueError) as exc:
        fail(exc, ExitCode.FAILED)
    channel = next((c for c in channels if c.chan_id == chan_id), None)
    if channel is None:
        output.error(f"no channel {scid} on the node (lnpilot channels list)")
        raise typer.Exit(ExitCode.BAD_INPUT)
    if channel.state is not ChannelState.ACTIVE:
        output.error(f"channel {scid} is {channel.state}: a payment cannot leave through it")
        raise typer.Exit(ExitCode.BAD_INPUT)
    spendable_msat = channel.local_balance_msat - (channel.local_reserve_sat or 0) * 1000
    if amount_sat * 1000 > spendable_msat:
        output.error(
            f"channel {scid} has {sat_text(max(spendable_msat, 0))} sat spendable on our side "
            f"(local less its reserve): a {amount_sat:,} sat swap out cannot drain it"
        )
        raise typer.Exit(ExitCode.BAD_INPUT)
    return channel


def _drain_line(channel: Channel, amount_sat: int) -> str:
    total_msat = channel.local_balance_msat + channel.remote_balance_msat
    after_msat = channel.local_balance_msat - amount_sat * 1000

    def pct(msat: int) -> str:
        return f"{msat * 100 // total_msat}%" if total_msat else "-"

    return (
        f"channel {channel.scid}: local {sat_text(channel.local_balance_msat)} sat "
        f"({pct(channel.local_balance_msat)}) -> {sat_text(after_msat)} sat ({pct(after_msat)}) "
        "if the payment leaves through it; LNbits cannot choose the outgoing channel, the "
        "node's router does"
    )


@app.command("out")
def swap_out(
    ctx: typer.Context,
    amount_sat: AmountArg,
    address: Annotated[str, typer.Option("--address", help="On-chain address to receive on.")],
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel",
            help="The too-full channel to drain (BLOCKxTXxOUT): checked, shown, journaled.",
        ),
    ] = None,
    pair: PairOpt = "BTC/BTC",
    apply: ApplyFlag = False,
    yes: YesFlag = False,
    intent: IntentOpt = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Reverse swap: pay Lightning out, receive on-chain (needs the admin key)."""
    started_at = datetime.now(UTC)
    drained = None if channel is None else _drained(ctx, channel, amount_sat)
    made = _quote(ctx, "out", amount_sat, pair)
    if drained is not None:
        (output.stderr if as_json else output.stdout).print(
            _drain_line(drained, amount_sat), soft_wrap=True
        )
    request = SwapRequest("out", amount_sat, address, pair)
    chan_id = None if drained is None else drained.chan_id
    record = _create(ctx, made, request, (apply, yes, as_json), intent, db, chan_id=chan_id)
    if record is not None and not as_json:
        output.stdout.print(
            f"Reverse swap {record.swap_id or '(not known yet)'}: {record.state}"
            f"{_again(record, started_at)}.",
            soft_wrap=True,
        )


@app.command("in")
def swap_in(
    ctx: typer.Context,
    amount_sat: AmountArg,
    refund_address: Annotated[
        str, typer.Option("--refund-address", help="On-chain address for a refund.")
    ],
    pair: PairOpt = "BTC/BTC",
    apply: ApplyFlag = False,
    yes: YesFlag = False,
    intent: IntentOpt = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Submarine swap: get an address to pay on-chain, receive Lightning (admin key)."""
    started_at = datetime.now(UTC)
    made = _quote(ctx, "in", amount_sat, pair)
    request = SwapRequest("in", amount_sat, refund_address, pair)
    record = _create(ctx, made, request, (apply, yes, as_json), intent, db)
    if record is not None and not as_json:
        if record.swap_id is None:
            output.stdout.print(f"Swap intent {record.id}: {record.state}.")
            return
        output.stdout.print(
            f"Swap {record.swap_id} ({record.state}{_again(record, started_at)}): send "
            f"{record.onchain_amount_sat or 0:,} sat to {record.address} before block "
            f"{record.timeout_block_height}.",
            soft_wrap=True,
        )


def _again(record: SwapRecord, started_at: datetime) -> str:
    """Said when ``--intent`` named a swap made by an earlier run: nothing new was created."""
    if record.created_at >= started_at:
        return ""
    return f"; intent {record.intent_key!r} was used before: nothing new created"


def _line(record: SwapRecord) -> str:
    return (
        f"{record.swap_id or '#' + str(record.id):<24}  {record.kind:<3}  "
        f"{record.amount_sat:>12,} sat  {record.state:<8}  {record.created_at:%Y-%m-%d %H:%M}"
        f"  {record.created_by}"
    )


@app.command()
def status(
    ctx: typer.Context, swap_id: str, db: DbOption = None, as_json: JsonFlag = False
) -> None:
    """A journaled swap (by its id or journal row) with the history of its stages."""

    async def work(
        desk: SwapDesk, node: NodeBackend | None, store: Store
    ) -> tuple[SwapRecord, list[journal.SwapEvent]]:
        async with store.read() as reader:
            record = await journal.by_id(reader, swap_id)
            if record is None or record.id is None:
                raise ValueError(f"no swap {swap_id!r} in the journal (lnpilot swap list)")
            return record, await journal.events(reader, [record.id])

    record, events = _with_desk(ctx, db, work)
    if as_json:
        history = [{"at": e.at.isoformat(), "stage": e.state, "reason": e.reason} for e in events]
        output.emit_json(swap_detail(record) | {"history": history})
        return
    output.stdout.print(_line(record), soft_wrap=True)
    for event in events:
        output.stdout.print(
            f"  {event.at:%Y-%m-%d %H:%M:%S}  {event.state:<8}  {event.reason}", soft_wrap=True
        )


@app.command("list")
def list_swaps(ctx: typer.Context, db: DbOption = None, as_json: JsonFlag = False) -> None:
    """The journaled swaps, newest first, with their stage (no keys or preimages)."""

    async def work(desk: SwapDesk, node: NodeBackend | None, store: Store) -> list[SwapRecord]:
        async with store.read() as reader:
            return await journal.recent(reader)

    records = _with_desk(ctx, db, work)
    if as_json:
        output.emit_json({"swaps": [swap_detail(r) for r in records]})
        return
    if not records:
        output.stdout.print("No swaps.")
    for record in records:
        output.stdout.print(_line(record), soft_wrap=True)


@app.command()
def follow(ctx: typer.Context, db: DbOption = None, as_json: JsonFlag = False) -> None:
    """Ask the extension where the open swaps stand and journal what changed."""

    async def work(
        desk: SwapDesk, node: NodeBackend | None, store: Store
    ) -> list[dict[str, object]]:
        height = None if node is None else (await node.get_info()).block_height or None
        return [
            {
                "swap_id": c.swap_id,
                "kind": c.kind,
                "before": c.before,
                "after": c.after,
                "reason": c.reason,
            }
            for c in await desk.follow(block_height=height)
        ]

    changes = _with_desk(ctx, db, work)
    if as_json:
        output.emit_json({"changes": changes})
        return
    if not changes:
        output.stdout.print("No open swap moved.")
    for c in changes:
        output.stdout.print(
            f"{c['swap_id']}: {c['before']} -> {c['after']} ({c['reason']})", soft_wrap=True
        )


@app.command()
def claimed(
    ctx: typer.Context,
    swap_id: str,
    txid: Annotated[str, typer.Option("--txid", help="The claim transaction's id.")],
    db: DbOption = None,
) -> None:
    """Record that a paid reverse swap was claimed on-chain (Boltz 1.1.0 never claims)."""
    if len(txid) != 64 or any(ch not in "0123456789abcdef" for ch in txid.lower()):
        raise typer.BadParameter("a transaction id: 64 hex characters", param_hint="--txid")

    async def work(desk: SwapDesk, node: NodeBackend | None, store: Store) -> SwapRecord:
        return await desk.mark_claimed(swap_id, txid.lower(), by=getpass.getuser())

    record = _with_desk(ctx, db, work)
    output.stdout.print(f"Swap {record.swap_id}: {record.state}.")


@app.command()
def refund(ctx: typer.Context, swap_id: str, db: DbOption = None) -> None:
    """Refund a swap in past its timeout block (its lockup goes back to the refund address)."""

    async def work(desk: SwapDesk, node: NodeBackend | None, store: Store) -> SwapRecord:
        return await desk.refund(swap_id, by=getpass.getuser())

    record = _with_desk(ctx, db, work)
    output.stdout.print(f"Swap {record.swap_id}: {record.state}.")
