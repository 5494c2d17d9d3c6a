"""Conferences: schedule (reduced-precision dates kept as given), host, status, delegations
by role, sessions and their speakers.

The entries that set a conference's schedule and status (scheduled, rescheduled, cancelled,
held) are kept in `conference_changes`; the conference's row is folded again from those not
retracted whenever one of them arrives or is retracted, so retracting a rescheduling brings
back the dates before it. Delegations and sessions are rows of their own, marked when
retracted.
"""

from __future__ import annotations

import json
from typing import Any

from concord.domain.envelope import Envelope
from concord.projections.db import Cursor, Reader
from concord.projections.projection import (
    BulkLoader,
    Loader,
    Projection,
    handles,
    slot,
    slot_in,
)

SCHEDULE_TYPES = ("ConferenceScheduled", "ConferenceRescheduled", "ConferenceCancelled",
                  "ConferenceHeld")


class Conferences(Projection):
    """Every conference as the record stands now."""

    name = "conferences"
    # 2: dates and delegations in effective-date order (as the rules read them); a corrected
    # scheduling updates its row
    # 3: changes and delegations carry their slot (see projection.slot); 4: a correction of
    # a correction takes the place of the entry first corrected
    version = 4

    def create_tables(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS conference_changes{s} (position INTEGER PRIMARY KEY, "
            "conference TEXT NOT NULL, type TEXT NOT NULL, effective_date TEXT NOT NULL, "
            "data TEXT NOT NULL, retracted_at INTEGER, slot INTEGER NOT NULL)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS conferences{s} (code TEXT PRIMARY KEY, "
            "title TEXT NOT NULL, network TEXT, edition TEXT, host_state TEXT NOT NULL, "
            "city TEXT, starts_on TEXT NOT NULL, ends_on TEXT, status TEXT NOT NULL, "
            "status_on TEXT, status_reason TEXT, scheduled_on TEXT NOT NULL, "
            "scheduled_at INTEGER NOT NULL, retracted_at INTEGER)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS delegations{s} (position INTEGER PRIMARY KEY, "
            "conference TEXT NOT NULL, state TEXT NOT NULL, role TEXT NOT NULL, head TEXT, "
            "attended_on TEXT NOT NULL, retracted_at INTEGER, slot INTEGER NOT NULL)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS sessions{s} (position INTEGER PRIMARY KEY, "
            "conference TEXT NOT NULL, title TEXT NOT NULL, speakers TEXT NOT NULL, "
            "held_on TEXT NOT NULL, retracted_at INTEGER)")

    def slot_of(self, cursor: Cursor, position: int) -> int:
        s = self.suffix
        return slot_in(cursor, (f"conference_changes{s}", f"delegations{s}"), position)

    def create_indexes(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(f"CREATE INDEX IF NOT EXISTS conference_changes_of{s} "
                       f"ON conference_changes{s} (conference)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS conferences_hosted{s} "
                       f"ON conferences{s} (host_state)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS delegations_at{s} "
                       f"ON delegations{s} (conference)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS delegations_of{s} ON delegations{s} (state)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS sessions_at{s} ON sessions{s} (conference)")

    def drop_tables(self, cursor: Cursor) -> None:
        # Delegations before conferences, the order a read joins them (see Membership).
        for table in ("delegations", "conferences", "conference_changes", "sessions"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    @handles(*SCHEDULE_TYPES)
    def _changed(self, cursor: Cursor, e: Envelope) -> None:
        code = e["data"]["conference"]
        cursor.execute(
            f"INSERT INTO conference_changes{self.suffix} VALUES (?, ?, ?, ?, ?, NULL, ?)",
            (e["position"], code, e["type"], e["effective_date"], json.dumps(e["data"]),
             slot(e)))
        if e["type"] == "ConferenceScheduled":
            self._schedule(cursor, e)
        self._refold(cursor, code)

    def loader(self) -> Loader:
        return _Loader(self)

    def _insert(self, cursor: Cursor, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert delegations or sessions (rows of `_row`)."""
        marks = {"delegations": "?, ?, ?, ?, ?, ?, NULL, ?", "sessions": "?, ?, ?, ?, ?, NULL"}
        cursor.executemany(f"INSERT INTO {table}{self.suffix} VALUES ({marks[table]})", rows)

    @handles("DelegationAttended")
    def _attended(self, cursor: Cursor, e: Envelope) -> None:
        self._insert(cursor, "delegations", [_row(e)])

    @handles("SessionHeld")
    def _session(self, cursor: Cursor, e: Envelope) -> None:
        self._insert(cursor, "sessions", [_row(e)])

    @handles("EntryRetracted")
    def _retracted(self, cursor: Cursor, e: Envelope) -> None:
        s, target, at = self.suffix, e["data"]["position"], e["position"]
        for table in ("delegations", "sessions"):
            cursor.execute(f"UPDATE {table}{s} SET retracted_at=? WHERE position=?",
                           (at, target))
        change = cursor.execute(
            f"SELECT conference, type FROM conference_changes{s} WHERE position=?",
            (target,)).fetchone()
        if change is None:
            return
        cursor.execute(f"UPDATE conference_changes{s} SET retracted_at=? WHERE position=?",
                       (at, target))
        if change[1] == "ConferenceScheduled":
            # The conference itself is void from here on; its code stays taken.
            cursor.execute(f"UPDATE conferences{s} SET retracted_at=? WHERE code=?",
                           (at, change[0]))
        else:
            self._refold(cursor, change[0])

    def _schedule(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(
            f"INSERT INTO conferences{self.suffix} VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
            # A conflict is a correction of the scheduling: the conference, corrected.
            "'scheduled', NULL, NULL, ?, ?, NULL) ON CONFLICT(code) DO UPDATE SET "
            "title=excluded.title, network=excluded.network, edition=excluded.edition, "
            "host_state=excluded.host_state, city=excluded.city, "
            "scheduled_on=excluded.scheduled_on, scheduled_at=excluded.scheduled_at, "
            "retracted_at=NULL",
            (d["conference"], d["title"], d.get("network"), d.get("edition"), d["host_state"],
             d.get("city"), d["starts_on"], d.get("ends_on"), e["effective_date"],
             e["position"]))

    def _refold(self, cursor: Cursor, code: str) -> None:
        """Set the conference's dates and status from its changes that stand."""
        changes = cursor.execute(
            f"SELECT type, effective_date, data FROM conference_changes{self.suffix} "
            "WHERE conference=? AND retracted_at IS NULL AND type != 'ConferenceScheduled' "
            "ORDER BY effective_date, slot", (code,)).fetchall()
        scheduled = cursor.execute(
            f"SELECT data FROM conference_changes{self.suffix} WHERE conference=? "
            "AND type='ConferenceScheduled' AND retracted_at IS NULL", (code,)).fetchone()
        if scheduled is None:
            return
        first = json.loads(scheduled[0])
        starts_on, ends_on = first["starts_on"], first.get("ends_on")
        status, status_on, reason = "scheduled", None, None
        for type_, day, raw in changes:
            data = json.loads(raw)
            if type_ == "ConferenceRescheduled":
                starts_on, ends_on = data["starts_on"], data.get("ends_on")
            elif type_ == "ConferenceCancelled":
                status, status_on, reason = "cancelled", day, data.get("reason")
            elif type_ == "ConferenceHeld":
                status, status_on, reason = "held", day, None
        cursor.execute(
            f"UPDATE conferences{self.suffix} SET starts_on=?, ends_on=?, status=?, "
            "status_on=?, status_reason=? WHERE code=?",
            (starts_on, ends_on, status, status_on, reason, code))


def _row(e: Envelope) -> tuple[Any, ...]:
    """The row of a delegation's attendance or a session."""
    d = e["data"]
    if e["type"] == "DelegationAttended":
        head = json.dumps(d["head"]) if d.get("head") else None
        return (e["position"], d["conference"], d["state"], d["role"], head,
                e["effective_date"], slot(e))
    return (e["position"], d["conference"], d["title"], json.dumps(d.get("speakers", [])),
            e["effective_date"])


class _Loader(BulkLoader):
    """Conferences' rebuild: delegations and sessions written in bulk."""

    projection: Conferences
    TABLES = {"DelegationAttended": "delegations", "SessionHeld": "sessions"}

    def __init__(self, projection: Conferences) -> None:
        super().__init__(projection)
        self.rows: dict[str, list[tuple[Any, ...]]] = {"delegations": [], "sessions": []}

    def buffer(self, cursor: Cursor, e: Envelope) -> bool:
        table = self.TABLES.get(e["type"])
        if table is None:
            return False
        self.rows[table].append(_row(e))
        return True

    def flush(self, cursor: Cursor) -> None:
        for table, rows in self.rows.items():
            self.projection._insert(cursor, table, rows)
            rows.clear()


_COLUMNS = ("code, title, network, edition, host_state, city, starts_on, ends_on, status, "
            "status_on, status_reason, scheduled_on, scheduled_at")


def _conference(row: tuple[Any, ...]) -> dict[str, Any]:
    names = [c.strip() for c in _COLUMNS.split(",")]
    return dict(zip(names, row, strict=True))


def list_conferences(reader: Reader, network: str | None = None,
                     status: str | None = None, host_state: str | None = None,
                     suffix: str = "") -> list[dict[str, Any]]:
    """Conferences on record (not retracted), in order of their start, with how many
    delegations and sessions each has."""
    query = (f"SELECT {_COLUMNS}, "
             f"(SELECT COUNT(DISTINCT state) FROM delegations{suffix} d "
             "WHERE d.conference=c.code AND d.retracted_at IS NULL), "
             f"(SELECT COUNT(*) FROM sessions{suffix} x "
             "WHERE x.conference=c.code AND x.retracted_at IS NULL) "
             f"FROM conferences{suffix} c WHERE retracted_at IS NULL")
    params: list[str] = []
    for column, value in (("network", network), ("status", status),
                          ("host_state", host_state)):
        if value is not None:
            query += f" AND {column}=?"
            params.append(value)
    rows = reader.execute(query + " ORDER BY starts_on, code", params).fetchall()
    return [{**_conference(tuple(row[:-2])), "delegations": row[-2], "sessions": row[-1]}
            for row in rows]


def conference(reader: Reader, code: str, suffix: str = ""
               ) -> dict[str, Any] | None:
    """One conference: its facts, its schedule's changes, its delegations by role (a state's
    latest delegation counts) and its sessions; None if not on record."""
    row = reader.execute(f"SELECT {_COLUMNS} FROM conferences{suffix} "
                         "WHERE code=? AND retracted_at IS NULL", (code,)).fetchone()
    if row is None:
        return None
    found = _conference(tuple(row))
    changes = reader.execute(
        f"SELECT position, type, effective_date, data FROM conference_changes{suffix} "
        "WHERE conference=? AND retracted_at IS NULL ORDER BY position", (code,)).fetchall()
    found["schedule"] = [_change(position, type_, day, json.loads(raw))
                         for position, type_, day, raw in changes]
    latest: dict[str, dict[str, Any]] = {}
    for state, role, head, day, position in reader.execute(
            f"SELECT state, role, head, attended_on, position FROM delegations{suffix} "
            "WHERE conference=? AND retracted_at IS NULL ORDER BY attended_on, slot",
            (code,)):
        latest[state] = {"state": state, "role": role,
                         "head": json.loads(head) if head else None,
                         "attended_on": day, "position": position}
    ordered = sorted(latest.values(), key=lambda d: d["state"])
    found["delegations"] = {
        "participants": [d for d in ordered if d["role"] == "participant"],
        "observers": [d for d in ordered if d["role"] == "observer"]}
    found["sessions"] = [
        {"title": title, "speakers": json.loads(speakers), "held_on": day, "position": position}
        for title, speakers, day, position in reader.execute(
            f"SELECT title, speakers, held_on, position FROM sessions{suffix} "
            "WHERE conference=? AND retracted_at IS NULL ORDER BY position", (code,))]
    return found


def _change(position: int, type_: str, day: str, data: dict[str, Any]) -> dict[str, Any]:
    change: dict[str, Any] = {"position": position, "type": type_, "effective_date": day}
    if "starts_on" in data:
        change["starts_on"], change["ends_on"] = data["starts_on"], data.get("ends_on")
    if "reason" in data:
        change["reason"] = data["reason"]
    return change


def attendances(reader: Reader, state: str, suffix: str = ""
                ) -> list[dict[str, Any]]:
    """Every delegation of `state` that stands, with the conference's title and dates."""
    rows = reader.execute(
        f"SELECT d.conference, c.title, c.starts_on, c.ends_on, d.role, d.head, "
        f"d.attended_on, d.position FROM delegations{suffix} d JOIN conferences{suffix} c "
        "ON c.code=d.conference WHERE d.state=? AND d.retracted_at IS NULL "
        "AND c.retracted_at IS NULL ORDER BY d.attended_on, d.slot", (state,)).fetchall()
    latest: dict[str, dict[str, Any]] = {}
    for code, title, starts_on, ends_on, role, head, day, position in rows:
        latest[code] = {"conference": code, "title": title, "starts_on": starts_on,
                        "ends_on": ends_on, "role": role,
                        "head": json.loads(head) if head else None, "attended_on": day,
                        "position": position}
    return sorted(latest.values(), key=lambda a: (a["starts_on"], a["conference"]))


def hosted(reader: Reader, state: str, suffix: str = "") -> list[dict[str, Any]]:
    """The conferences `state` hosts or hosted."""
    rows = reader.execute(f"SELECT {_COLUMNS} FROM conferences{suffix} WHERE host_state=? "
                          "AND retracted_at IS NULL ORDER BY starts_on, code",
                          (state,)).fetchall()
    return [_conference(tuple(row)) for row in rows]


def count_conferences(reader: Reader, suffix: str = "") -> int:
    """How many conferences are on record (not retracted)."""
    return int(reader.execute(
        f"SELECT COUNT(*) FROM conferences{suffix} WHERE retracted_at IS NULL").fetchone()[0])
