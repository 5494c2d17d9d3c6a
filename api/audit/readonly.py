"""A log's database opened for reading only, for the verifier: it changes no byte of it.

SQLite writes even through a `mode=ro` connection: it creates the `-wal` and `-shm` files of
a WAL database if they are missing, and updates the `-shm` index when they are there. So a
database without a `-wal` file is opened `immutable=1` (SQLite then reads the main file
alone, takes no locks and creates nothing), and one with a `-wal` file is first copied,
with it, into a private temporary directory and read there. On PostgreSQL the session is
read-only (`default_transaction_read_only`).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from concord.domain.commands import public_type
from concord.domain.envelope import Envelope, make_envelope
from concord.log.application import CoordinationLog
from concord.projections.db import to_postgres

EVENTS_TABLE = "stored_events"  # eventsourcing's table of the log on SQLite (rowid: position)
# On PostgreSQL eventsourcing names it after the application.
PG_EVENTS_TABLE = f"{CoordinationLog.name.lower()}_events"
_COPY_ATTEMPTS = 5


class Unreadable(Exception):
    """The database cannot be read as a Concord log; the message says what is missing."""


@dataclass
class ReadOnlyLog:
    """A read-only connection to a log's database (`?` placeholders), and what was noticed
    about the copy while opening it."""

    connection: Any
    postgres: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def events_table(self) -> str:
        """The table of the log's entries."""
        return PG_EVENTS_TABLE if self.postgres else EVENTS_TABLE

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        """Run one read statement; its cursor."""
        if self.postgres:
            cursor = self.connection.cursor()
            cursor.execute(to_postgres(sql), parameters or None)
            return cursor
        return self.connection.execute(sql, parameters)

    def tables(self) -> set[str]:
        """The names of the database's tables."""
        if self.postgres:
            rows = self.execute("SELECT table_name FROM information_schema.tables WHERE "
                                "table_schema = current_schema()").fetchall()
        else:
            rows = self.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        return {str(name) for (name,) in rows}

    def read(self, after: int, limit: int) -> list[Envelope]:
        """Up to `limit` entries after position `after`, in order, as their envelopes."""
        rows = self.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {PG_EVENTS_TABLE} WHERE notification_id > ? ORDER BY notification_id "
            "LIMIT ?" if self.postgres else
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit)).fetchall()
        return [make_envelope(int(position), public_type(topic), str(stream), int(version),
                              orjson.loads(bytes(state)))
                for position, stream, version, topic, state in rows]


@contextmanager
def open_sqlite(path: Path) -> Iterator[ReadOnlyLog]:
    """The SQLite log at `path`, read without writing to its directory; Unreadable if it is
    not there or not a database."""
    if not path.is_file():
        raise Unreadable(f"no log at {path}")
    wal = path.with_name(path.name + "-wal")
    notes = []
    with path.open("rb") as file:
        header = file.read(100)
    if not header.startswith(b"SQLite format 3\x00"):
        raise Unreadable(f"{path} is not an SQLite database")
    has_wal = wal.is_file() and wal.stat().st_size > 0
    if header[18] == 2 and not has_wal:
        notes.append(f"{path.name} is in WAL mode and no {wal.name} lies beside it: it is "
                     "complete if the server was stopped cleanly or it was made by `concord "
                     "backup`; a copy of the main file alone, taken while the server ran, may "
                     "lack the latest entries")
    with ExitStack() as stack:
        if has_wal:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="concord-verify-")))
            target = _copy_stable(path, wal, folder)
            notes.append(f"read from a private copy of {path.name} and {wal.name} (the server "
                         "may be running): nothing was written beside them")
            connection = sqlite3.connect(target)
        else:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1",
                                         uri=True)
        try:
            log = ReadOnlyLog(connection, notes=notes)
            try:
                log.tables()
            except sqlite3.DatabaseError as e:
                raise Unreadable(f"{path}: {e}") from None
            yield log
        finally:
            connection.close()


def _copy_stable(path: Path, wal: Path, folder: Path) -> Path:
    """Copy the database and its WAL into `folder`, again if either changed meanwhile."""
    def stamp() -> tuple[tuple[int, int], ...]:
        return tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in (path, wal)
                     if f.exists())

    for _ in range(_COPY_ATTEMPTS):
        before = stamp()
        shutil.copyfile(path, folder / path.name)
        if wal.exists():
            shutil.copyfile(wal, folder / wal.name)
        if stamp() == before:
            return folder / path.name
    raise Unreadable(f"{path} kept changing while it was copied for reading; verify a "
                     "`concord backup` of it instead")


@contextmanager
def open_postgres(url: str, schema: str) -> Iterator[ReadOnlyLog]:
    """The PostgreSQL log in `schema`, in a read-only session."""
    import psycopg

    try:
        connection = psycopg.connect(url, autocommit=True)
    except psycopg.Error as e:
        raise Unreadable(f"cannot connect to the database: {e}") from None
    try:
        connection.execute("SET default_transaction_read_only = on")
        connection.execute(psycopg.sql.SQL("SET search_path TO {}").format(
            psycopg.sql.Identifier(schema)))
        yield ReadOnlyLog(connection, postgres=True)
    finally:
        connection.close()
