"""Signed checkpoints of the log's Merkle tree, kept as they are issued."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from concord.projections.db import Cursor
from concord.projections.store import ProjectionStore
from concord.projections.tree import StoredTree
from concord.tlog.notes import Checkpoint, Signer, sign_checkpoint

CHECKPOINTS_TABLE = "concord_checkpoints"


class Checkpoints:
    """Issues C2SP checkpoints of the tree as it stands, each signed once and kept, so that
    anyone can later be shown what the log committed to at each size."""

    def __init__(self, store: ProjectionStore, signer: Signer, origin: str) -> None:
        self.store, self.signer, self.origin = store, signer, origin
        self._lock = threading.Lock()
        with store.transaction() as cursor:
            create_table(cursor)

    def latest(self, suffix: str, at_least: int = 0) -> tuple[int, str]:
        """A signed checkpoint of the tree (copy `suffix`) at its current size, which is at
        least `at_least`: the tree size and the note."""
        reader = self.store.reader()
        tree = StoredTree(reader, suffix)
        size = tree.size()
        if size < at_least:
            raise LookupError(f"the tree has {size} leaves, not {at_least}")
        found = reader.execute(f"SELECT note FROM {CHECKPOINTS_TABLE} WHERE size=?",
                               (size,)).fetchone()
        if found is not None:
            return size, str(found[0])
        note = sign_checkpoint(self.signer, Checkpoint(self.origin, size, tree.root(size)))
        with self._lock, self.store.transaction() as cursor:
            cursor.execute(f"INSERT INTO {CHECKPOINTS_TABLE} VALUES (?, ?, ?) "
                           "ON CONFLICT DO NOTHING",
                           (size, note, datetime.now(UTC).isoformat(timespec="seconds")))
        return size, note


def create_table(cursor: Cursor) -> None:
    """The table of issued checkpoints, by tree size."""
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} (size INTEGER PRIMARY KEY, "
                   "note TEXT NOT NULL, signed_at TEXT NOT NULL)")


def latest_stored(store: ProjectionStore) -> tuple[int, str] | None:
    """The largest checkpoint issued, if any: its size and note."""
    try:
        row = store.reader().execute(f"SELECT size, note FROM {CHECKPOINTS_TABLE} "
                                     "ORDER BY size DESC LIMIT 1").fetchone()
    except Exception as e:
        if not store.database.missing_table(e):
            raise
        return None
    return None if row is None else (int(row[0]), str(row[1]))
