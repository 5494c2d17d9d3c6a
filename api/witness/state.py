"""The witness's durable state, in a SQLite file of its own: per log origin, the checkpoint
it last cosigned (size, root, the note with the log's verified signatures, and the time of
its cosignature), and the validly signed checkpoints it refused that contradict one it held,
kept as evidence: each (origin, size, root) once, and at most `MAX_REFUSALS` of them.

Every change is one `BEGIN IMMEDIATE` transaction: it holds the file's write lock from the
read of what the witness holds to the commit, so that two requests, in this process or in
others sharing the file, never both check against the same state. The file is in WAL mode
with `synchronous=FULL`: a transaction is on disk when its commit returns. Triggers refuse
any change that would make the witness forget what it cosigned (a smaller size, another
root for the same size, a deleted log), whatever code runs it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 2
CHECKPOINTS_TABLE = "witness_checkpoints"
REFUSALS_TABLE = "witness_refusals"
MAX_REFUSALS = 10_000
"""The most refusals the state keeps: beyond, it keeps no more (the table cannot fill the
disk, whoever signed what)."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32),
    note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL CHECK (cosigned_at > 0)
);
CREATE TRIGGER IF NOT EXISTS {CHECKPOINTS_TABLE}_only_grow
BEFORE UPDATE ON {CHECKPOINTS_TABLE}
WHEN NEW.origin IS NOT OLD.origin OR NEW.size < OLD.size
     OR (NEW.size = OLD.size AND NEW.root IS NOT OLD.root)
BEGIN
    SELECT RAISE(ABORT, 'a witness never goes back to a smaller tree or another root');
END;
CREATE TRIGGER IF NOT EXISTS {CHECKPOINTS_TABLE}_kept
BEFORE DELETE ON {CHECKPOINTS_TABLE}
BEGIN
    SELECT RAISE(ABORT, 'a witness never forgets a log it cosigned');
END;
CREATE TABLE IF NOT EXISTS {REFUSALS_TABLE} (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    origin TEXT NOT NULL,
    old_size INTEGER NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    proof TEXT NOT NULL,
    note TEXT NOT NULL
);
"""

# Version 1 kept a refusal each time one was made: keep the first of each checkpoint, then
# make that the rule.
_UNIQUE_REFUSALS = [
    f"DELETE FROM {REFUSALS_TABLE} WHERE id NOT IN (SELECT min(id) FROM {REFUSALS_TABLE} "
    "GROUP BY origin, size, root)",
    f"CREATE UNIQUE INDEX IF NOT EXISTS {REFUSALS_TABLE}_checkpoint ON {REFUSALS_TABLE} "
    "(origin, size, root)",
]


class StateBusy(Exception):
    """The state file stayed locked by another writer for longer than the busy timeout."""


@dataclass(frozen=True)
class CosignedCheckpoint:
    """The checkpoint the witness last cosigned for a log."""

    origin: str
    size: int
    root: bytes
    note: str
    """The checkpoint's text and the log's signature lines that the witness verified."""
    timestamp: int
    """The time of the witness's cosignature, POSIX seconds."""


@dataclass(frozen=True)
class Kept:
    """Where a refusal is kept: the id of its record, and whether this request made it (not
    an earlier one of the same checkpoint)."""

    id: int
    new: bool


@dataclass(frozen=True)
class Refusal:
    """A validly signed checkpoint the witness refused to cosign because it contradicts one
    the witness held: evidence that the log misbehaved."""

    id: int
    received_at: str
    origin: str
    old_size: int
    size: int
    root: bytes
    status: int
    reason: str
    proof: str
    """The request's consistency proof lines, as sent."""
    note: str
    """The note as sent, with every signature line."""


