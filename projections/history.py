"""History: the timeline of decisions, filterable, in log or effective-date order.

Each entry is kept with its envelope, a one-line summary written with the names on record
at the time, the codes it concerns (for filters), and, once retracted, the position of its
retraction. A retraction is filed under the same codes as the entry it retracts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from concord.domain.envelope import Envelope
from concord.projections.db import Cursor, Reader
from concord.projections.projection import Loader, Projection
from concord.projections.summaries import summarize

FILTERS = ("network", "state", "conference", "declaration", "instrument")
_NAMED = {"NetworkEstablished": ("network", "network", "name"),
          "ConferenceScheduled": ("conference", "conference", "title"),
          "DeclarationAdopted": ("declaration", "declaration", "title"),
          "InstrumentAdopted": ("instrument", "instrument", "title"),
          "StateRegistered": ("state", "state", "name")}


@dataclass(frozen=True)
class Query:
    """What to list: filters (None: any), order, where to start, how many."""

    network: str | None = None
    state: str | None = None
    conference: str | None = None
    declaration: str | None = None
    types: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    order: str = "position"  # or "effective_date"
    after: tuple[str, int] | int = 0
    limit: int = 100
    instrument: str | None = None


class History(Projection):
    """Every entry, with its summary, filters and retraction."""

    name = "history"
    # 2: envelopes with their leaf_index; 3: corrections, named anew; 4: recorded_until;
    # 5: instrument
    version = 5

    def create_tables(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS history{s} (position INTEGER PRIMARY KEY, "
            "type TEXT NOT NULL, effective_date TEXT NOT NULL, network TEXT, state TEXT, "
            "conference TEXT, declaration TEXT, summary TEXT NOT NULL, "
            "retracted_by INTEGER, envelope TEXT NOT NULL, recorded_until TEXT NOT NULL, "
            "instrument TEXT)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS history_names{s} (kind TEXT NOT NULL, "
            "code TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (kind, code))")

    def create_indexes(self, cursor: Cursor) -> None:
        s = self.suffix
        # The latest recorded_at of the entries up to each one: the log up to a position
        # was all recorded by then. Writers' clocks (several processes, a clock set back)
        # need not make recorded_at grow with position, but this always grows, so the
        # record as it stood at a moment is one indexed look-up.
        cursor.execute(f"CREATE INDEX IF NOT EXISTS history_recorded{s} "
                       f"ON history{s} (recorded_until, position)")
        for column in (*FILTERS, "type", "effective_date"):
            # Few entries name an instrument: the others are left out of its index (a query
            # for one instrument's entries can still use it).
            sparse = " WHERE instrument IS NOT NULL" if column == "instrument" else ""
            cursor.execute(f"CREATE INDEX IF NOT EXISTS history_{column}{s} "
                           f"ON history{s} ({column}, position){sparse}")

    def drop_tables(self, cursor: Cursor) -> None:
        for table in ("history", "history_names"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    def loader(self) -> Loader:
        return _Loader(self)

    def apply(self, cursor: Cursor, envelopes: Any) -> None:
        self.apply_with(cursor, envelopes, {})

    def apply_with(self, cursor: Cursor, envelopes: Any,
                   known: dict[tuple[str, str], str | None]) -> None:
        """`apply`, with the names already looked up (or recorded) by (kind, code)."""
        s = self.suffix
        rows: list[tuple[Any, ...]] = []  # written together, before anything reads them
        latest = cursor.execute(f"SELECT recorded_until FROM history{s} "
                                "ORDER BY position DESC LIMIT 1").fetchone()
        then = str(latest[0]) if latest else ""

        def names(kind: str, code: str) -> str | None:
            if (kind, code) not in known:
                found = cursor.execute(
                    f"SELECT name FROM history_names{s} WHERE kind=? AND code=?",
                    (kind, code)).fetchone()
                known[kind, code] = str(found[0]) if found else None
            return known[kind, code]

        for e in envelopes:
            # A correction is filed under the codes of the fact it puts in place.
            type_, data = e["type"], e["data"]
            if type_ == "EntryCorrected":
                type_, data = data["replacement"]["type"], data["replacement"]["data"]
            codes = [data.get(f) for f in FILTERS]
            if codes[1] is None:
                codes[1] = data.get("host_state")
            if type_ in _NAMED:
                # A corrected name replaces the one on record.
                kind, field, name = _NAMED[type_]
                cursor.execute(f"INSERT INTO history_names{s} VALUES (?, ?, ?) "
                               "ON CONFLICT(kind, code) DO UPDATE SET name=excluded.name",
                               (kind, data[field], data[name]))
                known[kind, data[field]] = data[name]
            if e["type"] in ("EntryRetracted", "EntryCorrected"):
                self._write(cursor, rows)
                retracted = e["data"]["position"]
                cursor.execute(f"UPDATE history{s} SET retracted_by=? WHERE position=?",
                               (e["position"], retracted))
                row = cursor.execute(
                    f"SELECT {', '.join(FILTERS)} FROM history{s} "
                    "WHERE position=?", (retracted,)).fetchone()
                if row is not None and e["type"] == "EntryRetracted":
                    codes = list(row)
            then = max(then, e["recorded_at"])
            *first, instrument = codes
            rows.append((e["position"], e["type"], e["effective_date"], *first,
                         summarize(e, names), orjson.dumps(e).decode(), then, instrument))
        self._write(cursor, rows)
        super().apply(cursor, envelopes)

    def _write(self, cursor: Cursor, rows: list[tuple[Any, ...]]) -> None:
        cursor.executemany(
            f"INSERT INTO history{self.suffix} VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
            rows)
        rows.clear()


class _Loader(Loader):
    """History's rebuild: the names on record kept in memory from page to page, and the
    indexes built once every row is in (its handler reads rows by position alone)."""

    def __init__(self, projection: History) -> None:
        super().__init__(projection)
        self.history = projection
        self.names: dict[tuple[str, str], str | None] = {}

    def load(self, cursor: Cursor, envelopes: Sequence[Envelope]) -> None:
        self.history.apply_with(cursor, envelopes, self.names)


class UnknownCursor(LookupError):
    """A position cursor in effective-date order names no entry to continue after."""


def history(reader: Reader, query: Query, upto: int,
            suffix: str = "") -> list[dict[str, Any]]:
    """The entries matching `query`, among those up to position `upto`.

    In effective-date order, a plain position as `after` continues after that entry (at its
    effective date); UnknownCursor if there is none up to `upto`.
    """
    where = ["position <= ?"]
    params: list[object] = [upto]
    for field in FILTERS:
        value = getattr(query, field)
        if value is not None:
            where.append(f"{field} = ?")
            params.append(value)
    if query.types:
        where.append(f"type IN ({','.join('?' * len(query.types))})")
        params.extend(query.types)
    if query.date_from is not None:
        where.append("effective_date >= ?")
        params.append(query.date_from)
    if query.date_to is not None:
        where.append("effective_date <= ?")
        params.append(query.date_to)
    if query.order == "effective_date":
        if isinstance(query.after, tuple):
            day, position = query.after
        elif query.after == 0:
            day, position = "", 0
        else:
            found = reader.execute(
                f"SELECT effective_date FROM history{suffix} WHERE position=? AND position<=?",
                (query.after, upto)).fetchone()
            if found is None:
                raise UnknownCursor(f"there is no entry at position {query.after} to continue "
                                    f"after (the history reaches {upto})")
            day, position = str(found[0]), query.after
        where.append("(effective_date > ? OR (effective_date = ? AND position > ?))")
        params.extend([day, day, position])
        order = "effective_date, position"
    else:
        where.append("position > ?")
        params.append(query.after if isinstance(query.after, int) else 0)
        order = "position"
    rows = reader.execute(
        f"SELECT envelope, summary, retracted_by FROM history{suffix} "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
        [*params, query.limit]).fetchall()
    return [{**orjson.loads(envelope), "summary": summary, "retracted_by": retracted_by}
            for envelope, summary, retracted_by in rows]


def names(reader: Reader, suffix: str = "") -> dict[tuple[str, str], str]:
    """Every name on record that summaries use, by (kind, code)."""
    return {(kind, code): name for kind, code, name in reader.execute(
        f"SELECT kind, code, name FROM history_names{suffix}")}


def named(envelope: Envelope) -> tuple[str, str, str] | None:
    """The (kind, code, name) an entry puts on record, if it names something."""
    type_, data = envelope["type"], envelope["data"]
    if type_ == "EntryCorrected":
        type_, data = data["replacement"]["type"], data["replacement"]["data"]
    if type_ not in _NAMED:
        return None
    kind, field, name = _NAMED[type_]
    return kind, data[field], data[name]


def position_at(reader: Reader, moment: str, suffix: str = "") -> int:
    """The last position of the longest stretch of the log from position 1 that was all
    recorded at or before `moment` (as envelopes give recorded_at); 0 if none was."""
    # recorded_until grows with position: the latest row at or before the moment in its
    # index is the answer, one seek.
    found = reader.execute(
        f"SELECT position FROM history{suffix} WHERE recorded_until <= ? "
        "ORDER BY recorded_until DESC, position DESC LIMIT 1", (moment,)).fetchone()
    return int(found[0]) if found else 0


def entries_at(reader: Reader, positions: Sequence[int], suffix: str = ""
               ) -> list[dict[str, Any]]:
    """The entries at `positions` that the history holds, in log order."""
    found: list[dict[str, Any]] = []
    wanted = sorted(set(positions))
    for start in range(0, len(wanted), 500):  # within any engine's limit of parameters
        chunk = wanted[start:start + 500]
        rows = reader.execute(
            f"SELECT envelope, summary, retracted_by FROM history{suffix} "
            f"WHERE position IN ({','.join('?' * len(chunk))}) ORDER BY position",
            chunk).fetchall()
        found.extend({**orjson.loads(envelope), "summary": summary,
                      "retracted_by": retracted_by} for envelope, summary, retracted_by in rows)
    return found
