"""``lnpilot backup``: archives of the store and files, their verification and restore,
and the node's channel backup taken on demand; ``decrypt`` opens a sealed channel backup a
notice sent.

``create`` reads the store (the daemon's, or ``--db``) and, with a direct LND connection,
first takes a fresh channel backup the node verifies; ``verify`` needs nothing but the
archive; ``restore`` writes into ``--db`` (or the configured database) and refuses one
that holds anything unless ``--force``. Exit codes: 0 done, 1 the archive or the node
failed, 2 bad input (a refused restore included).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from lnpilot.backup import SCB_FILE_NAME, BackupRefused, ScbKeeper
from lnpilot.backup.archive import (
    ArchiveInvalid,
    ArchiveReport,
    RestoreFailed,
    RestoreRefused,
    create_archive,
    restore_archive,
    verify_archive,
)
from lnpilot.backup.scb import refresh_before_archive, write_atomically
from lnpilot.backup.sealed import SEALED_FILE_NAME, SealError, unseal
from lnpilot.backup.secrets import SecretsLeft
from lnpilot.base.redact import register_secret
from lnpilot.base.secrets import read_secret_file
from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, JsonFlag, fail, state_of
from lnpilot.config import make_node
from lnpilot.node.backend import CapabilityMissing, NodeError
from lnpilot.service.backups import archive_dir, carried_files, notice_sealer
from lnpilot.service.daemon import store_url, with_engine_files
from lnpilot.store import Store
from lnpilot.store import channel_backups as stored
from lnpilot.store.dump import DumpError

app = typer.Typer(
    help="Backups: archive the store and files, verify, restore; the channel backup.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: the daemon's, from the configuration)."),
]
ArchiveArgument = Annotated[
    Path, typer.Argument(help="A backup archive (lnpilot-backup-*.tar.gz).", show_default=False)
]


def _now() -> datetime:
    return datetime.now(UTC)


def _summary(report: ArchiveReport) -> dict[str, Any]:
    manifest = report.manifest
    scb = manifest.get("channel_backup")
    return {
        "archive": str(report.path),
        "created_at": manifest["created_at"],
        "database": manifest["database"]["kind"],
        "schema_revision": manifest["database"]["schema_revision"],
        "rows": sum(manifest["database"]["row_counts"].values()),
        "files": sorted(manifest["files"]),
        "channel_backup_channels": len(scb["channel_points"]) if scb else None,
        "includes_secrets": manifest["includes_secrets"],
        "secrets_left_out": manifest["secrets_left_out"],
    }


def _print_summary(title: str, summary: dict[str, Any]) -> None:
    table = output.fields_table(title)
    for key, value in summary.items():
        if isinstance(value, list):
            value = "\n".join(map(str, value)) or "-"
        elif isinstance(value, dict):
            value = "\n".join(f"{k}: {', '.join(v) or '-'}" for k, v in value.items()) or "-"
        table.add_row(key.replace("_", " "), "-" if value is None else str(value))
    output.stdout.print(table)


@app.command("create")
def create(
    ctx: typer.Context,
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Folder for the archive (default: [backup] archive_dir)."),
    ] = None,
    include_secrets: Annotated[
        bool,
        typer.Option(
            "--include-secrets",
            help="Keep keys, passwords and tokens in the copied files (keep the archive safe).",
        ),
    ] = False,
    db: DbOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Write one archive: store, config and policy files, channel backup, manifest.

    Secrets are left out of the copied files unless --include-secrets; the manifest holds
    a SHA-256 per file and the rows per table of the store copy."""
    state = state_of(ctx)
    settings = with_engine_files(state.settings(), state.config_file)
    url = db or store_url(settings)
    where = to or archive_dir(settings)
    include = include_secrets or settings.backup.include_secrets

    async def main() -> tuple[ArchiveReport, str | None]:
        async with await Store.open(url) as store:
            async with make_node(settings) as node:
                note = await refresh_before_archive(node, store, _now, notice_sealer(settings))
            report = await create_archive(
                store,
                url,
                where,
                files=carried_files(settings),
                include_secrets=include,
                clock=_now,
            )
            return report, note

    try:
        report, note = asyncio.run(main())
    except (SecretsLeft, ValueError) as exc:
        fail(exc, ExitCode.BAD_INPUT)
    except (DumpError, SQLAlchemyError, OSError) as exc:
        fail(exc, ExitCode.FAILED)
    if note:
        output.stderr.print(f"[yellow]{note}[/]")
    if json_out:
        output.emit_json(_summary(report))
    else:
        _print_summary("backup written", _summary(report))


