"""One backup archive: the store, the configuration and policy files, the latest channel
backup, and a manifest with a checksum for each; verified, restored from, pruned.

The archive is a gzip'd tar named ``lnpilot-backup-<UTC time>.tar.gz``:

- ``manifest.json``: what the archive holds, file by file (SHA-256 and size), the rows per
  table of the store copy, the schema revision, the channel backup's channel set and time,
  and which secrets were left out;
- ``store/lnpilot.sqlite`` (SQLite's online backup) or ``store/lnpilot.pgdump``
  (``pg_dump --format=custom``): see :mod:`lnpilot.store.dump`;
- ``config/<name>``: the configuration, fee policy and alerts files, secrets left out
  unless asked (:mod:`lnpilot.backup.secrets`);
- ``scb/channel.backup``: the latest channel backup the node verified, if any.

It is written beside its final name and renamed when complete, so a half-written archive
never carries the final name, and pruning counts only complete ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lnpilot import __version__
from lnpilot.backup.scb import SCB_FILE_NAME
from lnpilot.backup.secrets import strip_secrets
from lnpilot.store import Store, upgrade
from lnpilot.store import channel_backups as stored
from lnpilot.store import dump as db

log = logging.getLogger(__name__)

ARCHIVE_FORMAT = "lnpilot-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARCHIVE_PREFIX = "lnpilot-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
_CHUNK = 1 << 20


class ArchiveInvalid(Exception):
    """The archive is damaged or not an lnpilot backup; ``problems`` lists each finding."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.problems = problems


class RestoreRefused(Exception):
    """The restore would overwrite something the operator did not say may be overwritten."""


class RestoreFailed(Exception):
    """The restore ran but the database does not hold what the archive says it should."""


@dataclass(frozen=True)
class ArchiveReport:
    """A verified archive: where it is and what its manifest says."""

    path: Path
    manifest: dict[str, Any]


@dataclass(frozen=True)
class RestoreReport:
    archive: Path
    database_kind: str
    row_counts: dict[str, int]
    schema_revision: str
    files_written: list[Path] = field(default_factory=list)


def archive_name(at: datetime) -> str:
    return f"{ARCHIVE_PREFIX}{at.strftime('%Y%m%dT%H%M%SZ')}{ARCHIVE_SUFFIX}"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def create_archive(
    store: Store,
    database_url: str,
    out_dir: Path,
    *,
    files: Sequence[Path] = (),
    include_secrets: bool = False,
    clock: Callable[[], datetime],
) -> ArchiveReport:
    """Write a new archive into `out_dir` (see the module docstring); `files` are the
    configuration and policy files to carry."""
    at = clock()
    async with store.read() as reader:
        scb = await stored.latest(reader)
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".lnpilot-backup-") as staging_dir:
        staging = Path(staging_dir)
        copy = await db.dump(database_url, staging)
        manifest = await asyncio.to_thread(
            _stage_and_write, staging, copy, files, include_secrets, scb, at
        )
        final = out_dir / archive_name(at)
        await asyncio.to_thread(_write_tar, staging, final, manifest)
    log.info("backup archive written: %s", final)
    return ArchiveReport(final, manifest)


def _stage_and_write(
    staging: Path,
    copy: db.Dump,
    files: Sequence[Path],
    include_secrets: bool,
    scb: stored.StoredBackup | None,
    at: datetime,
) -> dict[str, Any]:
    """Lay out the archive's files under `staging` (by their names in the archive) and
    return the manifest describing them."""
    members: dict[str, Path] = {f"store/{copy.path.name}": copy.path}
    removed: dict[str, list[str]] = {}
    config_files: dict[str, str] = {}
    for source in files:
        name = _unique(f"config/{source.name}", members)
        content = source.read_text(encoding="utf-8")
        if not include_secrets:
            content, removed[name] = strip_secrets(content, str(source))
        members[name] = _put(staging, name, content.encode())
        config_files[name] = str(source)
    scb_entry = None
    if scb is not None:
        name = f"scb/{SCB_FILE_NAME}"
        members[name] = _put(staging, name, scb.multi_chan_backup)
        scb_entry = {
            "file": name,
            "taken_at": scb.at.isoformat(),
            "channel_points": list(scb.channel_points),
            "sha256": scb.sha256,
        }
    return {
        "format": ARCHIVE_FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": at.isoformat(),
        "lnpilot_version": __version__,
        "database": {
            "kind": copy.kind,
            "file": f"store/{copy.path.name}",
            "schema_revision": copy.schema_revision,
            "row_counts": copy.row_counts,
        },
        "includes_secrets": include_secrets,
        "secrets_left_out": removed,
        "config_files": config_files,
        "channel_backup": scb_entry,
        "files": {
            name: {"sha256": _sha256_file(path), "size_bytes": path.stat().st_size}
            for name, path in sorted(members.items())
        },
        "_paths": {name: str(path) for name, path in members.items()},
    }


