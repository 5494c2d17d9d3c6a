"""Signed checkpoints of the log's Merkle tree, kept as they are issued, with the witnesses'
cosignatures of them and how each witness fares."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from concord.projections.db import Cursor, Reader
from concord.projections.store import ProjectionStore
from concord.projections.tree import StoredTree
from concord.tlog.notes import Checkpoint, Signer, b64, sign_checkpoint, split_note

CHECKPOINTS_TABLE = "concord_checkpoints"
COSIGNATURES_TABLE = "concord_cosignatures"
WITNESSED_TABLE = "concord_witnessed"  # the sizes a quorum of witnesses has cosigned
WITNESS_STATUS_TABLE = "concord_witness_status"


@dataclass(frozen=True)
class WitnessStatus:
    """How one witness fares, as the log last found it."""

    witness: str  # its name and key ID
    url: str
    cosigned_size: int  # the largest tree size it has cosigned for this log
    successes: int
    failures: int
    last_success_at: float | None  # POSIX seconds
    last_failure_at: float | None
    last_error: str | None  # the last failure, None once it cosigned again

    @property
    def failing(self) -> bool:
        """Whether its last answer was a failure."""
        return self.last_error is not None


class Checkpoints:
    """Issues C2SP checkpoints of the tree, each signed once and kept, so that anyone can
    later be shown what the log committed to at each size, and keeps the witnesses'
    cosignatures of them.

    With `witnessed` (the log has witnesses), the checkpoint served is the largest that a
    quorum of them has cosigned (see `concord.api.collector`), with every cosignature kept
    for it, or the newest until one is; without, it is the tree's current size, signed when
    first asked for."""

    def __init__(self, store: ProjectionStore, signer: Signer, origin: str,
                 witnessed: bool = False) -> None:
        self.store, self.signer, self.origin = store, signer, origin
        self.witnessed = witnessed
        self._lock = threading.Lock()
        with store.transaction() as cursor:
            create_tables(cursor)

    def latest(self, suffix: str, at_least: int = 0) -> tuple[int, str]:
        """A signed checkpoint of the tree (copy `suffix`) at its current size, which is at
        least `at_least`, with any cosignatures it has: the tree size and the note."""
        reader = self.store.reader()
        tree = StoredTree(reader, suffix)
        size = tree.size()
        if size < at_least:
            raise LookupError(f"the tree has {size} leaves, not {at_least}")
        return size, self.sign(size, tree)

    def served(self, suffix: str, at_least: int = 0) -> tuple[int, str]:
        """The checkpoint to publish: the largest a quorum of witnesses cosigned, if the log
        has witnesses and it covers `at_least` entries, else the current size's (see the
        class)."""
        if self.witnessed:
            found = largest_witnessed(self.store.reader())
            if found is not None and found[0] >= at_least:
                return found
        return self.latest(suffix, at_least)

    def sign(self, size: int, tree: StoredTree) -> str:
        """The note of the checkpoint at `size` (signed now if it never was), with its
        cosignatures; RuntimeError if one was issued at that size with another root than
        the tree's: the tree, or the log, is not the one that was signed."""
        reader = self.store.reader()
        root = tree.root(size)
        note = note_at(reader, size)
        if note is not None:
            issued = Checkpoint.parse(split_note(note)[0])
            if issued.root != root:
                raise RuntimeError(
                    f"the checkpoint issued at tree size {size} has root {b64(issued.root)}, "
                    f"but the tree now gives {b64(root)}: the log or its tree was rewritten "
                    "since it was signed (concord verify --data-dir says where)")
            return note
        signed = sign_checkpoint(self.signer, Checkpoint(self.origin, size, root))
        with self._lock, self.store.transaction() as cursor:
            cursor.execute(f"INSERT INTO {CHECKPOINTS_TABLE} VALUES (?, ?, ?) "
                           "ON CONFLICT DO NOTHING",
                           (size, signed, datetime.now(UTC).isoformat(timespec="seconds")))
        found = note_at(self.store.reader(), size)
        assert found is not None
        return found

    def at(self, size: int) -> str | None:
        """The note of the checkpoint issued at `size`, with its cosignatures, if any was."""
        return note_at(self.store.reader(), size)

    def add_cosignature(self, size: int, witness: str, line: str, timestamp: int) -> None:
        """Keep a witness's (verified) cosignature line of the checkpoint at `size`; a later
        one of the same witness for the same size replaces it."""
        with self.store.transaction() as cursor:
            cursor.execute(f"DELETE FROM {COSIGNATURES_TABLE} WHERE size=? AND witness=?",
                           (size, witness))
            cursor.execute(f"INSERT INTO {COSIGNATURES_TABLE} VALUES (?, ?, ?, ?)",
                           (size, witness, line, timestamp))

    def cosigners(self, size: int) -> list[str]:
        """The witnesses (name and key ID) whose cosignature of the checkpoint at `size` is
        kept."""
        return [str(witness) for (witness,) in self.store.reader().execute(
            f"SELECT witness FROM {COSIGNATURES_TABLE} WHERE size=? ORDER BY witness",
            (size,))]

    def mark_witnessed(self, size: int) -> None:
        """Record that a quorum of witnesses has cosigned the checkpoint at `size`: the
        largest such is the one served."""
        with self.store.transaction() as cursor:
            cursor.execute(f"INSERT INTO {WITNESSED_TABLE} VALUES (?, ?) ON CONFLICT DO NOTHING",
                           (size, time.time()))

    def record_witness(self, witness: str, url: str, cosigned_size: int | None,
                       error: str | None) -> None:
        """Record one answer of a witness: a cosignature of `cosigned_size` (error None),
        or a failure saying why."""
        now = time.time()
        with self.store.transaction() as cursor:
            cursor.execute(f"INSERT INTO {WITNESS_STATUS_TABLE} VALUES (?, ?, 0, 0, 0, NULL, "
                           "NULL, NULL) ON CONFLICT DO NOTHING", (witness, url))
            if error is None:
                cursor.execute(
                    f"UPDATE {WITNESS_STATUS_TABLE} SET url=?, cosigned_size=?, "
                    "successes=successes+1, last_success_at=?, last_error=NULL WHERE witness=?",
                    (url, cosigned_size or 0, now, witness))
            else:
                cursor.execute(
                    f"UPDATE {WITNESS_STATUS_TABLE} SET url=?, failures=failures+1, "
                    "last_failure_at=?, last_error=? WHERE witness=?",
                    (url, now, error[:500], witness))

    def witness_status(self) -> list[WitnessStatus]:
        """How each witness the log has asked fares."""
        return witness_status(self.store.reader())