@app.command("verify")
def verify(archive: ArchiveArgument, json_out: JsonFlag = False) -> None:
    """Check every file of an archive against its manifest, and the store copy itself."""
    try:
        report = asyncio.run(verify_archive(archive))
    except ArchiveInvalid as exc:
        for problem in exc.problems:
            output.error(f"{archive}: {problem}")
        raise typer.Exit(ExitCode.FAILED) from None
    if json_out:
        output.emit_json({"ok": True, **_summary(report)})
    else:
        _print_summary("backup verified: every checksum matches", _summary(report))


@app.command("restore")
def restore(
    ctx: typer.Context,
    archive: ArchiveArgument,
    db: DbOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the content of a store that is not empty."),
    ] = False,
    files_to: Annotated[
        Path | None,
        typer.Option(
            "--files-to",
            help=f"Also write the configuration files and {SCB_FILE_NAME} into this folder.",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Restore the store from an archive into an empty database (or any, with --force).

    Stop the daemon first: it writes to the store."""
    url = db or store_url(state_of(ctx).settings())
    try:
        report = asyncio.run(restore_archive(archive, url, force=force, files_to=files_to))
    except ArchiveInvalid as exc:
        for problem in exc.problems:
            output.error(f"{archive}: {problem}")
        raise typer.Exit(ExitCode.FAILED) from None
    except RestoreRefused as exc:
        fail(exc, ExitCode.BAD_INPUT)
    except (RestoreFailed, DumpError, SQLAlchemyError, OSError) as exc:
        fail(exc, ExitCode.FAILED)
    summary = {
        "archive": str(report.archive),
        "database": report.database_kind,
        "schema_revision": report.schema_revision,
        "rows": sum(report.row_counts.values()),
        "files_written": [str(p) for p in report.files_written],
    }
    if json_out:
        output.emit_json({**summary, "row_counts": report.row_counts})
    else:
        _print_summary("store restored", summary)


@app.command("scb")
def scb(
    ctx: typer.Context,
    to: Annotated[
        Path | None,
        typer.Option("--to", help=f"Also write it as {SCB_FILE_NAME} in this folder."),
    ] = None,
    db: DbOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Take the node's channel backup now: verified by the node, stored, copied."""
    settings = state_of(ctx).settings()
    url = db or store_url(settings)
    copy_dir = to or settings.backup.scb_dir

    async def main() -> dict[str, Any]:
        async with await Store.open(url) as store, make_node(settings) as node:
            keeper = ScbKeeper(
                node, store, clock=_now, copy_dir=copy_dir, sealer=notice_sealer(settings)
            )
            kept = await keeper.take("on demand")
            pubkey = (await node.get_info()).pubkey
            async with store.read() as reader:
                latest = await stored.latest(reader, await reader.node_id(pubkey))
        assert latest is not None  # take() stored it, or found the same channels stored
        return {
            "stored_now": kept is not None,
            "taken_at": latest.at.isoformat(),
            "channels": len(latest.channel_points),
            "channel_points": list(latest.channel_points),
            "copied_to": str(copy_dir / SCB_FILE_NAME) if copy_dir else None,
        }

    try:
        result = asyncio.run(main())
    except CapabilityMissing as exc:
        fail(exc, ExitCode.BAD_INPUT)
    except (BackupRefused, NodeError, SQLAlchemyError, OSError) as exc:
        fail(exc, ExitCode.FAILED)
    if json_out:
        output.emit_json(result)
    else:
        _print_summary("channel backup verified", result)


@app.command("decrypt")
def decrypt(
    sealed: Annotated[
        Path,
        typer.Argument(help=f"A sealed channel backup ({SEALED_FILE_NAME}).", show_default=False),
    ],
    passphrase_file: Annotated[
        Path,
        typer.Option(
            "--passphrase-file",
            help="The file holding the passphrase ([backup] scb_notify_passphrase_file).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "-o", "--out", help="Where to write LND's channel.backup.", show_default=False
        ),
    ],
) -> None:
    """Open a channel backup a notice sent (sealed with the passphrase): LND's bytes back."""
    try:
        passphrase = read_secret_file(passphrase_file)
        assert isinstance(passphrase, str)
        register_secret(passphrase)
        content = unseal(sealed.read_bytes(), passphrase)
    except (SealError, ValueError, OSError) as exc:
        fail(exc, ExitCode.BAD_INPUT)
    try:
        write_atomically(out, content)
    except OSError as exc:
        fail(exc, ExitCode.FAILED)
    output.stdout.print(f"{out}: {len(content)} bytes of LND channel backup, from {sealed}")