def _put(staging: Path, name: str, content: bytes) -> Path:
    target = staging / "files" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target


def _unique(name: str, taken: dict[str, Path]) -> str:
    stem, n = name, 2
    while name in taken:
        name = f"{stem}.{n}"
        n += 1
    return name


def _write_tar(staging: Path, final: Path, manifest: dict[str, Any]) -> None:
    """The manifest first (a reader finds it at once), then the files; complete and
    flushed under a hidden name, then renamed to `final`."""
    members = {name: Path(p) for name, p in manifest.pop("_paths").items()}
    partial = final.with_name(f".{final.name}.partial")
    # owner-only from the first byte: the archive holds the node's history and channels
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
            body = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(body), 0o600
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(body))
            for name, source in sorted(members.items()):
                info = tar.gettarinfo(str(source), arcname=name)
                info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
                with source.open("rb") as file:
                    tar.addfile(info, file)
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, final)


def _complete_archives(out_dir: Path) -> list[Path]:
    """The complete archives in `out_dir`, oldest first (their names sort by time)."""
    return sorted(
        p
        for p in out_dir.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}")
        if p.is_file() and not p.name.startswith(".")
    )


def newest_archive_at(out_dir: Path) -> datetime | None:
    """When the newest complete archive in `out_dir` was made (from its name), if any."""
    for path in reversed(_complete_archives(out_dir)):
        stamp = path.name.removeprefix(ARCHIVE_PREFIX).removesuffix(ARCHIVE_SUFFIX)
        try:
            return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete archives in `out_dir`; returns the ones
    deleted. Other files in the folder are never touched."""
    archives = _complete_archives(out_dir)
    doomed = archives[: max(0, len(archives) - keep)]
    for path in doomed:
        path.unlink()
        log.info("old backup archive pruned: %s (keeping %d)", path, keep)
    return doomed


# --- verify --------------------------------------------------------------------------------


def _read_manifest(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        extracted = tar.extractfile(member)
        assert extracted is not None
        manifest: dict[str, Any] = json.loads(extracted.read())
    except (KeyError, ValueError, AssertionError) as exc:
        raise ArchiveInvalid(path, [f"no readable {MANIFEST}: {exc}"]) from None
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise ArchiveInvalid(path, [f"not an lnpilot backup (format {manifest.get('format')!r})"])
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveInvalid(
            path,
            [
                f"format version {manifest.get('format_version')!r}; "
                f"this lnpilot reads {FORMAT_VERSION}"
            ],
        )
    return manifest


def _check_members(tar: tarfile.TarFile, manifest: dict[str, Any]) -> list[str]:
    problems = []
    expected: dict[str, dict[str, Any]] = manifest.get("files") or {}
    seen = set()
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        if not member.isfile() or member.name.startswith("/") or ".." in member.name.split("/"):
            problems.append(f"unexpected entry {member.name!r} (not a plain relative file)")
            continue
        seen.add(member.name)
        want = expected.get(member.name)
        if want is None:
            problems.append(f"{member.name}: not in the manifest")
            continue
        extracted = tar.extractfile(member)
        assert extracted is not None
        digest, size = hashlib.sha256(), 0
        while chunk := extracted.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        if size != want.get("size_bytes") or digest.hexdigest() != want.get("sha256"):
            problems.append(f"{member.name}: checksum or size differs from the manifest")
    problems += [f"{name}: in the manifest but missing" for name in sorted(set(expected) - seen)]
    return problems


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveInvalid(path, [f"not a readable .tar.gz: {exc}"]) from None


async def verify_archive(path: Path, *, work_dir: Path | None = None) -> ArchiveReport:
    """Check every file against the manifest, then the store copy itself (SQLite's
    integrity check and row counts; ``pg_restore --list`` for a PostgreSQL dump). Raises
    :class:`ArchiveInvalid` listing every problem found."""
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".lnpilot-verify-") as scratch:
        manifest, extracted = await asyncio.to_thread(_check_and_extract, path, Path(scratch))
        database = manifest["database"]
        problems = await _check_database(database, extracted)
    if problems:
        raise ArchiveInvalid(path, problems)
    return ArchiveReport(path, manifest)


def _check_and_extract(path: Path, scratch: Path) -> tuple[dict[str, Any], Path]:
    try:
        with _open(path) as tar:
            manifest = _read_manifest(tar, path)
            problems = _check_members(tar, manifest)
            if problems:
                raise ArchiveInvalid(path, problems)
            name = manifest["database"]["file"]
            source = tar.extractfile(name)
            assert source is not None
            target = scratch / Path(name).name
            with target.open("wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
    except (OSError, tarfile.TarError, EOFError) as exc:  # truncated or damaged gzip
        raise ArchiveInvalid(path, [f"cannot read the archive: {exc}"]) from None
    return manifest, target


async def _check_database(database: dict[str, Any], copy: Path) -> list[str]:
    if database["kind"] == "sqlite":
        problems = await asyncio.to_thread(db.sqlite_integrity, copy)
        if problems:
            return problems
        counts, _ = await asyncio.to_thread(db.sqlite_copy_contents, copy)
        differing = {
            t: (n, counts.get(t)) for t, n in database["row_counts"].items() if counts.get(t) != n
        }
        if differing:
            problems.append(f"row counts differ from the manifest: {differing}")
        return problems
    try:
        await db.run_tool("pg_restore", "--list", str(copy))
    except db.DumpError as exc:
        return [f"the PostgreSQL dump does not read: {exc}"]
    return []


# --- restore -------------------------------------------------------------------------------


async def restore_archive(
    path: Path,
    database_url: str,
    *,
    force: bool = False,
    files_to: Path | None = None,
    work_dir: Path | None = None,
) -> RestoreReport:
    """Restore the store from `path` into the database at `database_url`, which must be
    empty unless `force`; with `files_to`, also write the configuration files and the
    channel backup there (never over an existing file). The archive is verified first."""
    report = await verify_archive(path, work_dir=work_dir)
    manifest = report.manifest
    database = manifest["database"]
    target_kind = db.kind_of(database_url)
    if database["kind"] != target_kind:
        raise RestoreRefused(
            f"the archive holds a {database['kind']} store and the target is {target_kind}; "
            f"restore into a {database['kind']} database"
        )
    if not force:
        holding = {t: n for t, n in (await _counts_if_any(database_url)).items() if n}
        if holding:
            biggest = sorted(holding.items(), key=lambda item: -item[1])[:3]
            shown = ", ".join(f"{t}: {n}" for t, n in biggest)
            raise RestoreRefused(
                f"the target store is not empty: {sum(holding.values())} rows in "
                f"{len(holding)} tables ({shown}, ...); restore into an empty database, "
                "or pass --force to replace its content with the archive's"
            )
    if files_to is not None:
        clashes = [files_to / Path(n).name for n in _carried_files(manifest)]
        existing = [str(p) for p in clashes if p.exists()]
        if existing:
            raise RestoreRefused(f"would overwrite {', '.join(existing)}; choose an empty folder")
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".lnpilot-restore-") as scratch:
        written = await asyncio.to_thread(
            _extract, path, Path(scratch), [database["file"], *_carried_files(manifest)]
        )
        await db.restore(database_url, written[database["file"]])
        revision = await upgrade(database_url)
        counts = await db.row_counts(database_url)
        files_written = []
        if files_to is not None:
            files_written = await asyncio.to_thread(
                _place, files_to, {n: written[n] for n in _carried_files(manifest)}
            )
    differing = {
        t: (n, counts.get(t)) for t, n in database["row_counts"].items() if counts.get(t) != n
    }
    if differing:
        raise RestoreFailed(f"restored, but row counts differ from the archive's: {differing}")
    log.info("store restored from %s (%s, revision %s)", path, target_kind, revision)
    return RestoreReport(path, target_kind, counts, revision, files_written)


def _carried_files(manifest: dict[str, Any]) -> list[str]:
    names = list(manifest.get("config_files") or {})
    if manifest.get("channel_backup"):
        names.append(manifest["channel_backup"]["file"])
    return names


async def _counts_if_any(database_url: str) -> dict[str, int]:
    """Rows per table of the target; nothing for a SQLite file that does not exist yet."""
    if db.kind_of(database_url) == "sqlite" and not db.sqlite_file_exists(database_url):
        return {}
    return await db.row_counts(database_url)


def _place(files_to: Path, extracted: dict[str, Path]) -> list[Path]:
    files_to.mkdir(parents=True, exist_ok=True)
    placed = []
    for name, source in extracted.items():
        target = files_to / Path(name).name
        shutil.copyfile(source, target)
        placed.append(target)
    return placed


def _extract(path: Path, scratch: Path, names: Iterable[str]) -> dict[str, Path]:
    written = {}
    with _open(path) as tar:
        for i, name in enumerate(names):
            source = tar.extractfile(name)
            assert source is not None
            target = scratch / f"{i}-{Path(name).name}"
            with target.open("wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
            written[name] = target
    return written
