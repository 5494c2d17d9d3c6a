"""Where projections keep their rows and positions: tables of the log's SQLite file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

POSITIONS_TABLE = "concord_projection_positions"
TABLES_TABLE = "concord_projection_tables"
VERSIONS_TABLE = "concord_projection_versions"


class ProjectionStore:
    """One connection for the projections' writes and one lock for it; reads use their own
    short-lived connections, so a long catch-up never blocks a query (SQLite WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                           timeout=30)
        self._lock = threading.Lock()
        self._readers = threading.local()
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            # Projections can be rebuilt from the log, and commit with their positions: a
            # power cut may lose their last transactions (not the log's, whose connection
            # syncs every commit), never mix them up. A larger page cache keeps the indexes
            # of a log of millions of entries in memory while they are written.
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.execute("PRAGMA cache_size=-65536")
            self._connection.execute(
                f"CREATE TABLE IF NOT EXISTS {POSITIONS_TABLE} "
                "(name TEXT PRIMARY KEY, position INTEGER NOT NULL)")
            # Which copy of each projection's tables is live (its suffix), and the copy it
            # replaced, kept until the next rebuild so that reads under way never fail.
            self._connection.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLES_TABLE} "
                "(name TEXT PRIMARY KEY, suffix TEXT NOT NULL, previous TEXT)")
            # The version of the tables' layout each copy was built with.
            self._connection.execute(
                f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} "
                "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction: everything in it commits together, or nothing does."""
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection."""
        connection: sqlite3.Connection | None = getattr(self._readers, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._readers.connection = connection
        return connection

    def position(self, name: str) -> int:
        """The last position the projection `name` has processed (0 if none)."""
        row = self.reader().execute(
            f"SELECT position FROM {POSITIONS_TABLE} WHERE name=?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def suffix(self, name: str) -> str:
        """The suffix of the live copy of projection `name`'s tables ('' at first)."""
        row = self.reader().execute(
            f"SELECT suffix FROM {TABLES_TABLE} WHERE name=?", (name,)).fetchone()
        return str(row[0]) if row else ""

    def read(self, name: str, suffix: str, query: Callable[[sqlite3.Connection, str], T]) -> T:
        """Run `query` on the tables of projection `name` with `suffix`; if a rebuild has
        meanwhile dropped them (it keeps the copy it replaced only until the next one), run
        it on the copy that is live now."""
        try:
            return query(self.reader(), suffix)
        except sqlite3.OperationalError as e:
            if "no such table" not in str(e):
                raise
            return query(self.reader(), self.suffix(name))

    def close(self) -> None:
        """Close the write connection."""
        with self._lock:
            self._connection.close()