def create_tables(cursor: Cursor) -> None:
    """The tables of issued checkpoints, cosignatures and witnesses."""
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} (size INTEGER PRIMARY KEY, "
                   "note TEXT NOT NULL, signed_at TEXT NOT NULL)")
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {COSIGNATURES_TABLE} (size INTEGER NOT NULL, "
                   "witness TEXT NOT NULL, line TEXT NOT NULL, timestamp BIGINT NOT NULL, "
                   "PRIMARY KEY (size, witness))")
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {WITNESSED_TABLE} (size INTEGER PRIMARY KEY, "
                   "at DOUBLE PRECISION NOT NULL)")
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {WITNESS_STATUS_TABLE} (witness TEXT PRIMARY "
                   "KEY, url TEXT NOT NULL, cosigned_size BIGINT NOT NULL, successes BIGINT NOT "
                   "NULL, failures BIGINT NOT NULL, last_success_at DOUBLE PRECISION, "
                   "last_failure_at DOUBLE PRECISION, last_error TEXT)")


def note_at(reader: Reader, size: int) -> str | None:
    """The note issued at `size` with every cosignature kept for it, in the witnesses'
    order, or None if no checkpoint was issued at that size."""
    row = reader.execute(f"SELECT note FROM {CHECKPOINTS_TABLE} WHERE size=?",
                         (size,)).fetchone()
    if row is None:
        return None
    lines = [str(line) for (line,) in reader.execute(
        f"SELECT line FROM {COSIGNATURES_TABLE} WHERE size=? ORDER BY witness", (size,))]
    return str(row[0]) + "".join(lines)


def largest_witnessed(reader: Reader) -> tuple[int, str] | None:
    """The largest checkpoint a quorum of witnesses cosigned: its size and full note."""
    row = reader.execute(f"SELECT MAX(size) FROM {WITNESSED_TABLE}").fetchone()
    if row is None or row[0] is None:
        return None
    note = note_at(reader, int(row[0]))
    return None if note is None else (int(row[0]), note)


def witness_status(reader: Reader) -> list[WitnessStatus]:
    """How each witness the log has asked fares, by name."""
    return [WitnessStatus(str(w), str(u), int(c), int(s), int(f),
                          None if ls is None else float(ls), None if lf is None else float(lf),
                          None if e is None else str(e))
            for w, u, c, s, f, ls, lf, e in reader.execute(
                f"SELECT witness, url, cosigned_size, successes, failures, last_success_at, "
                f"last_failure_at, last_error FROM {WITNESS_STATUS_TABLE} ORDER BY witness")]


def latest_stored(store: ProjectionStore) -> tuple[int, str] | None:
    """The checkpoint the log publishes, from its tables alone: the largest witnessed one
    if any was, else the largest issued; its size and note with its cosignatures."""
    reader = store.reader()
    try:
        found = largest_witnessed(reader)
    except Exception as e:  # a log from before witnesses: no such table
        if not store.database.missing_table(e):
            raise
        found = None
    if found is not None:
        return found
    try:
        row = reader.execute(f"SELECT MAX(size) FROM {CHECKPOINTS_TABLE}").fetchone()
    except Exception as e:
        if not store.database.missing_table(e):
            raise
        return None
    if row is None or row[0] is None:
        return None
    note = note_at(reader, int(row[0]))
    return None if note is None else (int(row[0]), note)
