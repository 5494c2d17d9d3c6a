"""Membership: who was in which network, in what role, on any date, as of any position.

Each join and leave is a change point (effective date, position, role or none) of a
(network, state). The intervals between change points, in effective-date order, are the
rows of `membership`: valid from/to (effective dates) and recorded from/to (positions). When
a new change point, or a retraction, changes a pair's intervals, the rows that no longer
hold are closed at that position and the new ones opened there. So "members on D as of P"
is one indexed query, and any earlier P still sees the record as it stood then.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from domain.envelope import Envelope
from projections.projection import Projection, handles

Interval = tuple[str, str, str | None]  # role, valid_from, valid_to


@dataclass(frozen=True)
class Member:
    """A state in a network on a date: its role, and since when it has held it."""

    state: str
    role: str
    since: str


class Membership(Projection):
    """The bitemporal membership of every network."""

    name = "membership"

    def create_tables(self, cursor: sqlite3.Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership_changes{s} (position INTEGER PRIMARY KEY, "
            "network TEXT NOT NULL, state TEXT NOT NULL, effective_date TEXT NOT NULL, "
            "role TEXT)")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_changes_pair{s} "
            f"ON membership_changes{s} (network, state)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership_networks{s} (network TEXT PRIMARY KEY, "
            "founded_at INTEGER NOT NULL)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership{s} (network TEXT NOT NULL, "
            "state TEXT NOT NULL, role TEXT NOT NULL, valid_from TEXT NOT NULL, "
            "valid_to TEXT, recorded_from INTEGER NOT NULL, recorded_to INTEGER)")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_on{s} "
            f"ON membership{s} (network, valid_from, recorded_from)")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_current{s} "
            f"ON membership{s} (network, state) WHERE recorded_to IS NULL")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_of_state{s} "
            f"ON membership{s} (state) WHERE recorded_to IS NULL")

    def drop_tables(self, cursor: sqlite3.Cursor) -> None:
        for table in ("membership_changes", "membership_networks", "membership"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    @handles("NetworkEstablished")
    def _established(self, cursor: sqlite3.Cursor, e: Envelope) -> None:
        cursor.execute(f"INSERT OR IGNORE INTO membership_networks{self.suffix} VALUES (?, ?)",
                       (e["data"]["network"], e["position"]))

    @handles("StateJoinedNetwork", "StateLeftNetwork")
    def _changed(self, cursor: sqlite3.Cursor, e: Envelope) -> None:
        s, data, at, day = self.suffix, e["data"], e["position"], e["effective_date"]
        network, state = data["network"], data["state"]
        role = data.get("role") if e["type"] == "StateJoinedNetwork" else None
        latest = cursor.execute(
            f"SELECT MAX(effective_date) FROM membership_changes{s} WHERE network=? AND state=?",
            (network, state)).fetchone()[0]
        cursor.execute(f"INSERT INTO membership_changes{s} VALUES (?, ?, ?, ?, ?)",
                       (at, network, state, day, role))
        if latest is not None and day < latest:
            # Back-dated: the intervals after it change too.
            self._recompute(cursor, network, state, at)
            return
        # In effective-date order (the usual case): only the open interval can change, so
        # the pair's whole history need not be read again.
        current = cursor.execute(
            f"SELECT rowid, role, valid_from FROM membership{s} WHERE network=? AND state=? "
            "AND recorded_to IS NULL AND valid_to IS NULL", (network, state)).fetchone()
        if (current[1] if current else None) == role:
            return
        if current is not None:
            cursor.execute(f"UPDATE membership{s} SET recorded_to=? WHERE rowid=?",
                           (at, current[0]))
            if current[2] < day:
                cursor.execute(f"INSERT INTO membership{s} VALUES (?, ?, ?, ?, ?, ?, NULL)",
                               (network, state, current[1], current[2], day, at))
        if role is not None:
            cursor.execute(f"INSERT INTO membership{s} VALUES (?, ?, ?, ?, NULL, ?, NULL)",
                           (network, state, role, day, at))

    @handles("EntryRetracted")
    def _retracted(self, cursor: sqlite3.Cursor, e: Envelope) -> None:
        s, retracted, at = self.suffix, e["data"]["position"], e["position"]
        change = cursor.execute(
            f"SELECT network, state FROM membership_changes{s} WHERE position=?",
            (retracted,)).fetchone()
        if change is not None:
            cursor.execute(f"DELETE FROM membership_changes{s} WHERE position=?", (retracted,))
            self._recompute(cursor, change[0], change[1], at)
            return
        founded = cursor.execute(
            f"SELECT network FROM membership_networks{s} WHERE founded_at=?",
            (retracted,)).fetchone()
        if founded is not None:
            # The network itself is retracted: nobody was ever in it, from here on.
            cursor.execute(f"DELETE FROM membership_changes{s} WHERE network=?", founded)
            cursor.execute(
                f"UPDATE membership{s} SET recorded_to=? WHERE network=? AND recorded_to IS NULL",
                (at, founded[0]))

    def _recompute(self, cursor: sqlite3.Cursor, network: str, state: str, at: int) -> None:
        s = self.suffix
        points = cursor.execute(
            f"SELECT effective_date, role FROM membership_changes{s} "
            "WHERE network=? AND state=? ORDER BY effective_date, position",
            (network, state)).fetchall()
        wanted = set(intervals(points))
        current = cursor.execute(
            f"SELECT rowid, role, valid_from, valid_to FROM membership{s} "
            "WHERE network=? AND state=? AND recorded_to IS NULL", (network, state)).fetchall()
        held = {(role, start, end): rowid for rowid, role, start, end in current}
        for interval, rowid in held.items():
            if interval not in wanted:
                cursor.execute(f"UPDATE membership{s} SET recorded_to=? WHERE rowid=?",
                               (at, rowid))
        cursor.executemany(
            f"INSERT INTO membership{s} VALUES (?, ?, ?, ?, ?, ?, NULL)",
            [(network, state, role, start, end, at)
             for role, start, end in sorted(wanted - set(held), key=str)])


def intervals(points: list[tuple[str, str | None]]) -> list[Interval]:
    """The intervals of roles that change points (in effective-date order) make."""
    found: list[Interval] = []
    role: str | None = None
    start = ""
    for day, new_role in points:
        if new_role == role:
            continue
        if role is not None and start < day:
            found.append((role, start, day))
        role, start = new_role, day
    if role is not None:
        found.append((role, start, None))
    return found


def members(reader: sqlite3.Connection, network: str, on: str, as_of: int,
            role: str | None = None, suffix: str = "") -> list[Member]:
    """The members of `network` on the date `on`, as the record stood at position `as_of`."""
    query = (
        f"SELECT state, role, valid_from FROM membership{suffix} WHERE network=? "
        "AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) "
        "AND recorded_from <= ? AND (recorded_to IS NULL OR recorded_to > ?)")
    params: list[object] = [network, on, on, as_of, as_of]
    if role is not None:
        query += " AND role=?"
        params.append(role)
    rows = reader.execute(query + " ORDER BY state", params).fetchall()
    return [Member(state, member_role, since) for state, member_role, since in rows]


def memberships(reader: sqlite3.Connection, state: str, suffix: str = ""
                ) -> list[dict[str, str | None]]:
    """Every interval of `state` in any network, as the record stands now, in date order."""
    rows = reader.execute(
        f"SELECT network, role, valid_from, valid_to FROM membership{suffix} "
        "WHERE state=? AND recorded_to IS NULL ORDER BY valid_from, network",
        (state,)).fetchall()
    return [{"network": network, "role": role, "valid_from": start, "valid_to": end}
            for network, role, start, end in rows]
