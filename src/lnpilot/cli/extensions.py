"""``lnpilot extensions check``: installed LNbits extensions with a known security problem."""

from __future__ import annotations

import typer
from rich import box
from rich.table import Table

from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, run
from lnpilot.lnbits.advisories import ADVISORIES, AdvisoryFinding, check_extensions

app = typer.Typer(help="LNbits extensions: security check.", no_args_is_help=True)


@app.command()
def check(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Warn about installed extensions with a recorded security problem, and what to do.

    Needs an admin account (username/password): LNbits lists installed extensions to its
    admins only. Exits 1 when an ACTIVE extension is affected, so a cron job can alert.
    """
    installed = run(ctx, lambda client: client.extensions.list_all())
    findings = check_extensions(installed)
    if as_json:
        output.emit_json(
            {
                "checked": [a.ext_id for a in ADVISORIES],
                "findings": [f.as_json() for f in findings],
            }
        )
    elif not findings:
        output.stdout.print(
            "No installed extension has a recorded security problem "
            f"(checked: {', '.join(a.ext_id for a in ADVISORIES)})."
        )
    else:
        output.stdout.print(_findings_table(findings))
        for finding in findings:
            output.stdout.print(
                f"\n[bold]{finding.ext_id}[/bold] {finding.installed_version or '?'}: "
                f"{finding.advisory.problem}\n  what to do: {finding.advisory.what_to_do}",
                soft_wrap=True,
            )
    if any(f.active and f.verdict == "affected" for f in findings):
        raise typer.Exit(ExitCode.FAILED)


def _findings_table(findings: list[AdvisoryFinding]) -> Table:
    table = Table(title="Extension security check", box=box.SIMPLE_HEAD)
    for column in ("extension", "installed", "recorded on", "active", "verdict"):
        table.add_column(column)
    for f in findings:
        style = "red" if f.verdict == "affected" and f.active else "yellow"
        table.add_row(
            f.ext_id,
            f.installed_version or "?",
            f.advisory.recorded_version,
            "yes" if f.active else "no",
            f"[{style}]{f.verdict}[/{style}]",
        )
    return table
