"""The base of a projection: handlers by event type, applied many events per transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

from concord.domain.envelope import Envelope
from concord.projections.db import Cursor
from concord.projections.store import POSITIONS_TABLE, VERSIONS_TABLE


def slot_in(cursor: Cursor, tables: tuple[str, ...], position: int) -> int:
    """The `slot` of the row at `position` in the first of `tables` that holds one, else
    `position` itself."""
    for table in tables:
        found = cursor.execute(f"SELECT slot FROM {table} WHERE position=?",
                               (position,)).fetchone()
        if found is not None:
            return int(found[0])
    return position

Handler = Callable[[Any, Cursor, Envelope], None]


def handles(*types: str) -> Callable[[Handler], Handler]:
    """Mark a method as the projection's handler of entries of these types."""

    def mark(method: Handler) -> Handler:
        method.handles = types  # type: ignore[attr-defined]
        return method

    return mark


class Projection:
    """A read model: tables derived from the log, and the position they reflect."""

    name: ClassVar[str] = ""
    # Raised when the layout of the tables changes: a copy built with another version is
    # dropped and built again from position 0.
    version: ClassVar[int] = 1
    _handlers: ClassVar[dict[str, Handler]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {
            type_: method
            for method in vars(cls).values()
            for type_ in getattr(method, "handles", ())
        }

    def __init__(self, suffix: str = "") -> None:
        # A suffix names a copy of the tables, built beside the live ones.
        self.suffix = suffix
        self.tracking_name = self.name + suffix

    def prepare(self, cursor: Cursor, *, indexes: bool = True) -> None:
        """Create the tables (and, unless a bulk load is to fill them first, their indexes)
        if they do not exist; if they were built with another version of the layout, drop
        them and start again from position 0."""
        row = cursor.execute(f"SELECT version FROM {VERSIONS_TABLE} WHERE name=?",
                             (self.tracking_name,)).fetchone()
        built = row[0] if row else None
        if built is None:
            started = cursor.execute(f"SELECT 1 FROM {POSITIONS_TABLE} WHERE name=?",
                                     (self.tracking_name,)).fetchone()
            built = 1 if started else self.version
        if built != self.version:
            self.drop_tables(cursor)
            cursor.execute(f"DELETE FROM {POSITIONS_TABLE} WHERE name=?", (self.tracking_name,))
        self.create_tables(cursor)
        if indexes:
            self.create_indexes(cursor)
        cursor.execute(f"INSERT INTO {VERSIONS_TABLE} VALUES (?, ?) ON CONFLICT(name) "
                       "DO UPDATE SET version=excluded.version",
                       (self.tracking_name, self.version))

    def create_tables(self, cursor: Cursor) -> None:
        """Create the projection's tables if they do not exist."""

    def create_indexes(self, cursor: Cursor) -> None:
        """Create the projection's secondary indexes if they do not exist (a bulk load
        builds them once its rows are in: faster than keeping them up row by row)."""

    def loader(self) -> Loader:
        """What fills this copy's fresh tables from position 0 in a rebuild."""
        return Loader(self)

    def drop_tables(self, cursor: Cursor) -> None:
        """Drop the projection's tables (of this suffix)."""

    def apply(self, cursor: Cursor, envelopes: Sequence[Envelope]) -> None:
        """Apply entries in order and record the last position, in the caller's transaction."""
        for envelope in envelopes:
            self.apply_one(cursor, envelope)
        if envelopes:
            self.track(cursor, envelopes[-1]["position"])

    def handles(self, type_: str) -> bool:
        """Whether entries of `type_` change this projection's tables."""
        return type_ in self._handlers or type_ == "EntryCorrected"

    def apply_one(self, cursor: Cursor, envelope: Envelope) -> None:
        """Apply one entry with its handler (none: the entry changes nothing here)."""
        handler = self._handlers.get(envelope["type"])
        if handler is not None:
            handler(self, cursor, envelope)
        elif envelope["type"] == "EntryCorrected":
            self.correct(cursor, envelope)

    def slot_of(self, cursor: Cursor, position: int) -> int:
        """The place among same-day facts of the fact recorded at `position`: its position,
        or for a correction's, the place of the entry its chain first corrected (the
        projections whose tables keep places read it back)."""
        return position

    def track(self, cursor: Cursor, position: int) -> None:
        """Record that the tables reflect the log up to `position`."""
        cursor.execute(
            f"INSERT INTO {POSITIONS_TABLE} VALUES (?, ?) ON CONFLICT(name) "
            "DO UPDATE SET position=excluded.position", (self.tracking_name, position))

    def correct(self, cursor: Cursor, e: Envelope) -> None:
        """Apply a correction as what it means to a projection that has no handler of its
        own: the corrected entry retracted, and the replacement recorded, at its position,
        in the corrected fact's place (`slot_of`)."""
        for part in corrected(e, self.slot_of(cursor, e["data"]["position"])):
            handler = self._handlers.get(part["type"])
            if handler is not None:
                handler(self, cursor, part)


def corrected(e: Envelope, place: int | None = None) -> tuple[Envelope, Envelope]:
    """A correction as a retraction of the corrected entry and the replacement's own entry,
    both at the correction's position (for the projections' use only: the log holds the
    correction itself). The replacement carries `_slot`, the corrected fact's place (`place`,
    by default the corrected entry's position): it takes that place among entries of the
    same date, as the rules read them."""
    data = e["data"]
    retraction: Envelope = {**e, "type": "EntryRetracted",
                            "data": {"position": data["position"], "reason": data["reason"]}}
    replacement: dict[str, Any] = {**e, "type": data["replacement"]["type"],
                                   "data": data["replacement"]["data"],
                                   "_slot": data["position"] if place is None else place}
    return retraction, cast(Envelope, replacement)


def slot(e: Envelope) -> int:
    """Where an entry's fact stands among those of the same effective date: its position,
    or for a correction's replacement, the place of the fact it corrects."""
    found: Any = cast(dict[str, Any], e).get("_slot", e["position"])
    return int(found)


class Loader:
    """Fills a projection's fresh tables from position 0, page by page, for a rebuild.

    This one applies each page with the projection's own handlers, then builds the indexes.
    A projection whose entries each write rows overrides it: it keeps in memory what its
    handlers would read back, writes each page's rows with one bulk insert a table, and
    hands the rare entries that rewrite earlier rows (a retraction, a back-dated change) to
    its handlers, once the rows before them are written. The tables come out row for row
    as the handlers alone make them (a property test holds them equal).
    """

    def __init__(self, projection: Projection) -> None:
        self.projection = projection
        self.indexed = False

    def load(self, cursor: Cursor, envelopes: Sequence[Envelope]) -> None:
        """Apply a page of entries, in the caller's transaction."""
        if not self.indexed:
            # The handlers read rows back through the indexes.
            self.index(cursor)
        self.projection.apply(cursor, envelopes)

    def index(self, cursor: Cursor) -> None:
        """Build the indexes now (before a handler's first look-up, or at the end)."""
        if not self.indexed:
            self.projection.create_indexes(cursor)
            self.indexed = True

    def finish(self, cursor: Cursor) -> None:
        """Complete the tables with what the pages so far hold: write anything still kept
        in memory, and build the indexes. More pages may follow (and `finish` again)."""
        self.index(cursor)


class BulkLoader(Loader):
    """A loader that writes the common entries' rows in bulk: `buffer` takes an entry in
    memory if it can (its rows go out with the page's, one insert a table, in `flush`);
    any other entry the projection handles goes to its handler, once what the page
    buffered before it is written. Handlers read rows back through the indexes, so they
    are built before the first one runs, unless its type is in `unindexed` (handlers that
    read nothing, or only by primary key)."""

    unindexed: frozenset[str] = frozenset()

    def load(self, cursor: Cursor, envelopes: Sequence[Envelope]) -> None:
        projection = self.projection
        for envelope in envelopes:
            if self.buffer(cursor, envelope) or not projection.handles(envelope["type"]):
                continue
            self.flush(cursor)
            if envelope["type"] not in self.unindexed:
                self.index(cursor)
            self.handle(cursor, envelope)
        self.flush(cursor)
        if envelopes:
            projection.track(cursor, envelopes[-1]["position"])

    def buffer(self, cursor: Cursor, envelope: Envelope) -> bool:
        """Take the entry in memory, if it is one of the common ones; whether it was."""
        return False

    def flush(self, cursor: Cursor) -> None:
        """Write what is buffered."""

    def handle(self, cursor: Cursor, envelope: Envelope) -> None:
        """Apply an entry with the projection's handler (and forget what it makes stale)."""
        self.projection.apply_one(cursor, envelope)
