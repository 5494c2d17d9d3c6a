"""Networks and states: each network's founding and statutes, and the states registered
because ISO 3166 has no code for them."""

from __future__ import annotations

from typing import Any

from concord.domain.envelope import Envelope
from concord.projections.db import Cursor, Reader
from concord.projections.projection import Projection, handles


class Networks(Projection):
    """Every network's founding facts and statutes, and every registered state."""

    name = "networks"
    version = 2  # 2: a corrected founding or registration updates its row

    def create_tables(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS networks{s} (code TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "acronym TEXT, purpose TEXT, established_on TEXT NOT NULL, "
            "established_at INTEGER NOT NULL, retracted_at INTEGER)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS statutes{s} (position INTEGER PRIMARY KEY, "
            "network TEXT NOT NULL, title TEXT NOT NULL, conference TEXT, "
            "approved_on TEXT NOT NULL, retracted_at INTEGER)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS registered_states{s} (code TEXT PRIMARY KEY, "
            "name TEXT NOT NULL, registered_on TEXT NOT NULL, registered_at INTEGER NOT NULL, "
            "retracted_at INTEGER)")

    def create_indexes(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(f"CREATE INDEX IF NOT EXISTS statutes_of{s} ON statutes{s} (network)")

    def drop_tables(self, cursor: Cursor) -> None:
        for table in ("networks", "statutes", "registered_states"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    @handles("NetworkEstablished")
    def _established(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(
            # A conflict is a correction of the founding entry: the network, corrected.
            f"INSERT INTO networks{self.suffix} VALUES (?, ?, ?, ?, ?, ?, NULL) "
            "ON CONFLICT(code) DO UPDATE SET name=excluded.name, acronym=excluded.acronym, "
            "purpose=excluded.purpose, established_on=excluded.established_on, "
            "established_at=excluded.established_at, retracted_at=NULL",
            (d["network"], d["name"], d.get("acronym"), d.get("purpose"), e["effective_date"],
             e["position"]))

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

    @handles("EntryRetracted")
    def _retracted(self, cursor: Cursor, e: Envelope) -> None:
        s, target, at = self.suffix, e["data"]["position"], e["position"]
        cursor.execute(f"UPDATE networks{s} SET retracted_at=? WHERE established_at=?",
                       (at, target))
        cursor.execute(f"UPDATE statutes{s} SET retracted_at=? WHERE position=?", (at, target))
        cursor.execute(f"UPDATE registered_states{s} SET retracted_at=? WHERE registered_at=?",
                       (at, target))


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


def network_names(reader: Reader, suffix: str = "") -> dict[str, str]:
    """Every network's name by code (retracted ones too: their codes stay taken)."""
    return dict(reader.execute(f"SELECT code, name FROM networks{suffix}").fetchall())


def network_codes(reader: Reader, suffix: str = "") -> list[str]:
    """The codes of the networks on record (not retracted), in order."""
    return [str(code) for (code,) in reader.execute(
        f"SELECT code FROM networks{suffix} WHERE retracted_at IS NULL ORDER BY code")]
