"""Where projections keep their rows and positions: tables of the log's SQLite file, or of
a schema in its PostgreSQL database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from concord.projections.db import Cursor, Database, Reader

T = TypeVar("T")

POSITIONS_TABLE = "concord_projection_positions"
TABLES_TABLE = "concord_projection_tables"
VERSIONS_TABLE = "concord_projection_versions"


class ProjectionStore:
    """One connection for the projections' writes and one lock for it; reads use their own
    connections, so a long catch-up never blocks a query."""

    def __init__(self, database: Database | Path) -> None:
        self.database = database if isinstance(database, Database) else Database(database)
        with self.database.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {POSITIONS_TABLE} "
                "(name TEXT PRIMARY KEY, position INTEGER NOT NULL)")
            # Which copy of each projection's tables is live (its suffix), and the copy it
            # replaced, kept until the next rebuild so that reads under way never fail.
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLES_TABLE} "
                "(name TEXT PRIMARY KEY, suffix TEXT NOT NULL, previous TEXT)")
            # The version of the tables' layout each copy was built with.
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} "
                "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)")

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A write transaction: everything in it commits together, or nothing does."""
        with self.database.transaction() as cursor:
            yield cursor

    def reader(self) -> Reader:
        """This thread's read connection."""
        return self.database.reader()

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

    def suffixes(self) -> dict[str, str]:
        """The suffix of every projection's live copy that is not the first (one read)."""
        return {str(name): str(suffix) for name, suffix in self.reader().execute(
            f"SELECT name, suffix FROM {TABLES_TABLE}").fetchall()}

    def read(self, name: str, suffix: str, query: Callable[[Reader, str], T]) -> T:
        """Run `query` on the tables of projection `name` with `suffix`; if a rebuild has
        meanwhile dropped them (it keeps the copy it replaced only until the next one), run
        it on the copy that is live now."""
        try:
            return query(self.reader(), suffix)
        except Exception as e:
            if not self.database.missing_table(e):
                raise
            return query(self.reader(), self.suffix(name))

    def close(self) -> None:
        """Close the connections."""
        self.database.close()