class WitnessState:
    """The state file, opened once per process; safe to share between threads."""

    def __init__(self, path: Path, busy_timeout: float = 10.0,
                 max_refusals: int = MAX_REFUSALS) -> None:
        self.path = path
        self.max_refusals = max_refusals
        self._lock = threading.Lock()
        # isolation_level=None: no implicit transactions; each change says BEGIN IMMEDIATE.
        self._connection = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                           check_same_thread=False)
        try:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            with self._transaction() as cursor:
                version = cursor.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise ValueError(f"the witness state {path} has schema version {version}, "
                                     f"newer than this Concord's ({SCHEMA_VERSION})")
                for statement in _statements(_SCHEMA):
                    cursor.execute(statement)
                if version < 2:
                    for statement in _UNIQUE_REFUSALS:
                        cursor.execute(statement)
                cursor.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            self._connection.close()
            raise

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._connection.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A write transaction: committed, and on disk, when the block ends normally; rolled
        back if it raises. StateBusy if another writer held the file too long."""
        with self._transaction() as cursor:
            yield Transaction(cursor, self.max_refusals)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" in str(error) or "busy" in str(error):
                    raise StateBusy(f"the witness state {self.path} is locked by another "
                                    "writer") from None
                raise
            try:
                yield cursor
                cursor.execute("COMMIT")
            except BaseException:
                # Also when COMMIT itself fails: a transaction left open would make every
                # later BEGIN fail. SQLite may have rolled it back already (a full disk).
                if self._connection.in_transaction:
                    cursor.execute("ROLLBACK")
                raise

    def latest(self, origin: str) -> CosignedCheckpoint | None:
        """The checkpoint last cosigned for `origin`, as committed; None if none."""
        with self._lock:
            return _latest(self._connection.cursor(), origin)

    def refusals(self, origin: str | None = None) -> list[Refusal]:
        """The refused checkpoints kept, oldest first (of `origin` only, if given)."""
        sql = (f"SELECT id, received_at, origin, old_size, size, root, status, reason, proof, "
               f"note FROM {REFUSALS_TABLE}")
        parameters: tuple[str, ...] = ()
        if origin is not None:
            sql, parameters = sql + " WHERE origin=?", (origin,)
        with self._lock:
            rows = self._connection.execute(sql + " ORDER BY id", parameters).fetchall()
        return [Refusal(*row) for row in rows]


class Transaction:
    """What a request may read and change of the state, inside one write transaction."""

    def __init__(self, cursor: sqlite3.Cursor, max_refusals: int) -> None:
        self._cursor = cursor
        self._max_refusals = max_refusals

    def latest(self, origin: str) -> CosignedCheckpoint | None:
        """The checkpoint last cosigned for `origin`; None if none."""
        return _latest(self._cursor, origin)

    def cosigned(self, checkpoint: CosignedCheckpoint) -> None:
        """Record `checkpoint` as the one last cosigned for its origin."""
        self._cursor.execute(
            f"INSERT INTO {CHECKPOINTS_TABLE} (origin, size, root, note, cosigned_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size=excluded.size, "
            "root=excluded.root, note=excluded.note, cosigned_at=excluded.cosigned_at",
            (checkpoint.origin, checkpoint.size, checkpoint.root, checkpoint.note,
             checkpoint.timestamp))

    def refused(self, origin: str, old_size: int, size: int, root: bytes, status: int,
                reason: str, proof: str, note: str) -> Kept | None:
        """Keep a refused, validly signed checkpoint, once per (origin, size, root): where it
        is kept; None if it was not, the state holding its most refusals already."""
        [count] = self._cursor.execute(f"SELECT count(*) FROM {REFUSALS_TABLE}").fetchone()
        if count < self._max_refusals:
            received_at = datetime.now(UTC).isoformat(timespec="milliseconds")
            self._cursor.execute(
                f"INSERT OR IGNORE INTO {REFUSALS_TABLE} (received_at, origin, old_size, size, "
                "root, status, reason, proof, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (received_at, origin, old_size, size, root, status, reason, proof, note))
            if self._cursor.rowcount == 1:
                row_id = self._cursor.lastrowid
                assert row_id is not None
                return Kept(row_id, new=True)
        earlier = self._cursor.execute(
            f"SELECT id FROM {REFUSALS_TABLE} WHERE origin=? AND size=? AND root=?",
            (origin, size, root)).fetchone()
        return None if earlier is None else Kept(earlier[0], new=False)


def _latest(cursor: sqlite3.Cursor, origin: str) -> CosignedCheckpoint | None:
    row = cursor.execute(f"SELECT origin, size, root, note, cosigned_at FROM "
                         f"{CHECKPOINTS_TABLE} WHERE origin=?", (origin,)).fetchone()
    return None if row is None else CosignedCheckpoint(*row)


def _statements(script: str) -> list[str]:
    """The statements of `script`, each whole (a trigger's body holds semicolons)."""
    statements, pending = [], ""
    for line in script.strip().splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return statements
