"""Networks and states: each network's founding and statutes, the terms of its offices, and
the states registered because ISO 3166 has no code for them.

An office's assumptions and relinquishments are its change points (`office_changes`); the
terms they make (`domain.network.office_terms`) are kept bitemporally in `office_terms`:
valid from/to (effective dates) and recorded from/to (positions), so "who held which office
on D, as the record stood at P" is one query. A change point recomputes its office's terms:
those that no longer hold are closed at its position, the new ones opened there.
"""

from __future__ import annotations

from typing import Any

from concord.domain.envelope import Envelope
from concord.domain.network import office_terms
from concord.projections.db import Cursor, Reader
from concord.projections.projection import Projection, corrected, handles, slot, slot_in


class Networks(Projection):
    """Every network's founding facts and statutes, and every registered state."""

    name = "networks"
    # 2: a corrected founding or registration updates its row; 3: offices; 4: a correction
    # of a correction takes the place of the entry first corrected
    version = 4

    def create_tables(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS networks{s} (code TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "acronym TEXT, purpose TEXT, established_on TEXT NOT NULL, "
            "established_at INTEGER NOT NULL, retracted_at INTEGER, "
            "founded_at INTEGER NOT NULL)")
        # established_at: the founding entry in force (a correction's, once corrected);
        # founded_at: the first, when the network came on record.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS statutes{s} (position INTEGER PRIMARY KEY, "
            "network TEXT NOT NULL, title TEXT NOT NULL, conference TEXT, "
            "approved_on TEXT NOT NULL, retracted_at INTEGER)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS registered_states{s} (code TEXT PRIMARY KEY, "
            "name TEXT NOT NULL, registered_on TEXT NOT NULL, registered_at INTEGER NOT NULL, "
            "retracted_at INTEGER)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS office_changes{s} (position INTEGER PRIMARY KEY, "
            "network TEXT NOT NULL, office TEXT NOT NULL, state TEXT NOT NULL, "
            "effective_date TEXT NOT NULL, term_ends_on TEXT, assumed INTEGER NOT NULL, "
            "slot INTEGER NOT NULL)")
        # A term is named by its office, its start and the position that recorded it.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS office_terms{s} (network TEXT NOT NULL, "
            "office TEXT NOT NULL, state TEXT NOT NULL, valid_from TEXT NOT NULL, "
            "valid_to TEXT, recorded_from INTEGER NOT NULL, recorded_to INTEGER, "
            "PRIMARY KEY (network, office, valid_from, recorded_from))")

    def create_indexes(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(f"CREATE INDEX IF NOT EXISTS statutes_of{s} ON statutes{s} (network)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS office_changes_of{s} "
                       f"ON office_changes{s} (network, office)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS office_terms_held{s} "
                       f"ON office_terms{s} (state) WHERE recorded_to IS NULL")

    def drop_tables(self, cursor: Cursor) -> None:
        for table in ("networks", "statutes", "registered_states", "office_changes",
                      "office_terms"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    @handles("NetworkEstablished")
    def _established(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(
            # A conflict is a correction of the founding entry: the network, corrected.
            f"INSERT INTO networks{self.suffix} VALUES (?, ?, ?, ?, ?, ?, NULL, ?) "
            "ON CONFLICT(code) DO UPDATE SET name=excluded.name, acronym=excluded.acronym, "
            "purpose=excluded.purpose, established_on=excluded.established_on, "
            "established_at=excluded.established_at, retracted_at=NULL",
            (d["network"], d["name"], d.get("acronym"), d.get("purpose"), e["effective_date"],
             e["position"], e["position"]))

    @handles("StatuteApproved")
    def _statute(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(f"INSERT INTO statutes{self.suffix} VALUES (?, ?, ?, ?, ?, NULL)",
                       (e["position"], d["network"], d["title"], d.get("conference"),
                        e["effective_date"]))

    @handles("StateRegistered")
    def _registered(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(
            f"INSERT INTO registered_states{self.suffix} VALUES (?, ?, ?, ?, NULL) "
            "ON CONFLICT(code) DO UPDATE SET name=excluded.name, "
            "registered_on=excluded.registered_on, registered_at=excluded.registered_at, "
            "retracted_at=NULL",
            (d["state"], d["name"], e["effective_date"], e["position"]))

    @handles("OfficeAssumed", "OfficeRelinquished")
    def _office(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(
            f"INSERT INTO office_changes{self.suffix} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (e["position"], d["network"], d["office"], d["state"], e["effective_date"],
             d.get("term_ends_on"), int(e["type"] == "OfficeAssumed"), slot(e)))
        self._recompute_terms(cursor, d["network"], d["office"], e["position"])

    def slot_of(self, cursor: Cursor, position: int) -> int:
        return slot_in(cursor, (f"office_changes{self.suffix}",), position)

    def correct(self, cursor: Cursor, e: Envelope) -> None:
        """A correction as a retraction and the replacement (`Projection.correct`), except
        that a corrected founding keeps the network's offices: the network stays on
        record, corrected."""
        if e["data"]["replacement"]["type"] == "NetworkEstablished":
            retraction, replacement = corrected(e)
            self._retract_rows(cursor, retraction)
            self._established(cursor, replacement)
            return
        super().correct(cursor, e)

    @handles("EntryRetracted")
    def _retracted(self, cursor: Cursor, e: Envelope) -> None:
        s, target, at = self.suffix, e["data"]["position"], e["position"]
        founded = cursor.execute(f"SELECT code FROM networks{s} WHERE established_at=?",
                                 (target,)).fetchone()
        self._retract_rows(cursor, e)
        change = cursor.execute(f"SELECT network, office FROM office_changes{s} "
                                "WHERE position=?", (target,)).fetchone()
        if change is not None:
            cursor.execute(f"DELETE FROM office_changes{s} WHERE position=?", (target,))
            self._recompute_terms(cursor, change[0], change[1], at)
        if founded is not None:
            # The network itself is retracted: nobody ever held its offices, from here on.
            cursor.execute(f"DELETE FROM office_changes{s} WHERE network=?", founded)
            cursor.execute(f"UPDATE office_terms{s} SET recorded_to=? WHERE network=? "
                           "AND recorded_to IS NULL", (at, founded[0]))

    def _retract_rows(self, cursor: Cursor, e: Envelope) -> None:
        """Mark the network, statute or registration the retraction `e` names retracted."""
        s, target, at = self.suffix, e["data"]["position"], e["position"]
        cursor.execute(f"UPDATE networks{s} SET retracted_at=? WHERE established_at=?",
                       (at, target))
        cursor.execute(f"UPDATE statutes{s} SET retracted_at=? WHERE position=?", (at, target))
        cursor.execute(f"UPDATE registered_states{s} SET retracted_at=? WHERE registered_at=?",
                       (at, target))

    def _recompute_terms(self, cursor: Cursor, network: str, office: str, at: int) -> None:
        """Bring the office's terms up to its change points, at position `at` (a term
        opened at `at` itself and no longer wanted is taken out: a correction recomputes
        twice at its position, once for the retraction and once for the replacement)."""
        s = self.suffix
        points = cursor.execute(
            f"SELECT effective_date, state, term_ends_on, assumed FROM office_changes{s} "
            "WHERE network=? AND office=? ORDER BY effective_date, slot",
            (network, office)).fetchall()
        wanted = set(office_terms([(day, state, ends, bool(assumed))
                                   for day, state, ends, assumed in points]))
        held = {(state, start, end): opened for state, start, end, opened in cursor.execute(
            f"SELECT state, valid_from, valid_to, recorded_from FROM office_terms{s} "
            "WHERE network=? AND office=? AND recorded_to IS NULL", (network, office))}
        for (state, start, end), opened in held.items():
            if (state, start, end) in wanted:
                continue
            key = (network, office, start, opened)
            if opened == at:
                cursor.execute(f"DELETE FROM office_terms{s} WHERE network=? AND office=? "
                               "AND valid_from=? AND recorded_from=?", key)
            else:
                cursor.execute(f"UPDATE office_terms{s} SET recorded_to=? WHERE network=? "
                               "AND office=? AND valid_from=? AND recorded_from=?", (at, *key))
        cursor.executemany(
            f"INSERT INTO office_terms{s} VALUES (?, ?, ?, ?, ?, ?, NULL)",
            [(network, office, state, start, end, at)
             for state, start, end in sorted(wanted - set(held), key=str)])


_COLUMNS = "code, name, acronym, purpose, established_on, established_at"


def _network(row: tuple[Any, ...]) -> dict[str, Any]:
    code, name, acronym, purpose, established_on, established_at = row
    return {"code": code, "name": name, "acronym": acronym, "purpose": purpose,
            "established_on": established_on, "established_at": established_at}


def _statutes(reader: Reader, code: str, suffix: str) -> list[dict[str, Any]]:
    return [{"title": title, "conference": conference, "approved_on": day, "position": position}
            for title, conference, day, position in reader.execute(
                f"SELECT title, conference, approved_on, position FROM statutes{suffix} "
                "WHERE network=? AND retracted_at IS NULL ORDER BY position", (code,))]


def list_networks(reader: Reader, suffix: str = "") -> list[dict[str, Any]]:
    """Every network on record (not retracted), in the order they were recorded."""
    rows = reader.execute(f"SELECT {_COLUMNS} FROM networks{suffix} "
                          "WHERE retracted_at IS NULL ORDER BY established_at").fetchall()
    return [{**_network(tuple(row)), "statutes": _statutes(reader, row[0], suffix)}
            for row in rows]


def network(reader: Reader, code: str, suffix: str = "") -> dict[str, Any] | None:
    """One network's founding facts and statutes; None if not on record."""
    row = reader.execute(f"SELECT {_COLUMNS} FROM networks{suffix} "
                         "WHERE code=? AND retracted_at IS NULL", (code,)).fetchone()
    if row is None:
        return None
    return {**_network(tuple(row)), "statutes": _statutes(reader, code, suffix)}


def registered_state(reader: Reader, code: str, suffix: str = ""
                     ) -> dict[str, Any] | None:
    """A state registered on the log (not retracted), or None."""
    row = reader.execute(
        f"SELECT name, registered_on, registered_at FROM registered_states{suffix} "
        "WHERE code=? AND retracted_at IS NULL", (code,)).fetchone()
    if row is None:
        return None
    return {"name": row[0], "registered_on": row[1], "registered_at": row[2]}


def offices(reader: Reader, network: str, on: str, as_of: int, suffix: str = ""
            ) -> list[dict[str, Any]]:
    """Who held which office of `network` on the date `on`, as the record stood at
    position `as_of`, by office."""
    return [{"office": office, "state": state, "since": start, "until": end}
            for office, state, start, end in reader.execute(
                f"SELECT office, state, valid_from, valid_to FROM office_terms{suffix} "
                "WHERE network=? AND valid_from<=? AND (valid_to IS NULL OR valid_to>?) "
                "AND recorded_from<=? AND (recorded_to IS NULL OR recorded_to>?) "
                "ORDER BY office", (network, on, on, as_of, as_of))]


def offices_held(reader: Reader, state: str, suffix: str = "") -> list[dict[str, Any]]:
    """Every term of an office `state` held, as the record stands now, in date order."""
    return [{"network": network, "office": office, "valid_from": start, "valid_to": end}
            for network, office, start, end in reader.execute(
                f"SELECT network, office, valid_from, valid_to FROM office_terms{suffix} "
                "WHERE state=? AND recorded_to IS NULL ORDER BY valid_from, network, office",
                (state,))]


def network_names(reader: Reader, suffix: str = "") -> dict[str, str]:
    """Every network's name by code (retracted ones too: their codes stay taken)."""
    return dict(reader.execute(f"SELECT code, name FROM networks{suffix}").fetchall())


def network_codes(reader: Reader, suffix: str = "") -> list[str]:
    """The codes of the networks on record (not retracted), in order."""
    return [str(code) for (code,) in reader.execute(
        f"SELECT code FROM networks{suffix} WHERE retracted_at IS NULL ORDER BY code")]
