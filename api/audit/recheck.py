"""The read models of a log checked against a rebuild in memory, table by table."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, Protocol

from concord.domain.envelope import Envelope
from concord.projections.registry import PROJECTIONS
from concord.projections.store import POSITIONS_TABLE, TABLES_TABLE, VERSIONS_TABLE

PAGE = 10_000
Read = Callable[[int, int], list[Envelope]]


class Source(Protocol):
    """What the check needs of the stored database: a read-only `execute` and its tables."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any:
        """Run one read statement."""

    def tables(self) -> set[str]:
        """The names of its tables."""


def compare_read_models(stored: Source, read: Read) -> tuple[list[str], list[str]]:
    """Rebuild every projection in an in-memory SQLite database from the entries, each up to
    the position its stored copy has reached, and compare the two row for row: (problems,
    notes)."""
    problems: list[str] = []
    notes: list[str] = []
    present = stored.tables()
    if TABLES_TABLE not in present:
        notes.append("no read models are stored yet (the server builds them): none compared")
        return problems, notes
    memory = sqlite3.connect(":memory:", isolation_level=None)
    try:
        cursor = memory.cursor()
        for table, columns in ((POSITIONS_TABLE, "name TEXT PRIMARY KEY, position INTEGER"),
                               (VERSIONS_TABLE, "name TEXT PRIMARY KEY, version INTEGER")):
            cursor.execute(f"CREATE TABLE {table} ({columns})")
        for name, kind in PROJECTIONS.items():
            row = stored.execute(f"SELECT suffix FROM {TABLES_TABLE} WHERE name=?",
                                 (name,)).fetchone()
            projection = kind(suffix=str(row[0]) if row else "")
            before = _tables(memory)
            projection.prepare(cursor)
            tables = sorted(_tables(memory) - before)
            missing = [t for t in tables if t not in present]
            if missing:
                problems.append(f"read model {name}: table {', '.join(missing)} is missing "
                                "(an incomplete copy?)")
                continue
            found = stored.execute(f"SELECT position FROM {POSITIONS_TABLE} WHERE name=?",
                                   (projection.tracking_name,)).fetchone()
            reached = int(found[0]) if found else 0
            after = 0
            while after < reached and (envelopes := read(after, min(PAGE, reached - after))):
                projection.apply(cursor, [e for e in envelopes if e["position"] <= reached])
                after = envelopes[-1]["position"]
            differing = [t for t in tables if _rows(memory, t) != _rows(stored, t)]
            if differing:
                problems.append(f"read model {name} (up to position {reached}) differs from "
                                f"its rebuild from the log in table {', '.join(differing)}: "
                                f"run `concord rebuild {name}`")
        if not problems:
            notes.append(f"the read models ({', '.join(PROJECTIONS)}) equal a rebuild from "
                         "the log")
    finally:
        memory.close()
    return problems, notes


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}


def _rows(source: sqlite3.Connection | Source, table: str) -> list[tuple[object, ...]]:
    rows = source.execute(f"SELECT * FROM {table}").fetchall()
    return sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                   for row in rows), key=repr)
