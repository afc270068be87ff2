"""``lnpilot demo`` (``make demo``): our routing node in a simulated network, live.

It runs the shipped demo scenario (a generated 60-node network, so nothing outside the
repository is needed) at a speed-up, serves our node's LND REST face, and puts a real LNbits
(LndRestWallet) on it when one is installed (`make lnbits`). Every second it redraws our
node's channels (balance, forwards, fees earned, status) and latest forwards; beside them,
through lnpilot's LNbits client, what LNbits sees: its wallet balance, an LNbits invoice paid
by a simulated sender, and a payment LNbits makes over the simulated network with the fee it
paid. It runs until Ctrl-C (or `--duration` seconds) and stops everything it started.

Beside them runs lnpilot's daemon, as `lnpilot run` would on a real node: on a fresh SQLite
store, reading the simulated node through its LND REST face, with the collector, the alert
engine, the fee engine and the rebalancer in apply mode (the policy below), and the REST API
with the web dashboard, whose address it prints twice: with a read token, and with an admin
token whose session can act (plan and apply fees, plan and run rebalances, on the policy below,
written as the daemon's policy file; a plan is a dry run, applying asks to confirm). Its
schedules are wall
clock seconds, so at the default speed-up a user sees channels move, fees adapt and alerts
fire within a minute; its clock is the simulation's, so the dashboard's times are virtual.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lnpilot.api.app import create_app
from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, fail
from lnpilot.cli.simnet import LiveSimulation, channels_table, live_simulation, pace, status_line
from lnpilot.config import Settings
from lnpilot.devtools import LNbitsStartError, LNbitsUnavailable
from lnpilot.fees import load_policy
from lnpilot.fees.policy import POLICY_FILE_NAME
from lnpilot.lnbits import LNbitsClient, LNbitsError
from lnpilot.monitor import MonitorConfig
from lnpilot.node import CompositeNode, LndRest
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.rebalance.settings import settings_from_policy
from lnpilot.service.context import Services
from lnpilot.service.daemon import Daemon, EngineConfig, build_loops
from lnpilot.service.heap import settle_heap
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.summary import channel_rows
from lnpilot.store import Store, sqlite_url
from lnpilot.store.tokens import Scope, create_token
from lnpilot.web.templating import PREFIX

#: The shipped scenario (src/lnpilot/simnet/scenarios/): generated graph, auto-paid invoices.
SCENARIO = Path("demo.toml")
#: Who LNbits pays: a node two hops away, so the payment is routed and pays fees.
PAYEE = "n5"
INVOICE_SAT = 10_000
PAYMENT_SAT = 4_000
#: Wall-clock seconds between two LNbits rounds (an invoice received, a payment made).
ROUND_EVERY_S = 30.0
#: How long LNbits may take to credit an invoice the simulation paid.
CREDIT_TIMEOUT_S = 30.0
POLL_S = 0.2
REFRESH_S = 1.0
RECENT_FORWARDS = 5
#: The daemon's schedules, in wall-clock seconds (the fee engine's and the rebalancer's
#: shortest is a minute).
COLLECT_EVERY_S = 5.0
MONITOR_EVERY_S = 5.0
FEES_EVERY_S = 60.0
REBALANCE_EVERY_S = 60.0
#: The demo's fee policy and rebalancing settings (one file, as an operator writes them):
#: fees follow each channel's flow; drained channels are refilled under a small budget.
POLICY = """
[safety]
min_interval = "1h"
[[rule]]
name = "default"
strategy = "flow_adaptive"

