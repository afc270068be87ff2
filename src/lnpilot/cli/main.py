"""The ``lnpilot`` application: the global ``--config`` option and the command tree.

Configuration is read lazily, by the commands that talk to LNbits, so ``decode``,
``dev lnbits`` and ``demo`` work on a machine with no configuration at all. Commands are
imported lazily too (:mod:`lnpilot.cli.lazy`): ``COMMANDS`` says where each lives and the
line ``lnpilot --help`` shows for it, so a command costs its imports only when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lnpilot.cli.lazy import Lazy, lazy_group

#: Every command, in the order ``lnpilot --help`` lists them. ``help`` is the command's own
#: first help line, copied here so the listing imports nothing; a test keeps them equal.
COMMANDS = (
    Lazy(
        "init",
        "lnpilot.cli.init:init",
        "Check the LNbits (and LND) credentials live and write lnpilot.toml, fees.toml, "
        "alerts.toml.",
    ),
    Lazy(
        "pay",
        "lnpilot.cli.pay:pay",
        "Pay an invoice (needs the admin key). Asks before paying unless --yes.",
    ),
    Lazy("lnurl", "lnpilot.cli.lnurl:app", "LNURL and Lightning addresses: scan one."),
    Lazy(
        "decode",
        "lnpilot.cli.decode:decode",
        "Show what an invoice asks for, without contacting LNbits (no configuration needed).",
    ),
    Lazy(
        "watch",
        "lnpilot.cli.payments:watch",
        "Print the wallet's payments live as they happen, one line each; Ctrl-C stops.",
    ),
    Lazy(
        "demo",
        "lnpilot.cli.demo:demo",
        "Run a simulated Lightning network with our routing node and LNbits on it, live.",
    ),
    Lazy("wallet", "lnpilot.cli.wallet:app", "The configured wallet."),
    Lazy("invoice", "lnpilot.cli.invoice:app", "Invoices to receive into the configured wallet."),
    Lazy("payments", "lnpilot.cli.payments:app", "Payments of the configured wallet."),
    Lazy("dev", "lnpilot.cli.dev:app", "Development helpers."),
    Lazy("alerts", "lnpilot.cli.alerts:alerts_app", "Alerts: what fires now, and silences."),
    Lazy("incidents", "lnpilot.cli.alerts:incidents_app", "Incidents opened by grave alerts."),
    Lazy(
        "incident",
        "lnpilot.cli.alerts:incident",
        "Show, ack, annotate, resolve or export an incident, or act on one of its actions.",
    ),
    Lazy("notify", "lnpilot.cli.alerts:notify_app", "Notification receivers and the outbox."),
    Lazy(
        "fees",
        "lnpilot.cli.fees:app",
        "Fee policy: check it, plan (dry run), apply, history, rollback.",
    ),
    Lazy(
        "collect",
        "lnpilot.cli.collect:collect",
        "Read the node and record its channels, balances, forwards and events in the store.",
    ),
    Lazy(
        "channels",
        "lnpilot.cli.channels:channels",
        "Every channel: peer, capacity, balance, ratio, fees earned over 7 days, flow trend.",
    ),
    Lazy(
        "channel",
        "lnpilot.cli.channels:channel",
        "One channel's history: metrics, events and policy changes (closed: close, accounting).",
    ),
    Lazy("simnet", "lnpilot.cli.simnet:app", "The simulated Lightning network (simnet)."),
    Lazy(
        "backtest",
        "lnpilot.cli.backtest:backtest_command",
        "Try a fee policy on a simulated copy of the node and compare it with the current one.",
    ),
    Lazy(
        "run",
        "lnpilot.cli.run:run",
        "Run the daemon: collector, fee engine, rebalancer, alerts, API and dashboard.",
    ),
    Lazy("tokens", "lnpilot.cli.tokens:app", "API tokens: create, list, revoke."),
    Lazy(
        "rebalance",
        "lnpilot.cli.rebalance:app",
        "Rebalancing under a budget: plan (dry run), run, auto, history.",
    ),
    Lazy("extensions", "lnpilot.cli.extensions:app", "LNbits extensions: security check."),
    Lazy("lndhub", "lnpilot.cli.lndhub:app", "LNDHub access for wallet apps (BlueWallet, Zeus)."),
    Lazy("users", "lnpilot.cli.users:app", "Users managed with the UserManager extension."),
    Lazy(
        "backup",
        "lnpilot.cli.backup:app",
        "Backups: archive the store and files, verify, restore; the channel backup.",
    ),
    Lazy(
        "export",
        "lnpilot.cli.export:export_command",
        "Export forwards, fee changes, rebalances, payments or accounting as CSV or JSON.",
    ),
    Lazy(
        "close", "lnpilot.cli.close:app", "Which channels to close, and closing them step by step."
    ),
    Lazy(
        "open",
        "lnpilot.cli.opening:app",
        "Opening channels: whom to, how large, and opening them.",
    ),
    Lazy("swap", "lnpilot.cli.swap:app", "On-chain swaps through the Boltz extension."),
    Lazy(
        "lnbits", "lnpilot.cli.lnbits_admin:app", "The LNbits server: its settings (admin login)."
    ),
)

app = typer.Typer(
    name="lnpilot",
    help="Monitor and control a Lightning node run through LNbits.",
    no_args_is_help=True,
    add_completion=False,
    # Tracebacks of unexpected errors must not print local variables: they hold keys.
    pretty_exceptions_show_locals=False,
    cls=lazy_group(*COMMANDS),
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            # lnpilot.config.CONFIG_ENV_VAR, written out: importing the configuration (and
            # pydantic) only to say its name would double the cost of `lnpilot --help`.
            help="Configuration file (default: $LNPILOT_CONFIG, else ./lnpilot.toml if any).",
        ),
    ] = None,
) -> None:
    """lnpilot: monitor and control a Lightning node run through LNbits."""
    from lnpilot.cli.runtime import CliState  # with the configuration: see CONFIG_ENV_VAR

    ctx.obj = CliState(config_file=config)
