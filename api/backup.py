"""Backups of a data directory: the SQLite database through SQLite's online backup API, which
copies a consistent snapshot while the server keeps writing, and the signing key."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit


class BackupError(Exception):
    """A backup could not be made; the message says why."""


def backup_sqlite(database: Path, out: Path) -> Path:
    """Copy the live database at `database` into `out` (a snapshot of one moment, WAL
    included); the copy's path. Refuses to overwrite an earlier backup."""
    if not database.is_file():
        raise BackupError(f"no log at {database}")
    target = _fresh(out, database.name)
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    except sqlite3.Error as e:
        target.unlink(missing_ok=True)
        raise BackupError(f"{database}: {e}") from None
    finally:
        source.close()
    return target


def backup_key(key: Path, out: Path) -> Path | None:
    """Copy the signing key into `out`, readable by its owner alone (mode 0600); its path,
    or None if there is no key file."""
    if not key.is_file():
        return None
    target = _fresh(out, key.name)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as sink, key.open("rb") as source:
        shutil.copyfileobj(source, sink)
    return target


def pg_dump_command(url: str, schema: str, out: Path) -> str:
    """The pg_dump command that backs up Concord's schema of the database at `url` (without
    its password: pg_dump reads that from PGPASSWORD or ~/.pgpass)."""
    parts = urlsplit(url)
    options = [f"--schema={shlex.quote(schema)}", "--format=custom",
               f"--file={shlex.quote(str(out / 'concord.pgdump'))}"]
    if parts.hostname:
        options.append(f"--host={shlex.quote(parts.hostname)}")
    if parts.port:
        options.append(f"--port={parts.port}")
    if parts.username:
        options.append(f"--username={shlex.quote(parts.username)}")
    database = parts.path.lstrip("/")
    return "pg_dump " + " ".join(options) + (f" {shlex.quote(database)}" if database else "")


def _fresh(out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / name
    if target.exists():
        raise BackupError(f"{target} exists: back up into a new directory")
    return target