[rebalance]
min_amount_sat = 20_000
max_fee_ppm = 3_000
[rebalance.budget]
daily_sat = 5_000
monthly_sat = 50_000
"""


@dataclass
class LNbitsView:
    """What the demo has seen of LNbits so far (shown under the channels)."""

    balance_msat: int | None = None
    node_channels: int | None = None
    invoices_paid: int = 0
    payments_made: int = 0
    fees_paid_msat: int = 0
    last_invoice: str = ""
    last_payment: str = ""


def demo(
    speed: Annotated[
        float, typer.Option(min=0.001, help="Virtual seconds per wall-clock second.")
    ] = 120.0,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Stop after this many wall-clock seconds.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the API and dashboard (0: a free one).")
    ] = 0,
) -> None:
    """Run a simulated Lightning network with our routing node and LNbits on it, live.

    Uses a real LNbits when installed (`make lnbits`); runs without it otherwise, and says so.
    lnpilot's daemon runs on the simulated node and prints the dashboard's address.
    Press Ctrl-C to stop.
    """
    with live_simulation(load_scenario(SCENARIO), seed) as live:
        try:
            with output.stderr.status("Starting LNbits on the simulated node…"):
                live.start_lnbits()
        except LNbitsUnavailable as exc:
            output.stdout.print(
                f"[yellow]Running without LNbits:[/yellow] {escape(str(exc))}", soft_wrap=True
            )
        except LNbitsStartError as exc:
            fail(exc, ExitCode.FAILED)
        except KeyboardInterrupt:
            raise typer.Exit(ExitCode.OK) from None
        view = LNbitsView()
        companions = [_show(live, view, speed), _daemon(live, port, speed)]
        lnbits = live.lnbits
        if lnbits is not None:
            output.stdout.print(
                f"LNbits at {lnbits.url} runs on the simulated node's LND REST face "
                f"({live.face.url}).",
                soft_wrap=True,
            )
            companions.append(_lnbits_rounds(live, view))
        output.stdout.print(f"Running at {speed:g}× real time. Press Ctrl-C to stop.")
        asyncio.run(pace(live, speed, duration, *companions))
    output.stdout.print()
    output.stdout.print("Stopped the daemon.")
    output.stdout.print("Stopped the simulation" + (" and LNbits." if lnbits else "."))


# --- lnpilot's daemon on the simulated node ---------------------------------------------------


async def _daemon(live: LiveSimulation, port: int, speed: float) -> None:
    """The daemon with the API and dashboard on 127.0.0.1:`port`, until cancelled; then it
    stops as on SIGTERM (each loop finishes its current run) and its store is deleted.
    Its schedules are wall-clock seconds and its clock runs `speed` times faster: it is
    told so, and judges staleness and gaps on its clock."""
    lnbits_url = live.lnbits.url if live.lnbits is not None else "http://127.0.0.1:9"
    with tempfile.TemporaryDirectory(prefix="lnpilot-demo-") as data_dir:
        # The policy as an operator's file: the loops and the dashboard's actions read it.
        policy_file = Path(data_dir) / POLICY_FILE_NAME
        policy_file.write_text(POLICY, encoding="utf-8")
        settings = Settings(
            lnbits={"url": lnbits_url},
            data_dir=Path(data_dir),
            service={
                "collect_interval_s": COLLECT_EVERY_S,
                "monitor_interval_s": MONITOR_EVERY_S,
                "fees_interval_s": FEES_EVERY_S,
                "fees_apply": True,
                "rebalance_interval_s": REBALANCE_EVERY_S,
                "rebalance_apply": True,
                "fees_policy_file": policy_file,
            },
            api={"port": port},
        )
        async with (
            await Store.open(sqlite_url(settings.data_dir)) as store,
            LndRest(live.face.url, live.macaroon_hex) as lnd,
            Notifier(store, NotifyConfig()) as notifier,
        ):
            clock = live.sim.network.now
            node = CompositeNode([lnd])
            services = Services(
                store=store,
                node=node,
                settings=settings,
                clock=clock,
                clock_speed=speed,
                node_pubkey=live.sim.our_node.pubkey,
            )
            policy = load_policy(policy_file)
            rebalance = settings_from_policy(policy.rebalance, policy.groups, str(policy_file))
            engine = EngineConfig(MonitorConfig(), NotifyConfig(), policy, rebalance)
            loops = build_loops(services, engine, notifier)
            try:
                daemon = Daemon(services, loops, create_app)
            except OSError as exc:  # the port is taken or not ours
                output.error(f"cannot serve the dashboard on 127.0.0.1:{port}: {exc.strerror}")
                raise typer.Exit(ExitCode.BAD_INPUT) from None
            async with store.transaction() as tx:
                _, token = await create_token(tx, "demo", Scope.READ, clock())
                _, admin = await create_token(tx, "demo-admin", Scope.ADMIN, clock())
            output.stdout.print(
                f"Dashboard: {daemon.api_url}{PREFIX}/?token={token}  (lnpilot's daemon: "
                f"{', '.join(loop.name for loop in loops)}; fees and rebalancing in apply mode)",
                soft_wrap=True,
            )
            # Loopback only, a store deleted at exit: an admin link is safe to print here.
            output.stdout.print(
                f"As admin: {daemon.api_url}{PREFIX}/?token={admin}  (may act: plan and "
                f"apply fees, plan and run rebalances, under {policy_file}; a plan is a "
                "dry run, applying asks to confirm)",
                soft_wrap=True,
            )
            settle_heap()
            running = asyncio.create_task(daemon.run())
            try:
                await asyncio.shield(running)
            finally:
                daemon.stop()
                await running


# --- the screen ------------------------------------------------------------------------------


async def _show(live: LiveSimulation, view: LNbitsView, speed: float) -> None:
    """Redraw every second; the last frame stays (and is all a log or a pipe gets)."""
    with Live(_render(live, view, speed), console=output.stdout, auto_refresh=False) as screen:
        try:
            while True:
                await asyncio.sleep(REFRESH_S)
                screen.update(_render(live, view, speed), refresh=True)
        finally:
            screen.update(_render(live, view, speed), refresh=True)


def _render(live: LiveSimulation, view: LNbitsView, speed: float) -> RenderableType:
    with live.lock:
        sim = live.sim
        ours = sim.our_node
        header = Text.assemble(
            ("lnpilot demo", "bold"),
            f": our node {ours.node.alias} in a simulated network of {len(sim.network.nodes)} "
            f"nodes, at {speed:g}× real time\n",
            (status_line(sim), "dim"),
        )
        channels = channels_table(channel_rows(sim))
        forwards = _forwards_table(live)
    return Group(header, Text(), channels, Text(), forwards, Text(), _lnbits_table(live, view))


def _forwards_table(live: LiveSimulation) -> Table:
    sim = live.sim
    table = Table(
        title="Latest forwards",
        title_justify="left",
        box=None,
        padding=(0, 1, 0, 0),
        header_style="bold underline",
    )
    for name in ("time (UTC)", "in", "out", "amount sat", "fee sat"):
        table.add_column(name, justify="right" if name.endswith("sat") else "left", no_wrap=True)
    start = sim.network.config.start
    for fwd in reversed(sim.our_node.forwards[-RECENT_FORWARDS:]):
        table.add_row(
            f"{start + timedelta(microseconds=fwd.timestamp_ns // 1000):%H:%M:%S}",
            escape(_peer_alias(live, fwd.chan_id_in)),
            escape(_peer_alias(live, fwd.chan_id_out)),
            output.sat_number(fwd.amt_out_msat),
            output.sat_number(fwd.fee_msat),
        )
    if not sim.our_node.forwards:
        table.add_row("(none yet)", "", "", "", "")
    return table


def _peer_alias(live: LiveSimulation, chan_id: int) -> str:
    """The alias of our peer on one of our channels (closed ones included)."""
    net = live.sim.network
    chan = net.channels[chan_id]
    return net.nodes[chan.peer_of(live.sim.our_node.pubkey)].alias


def _lnbits_table(live: LiveSimulation, view: LNbitsView) -> Table:
    table = Table(title="LNbits", title_justify="left", show_header=False, box=None)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    if live.lnbits is None:
        table.add_row("", "not installed (`make lnbits`): the simulation runs without it")
        return table
    balance = "-" if view.balance_msat is None else output.sat(view.balance_msat)
    table.add_row("wallet balance", balance)
    if view.node_channels is not None:
        table.add_row("node API", f"sees {view.node_channels} active channels of our node")
    table.add_row("invoices paid", f"{view.invoices_paid} by simulated senders")
    if view.last_invoice:
        table.add_row("last invoice", escape(view.last_invoice))
    table.add_row(
        "payments made",
        f"{view.payments_made} over the simulated network, fees {output.sat(view.fees_paid_msat)}",
    )
    if view.last_payment:
        table.add_row("last payment", escape(view.last_payment))
    return table


# --- what LNbits does ---------------------------------------------------------------------


async def _lnbits_rounds(live: LiveSimulation, view: LNbitsView) -> None:
    """Every ROUND_EVERY_S: LNbits invoices, a simulated sender pays; LNbits pays a node.

    Through lnpilot's LNbits client with the superuser's wallet keys (and its token for the
    node API). A failed round is shown and the next one tried: the demo must keep going.
    """
    assert live.lnbits is not None
    superuser = live.lnbits.superuser
    async with LNbitsClient(
        live.lnbits.url,
        invoice_key=superuser.wallet.inkey,
        admin_key=superuser.wallet.adminkey,
        access_token=superuser.access_token,
    ) as client:
        while True:
            try:
                await _receive(client, view)
                await _pay(client, live, view)
                channels = await client.node.channels(bypass_cache=True)
                view.node_channels = sum(1 for c in channels if c.state == "active")
            except (LNbitsError, TimeoutError) as exc:
                output.error(f"LNbits round failed: {type(exc).__name__}: {exc}")
            await asyncio.sleep(ROUND_EVERY_S)


async def _receive(client: LNbitsClient, view: LNbitsView) -> None:
    """An LNbits invoice that a simulated sender pays (the scenario auto-pays our invoices)."""
    invoice = await client.payments.create_invoice(INVOICE_SAT, memo="demo: simulated sender")
    started = asyncio.get_running_loop().time()
    for _ in range(int(CREDIT_TIMEOUT_S / POLL_S)):
        if (await client.payments.status(invoice.payment_hash)).paid:
            break
        await asyncio.sleep(POLL_S)
    else:
        raise TimeoutError(f"LNbits did not credit the invoice within {CREDIT_TIMEOUT_S:g} s")
    waited_s = asyncio.get_running_loop().time() - started
    view.balance_msat = (await client.wallet.get(bypass_cache=True)).balance_msat
    view.invoices_paid += 1
    view.last_invoice = (
        f"{INVOICE_SAT:,} sat, credited {waited_s * 1000:.0f} ms after it was issued"
    )
    output.stdout.print(
        f"LNbits invoice of {INVOICE_SAT:,} sat paid by a simulated sender; wallet balance "
        f"{output.sat(view.balance_msat)}",
        soft_wrap=True,
    )


async def _pay(client: LNbitsClient, live: LiveSimulation, view: LNbitsView) -> None:
    """LNbits pays an invoice of a simulated node: routed over the network, fees charged."""
    with live.lock:
        invoice = live.sim.create_invoice(PAYEE, PAYMENT_SAT * 1000, "demo: LNbits pays")
        payee = live.sim.network.nodes[invoice.node].alias
    payment = await client.payments.pay(invoice.payment_request)
    with live.lock:
        route = live.sim.our_node.lookup_payment(invoice.payment_hash).htlcs[-1].route
        nodes = [route.source, *(hop.pubkey for hop in route.hops)]
        path = " → ".join(live.sim.network.nodes[pubkey].alias for pubkey in nodes)
    fee_msat = abs(payment.fee_msat)
    view.balance_msat = (await client.wallet.get(bypass_cache=True)).balance_msat
    view.payments_made += 1
    view.fees_paid_msat += fee_msat
    view.last_payment = f"{PAYMENT_SAT:,} sat to {payee} via {path}, fee {output.sat(fee_msat)}"
    output.stdout.print(
        f"LNbits paid {PAYMENT_SAT:,} sat to {escape(payee)} over {len(route.hops)} channels "
        f"({escape(path)}), fee {output.sat(fee_msat)}; wallet balance "
        f"{output.sat(view.balance_msat)}",
        soft_wrap=True,
    )
