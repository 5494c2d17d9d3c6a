"""The base of a projection: handlers by event type, applied many events per transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

from concord.domain.envelope import Envelope
from concord.projections.db import Cursor
from concord.projections.store import POSITIONS_TABLE, VERSIONS_TABLE

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

    def prepare(self, cursor: Cursor) -> None:
        """Create the tables if they do not exist; if they were built with another version
        of the layout, drop them and start again from position 0."""
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
        cursor.execute(f"INSERT INTO {VERSIONS_TABLE} VALUES (?, ?) ON CONFLICT(name) "
                       "DO UPDATE SET version=excluded.version",
                       (self.tracking_name, self.version))

    def create_tables(self, cursor: Cursor) -> None:
        """Create the projection's tables and indexes if they do not exist."""

    def drop_tables(self, cursor: Cursor) -> None:
        """Drop the projection's tables (of this suffix)."""

    def apply(self, cursor: Cursor, envelopes: Sequence[Envelope]) -> None:
        """Apply entries in order and record the last position, in the caller's transaction."""
        for envelope in envelopes:
            handler = self._handlers.get(envelope["type"])
            if handler is not None:
                handler(self, cursor, envelope)
            elif envelope["type"] == "EntryCorrected":
                self.correct(cursor, envelope)
        if envelopes:
            cursor.execute(
                f"INSERT INTO {POSITIONS_TABLE} VALUES (?, ?) ON CONFLICT(name) "
                "DO UPDATE SET position=excluded.position",
                (self.tracking_name, envelopes[-1]["position"]))

    def correct(self, cursor: Cursor, e: Envelope) -> None:
        """Apply a correction as what it means to a projection that has no handler of its
        own: the corrected entry retracted, and the replacement recorded, at its position."""
        for part in corrected(e):
            handler = self._handlers.get(part["type"])
            if handler is not None:
                handler(self, cursor, part)


def corrected(e: Envelope) -> tuple[Envelope, Envelope]:
    """A correction as a retraction of the corrected entry and the replacement's own entry,
    both at the correction's position (for the projections' use only: the log holds the
    correction itself). The replacement carries `_slot`, the corrected entry's position: it
    takes that entry's place among entries of the same date, as the rules read them."""
    data = e["data"]
    retraction: Envelope = {**e, "type": "EntryRetracted",
                            "data": {"position": data["position"], "reason": data["reason"]}}
    replacement: dict[str, Any] = {**e, "type": data["replacement"]["type"],
                                   "data": data["replacement"]["data"], "_slot": data["position"]}
    return retraction, cast(Envelope, replacement)


def slot(e: Envelope) -> int:
    """Where an entry's fact stands among those of the same effective date: its position,
    or for a correction's replacement, the corrected entry's."""
    found: Any = cast(dict[str, Any], e).get("_slot", e["position"])
    return int(found)
