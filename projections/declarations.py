"""Declarations: what was adopted, where, and who signed it (and who withdrew)."""

from __future__ import annotations

import json
from typing import Any

from concord.domain.envelope import Envelope
from concord.projections.db import Cursor, Reader
from concord.projections.projection import (
    BulkLoader,
    Loader,
    Projection,
    corrected,
    handles,
    slot,
    slot_in,
)


class Declarations(Projection):
    """Each declaration with its signatures, as the record stands now."""

    name = "declarations"
    # 2: a corrected adoption updates its row; withdrawals kept, each paired with the
    # signature before it in effective-date order (then slot: see projection.slot)
    # 3: a correction of a correction takes the place of the entry first corrected
    version = 3

    def create_tables(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS declarations{s} (code TEXT PRIMARY KEY, "
            "title TEXT NOT NULL, also_known_as TEXT NOT NULL, conference TEXT, network TEXT, "
            "text_sha256 TEXT, adopted_on TEXT NOT NULL, adopted_at INTEGER NOT NULL, "
            "retracted_at INTEGER)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS signatures{s} (position INTEGER PRIMARY KEY, "
            "declaration TEXT NOT NULL, state TEXT NOT NULL, signed_on TEXT NOT NULL, "
            "signatory TEXT, withdrawn_on TEXT, withdrawn_at INTEGER, withdrawal_reason TEXT, "
            "retracted_at INTEGER, slot INTEGER NOT NULL)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS withdrawals{s} (position INTEGER PRIMARY KEY, "
            "declaration TEXT NOT NULL, state TEXT NOT NULL, withdrawn_on TEXT NOT NULL, "
            "reason TEXT, retracted_at INTEGER, slot INTEGER NOT NULL)")

    def create_indexes(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(f"CREATE INDEX IF NOT EXISTS signatures_of{s} "
                       f"ON signatures{s} (declaration, state)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS signatures_by{s} ON signatures{s} (state)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS withdrawals_of{s} "
                       f"ON withdrawals{s} (declaration, state)")

    def drop_tables(self, cursor: Cursor) -> None:
        # Signatures before declarations, the order a read joins them (see Membership).
        for table in ("signatures", "declarations", "withdrawals"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    def slot_of(self, cursor: Cursor, position: int) -> int:
        s = self.suffix
        return slot_in(cursor, (f"signatures{s}", f"withdrawals{s}"), position)

    @handles("DeclarationAdopted")
    def _adopted(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(
            # A conflict is a correction of the adoption: the declaration, corrected.
            f"INSERT INTO declarations{self.suffix} "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(code) DO UPDATE SET "
            "title=excluded.title, also_known_as=excluded.also_known_as, "
            "conference=excluded.conference, network=excluded.network, "
            "text_sha256=excluded.text_sha256, adopted_on=excluded.adopted_on, "
            "adopted_at=excluded.adopted_at, retracted_at=NULL",
            (d["declaration"], d["title"], json.dumps(d.get("also_known_as", [])),
             d.get("conference"), d.get("network"), d.get("text_sha256"),
             e["effective_date"], e["position"]))

    def loader(self) -> Loader:
        return _Loader(self)

    def _insert_signatures(self, cursor: Cursor, rows: list[tuple[Any, ...]]) -> None:
        cursor.executemany(f"INSERT INTO signatures{self.suffix} VALUES "
                           "(?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?)", rows)

    @handles("DeclarationSigned")
    def _signed(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        self._insert_signatures(cursor, [_signature(e)])
        # Without withdrawals, a new signature is simply standing.
        if cursor.execute(f"SELECT 1 FROM withdrawals{self.suffix} WHERE declaration=? AND "
                          "state=? AND retracted_at IS NULL LIMIT 1",
                          (d["declaration"], d["state"])).fetchone() is not None:
            self._pair(cursor, d["declaration"], d["state"])

    @handles("SignatureWithdrawn")
    def _withdrawn(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(f"INSERT INTO withdrawals{self.suffix} VALUES (?, ?, ?, ?, ?, NULL, ?)",
                       (e["position"], d["declaration"], d["state"], e["effective_date"],
                        d.get("reason"), slot(e)))
        self._pair(cursor, d["declaration"], d["state"])

    @handles("EntryRetracted")
    def _retracted(self, cursor: Cursor, e: Envelope) -> None:
        s, target, at = self.suffix, e["data"]["position"], e["position"]
        cursor.execute(f"UPDATE declarations{s} SET retracted_at=? WHERE adopted_at=?",
                       (at, target))
        for table in ("signatures", "withdrawals"):
            pair = cursor.execute(f"SELECT declaration, state FROM {table}{s} WHERE position=?",
                                  (target,)).fetchone()
            if pair is not None:
                cursor.execute(f"UPDATE {table}{s} SET retracted_at=? WHERE position=?",
                               (at, target))
                self._pair(cursor, pair[0], pair[1])

    def _pair(self, cursor: Cursor, code: str, state: str) -> None:
        """Pair each standing withdrawal with the signature it ends: the one standing just
        before it, in effective-date order (the order the rules read them in)."""
        s = self.suffix
        cursor.execute(f"UPDATE signatures{s} SET withdrawn_on=NULL, withdrawn_at=NULL, "
                       "withdrawal_reason=NULL WHERE declaration=? AND state=?", (code, state))
        points = sorted(
            [(day, order, position, None) for day, order, position in cursor.execute(
                f"SELECT signed_on, slot, position FROM signatures{s} WHERE declaration=? "
                "AND state=? AND retracted_at IS NULL", (code, state)).fetchall()]
            + [(day, order, position, (reason,)) for day, order, position, reason
               in cursor.execute(
                f"SELECT withdrawn_on, slot, position, reason FROM withdrawals{s} WHERE "
                "declaration=? AND state=? AND retracted_at IS NULL",
                (code, state)).fetchall()],
            key=lambda p: (p[0], p[1]))
        standing: int | None = None
        for day, _, position, withdrawal in points:
            if withdrawal is None:
                standing = position
            elif standing is not None:
                cursor.execute(f"UPDATE signatures{s} SET withdrawn_on=?, withdrawn_at=?, "
                               "withdrawal_reason=? WHERE position=?",
                               (day, position, withdrawal[0], standing))
                standing = None


def _signature(e: Envelope) -> tuple[Any, ...]:
    d = e["data"]
    signatory = json.dumps(d["signatory"]) if d.get("signatory") else None
    return (e["position"], d["declaration"], d["state"], e["effective_date"], signatory,
            slot(e))


class _Loader(BulkLoader):
    """Declarations' rebuild: signatures written in bulk, unless their state has withdrawn
    from that declaration (then the handler pairs them)."""

    projection: Declarations
    unindexed = frozenset({"DeclarationAdopted"})  # one upsert by code

    def __init__(self, projection: Declarations) -> None:
        super().__init__(projection)
        self.signatures: list[tuple[Any, ...]] = []
        self.withdrawn: set[tuple[str, str]] = set()  # (declaration, state) ever withdrawn

    def buffer(self, cursor: Cursor, e: Envelope) -> bool:
        if e["type"] != "DeclarationSigned" or (
                (e["data"]["declaration"], e["data"]["state"]) in self.withdrawn):
            return False
        self.signatures.append(_signature(e))
        return True

    def flush(self, cursor: Cursor) -> None:
        self.projection._insert_signatures(cursor, self.signatures)
        self.signatures = []

    def handle(self, cursor: Cursor, e: Envelope) -> None:
        for part in corrected(e) if e["type"] == "EntryCorrected" else (e,):
            if part["type"] == "SignatureWithdrawn":
                self.withdrawn.add((part["data"]["declaration"], part["data"]["state"]))
        super().handle(cursor, e)


_COLUMNS = ("code, title, also_known_as, conference, network, text_sha256, adopted_on, "
            "adopted_at")


def _declaration(row: tuple[Any, ...], signatories: int) -> dict[str, Any]:
    code, title, aka, conference, network, sha, adopted_on, adopted_at = row
    return {"code": code, "title": title, "also_known_as": json.loads(aka),
            "conference": conference, "network": network, "text_sha256": sha,
            "adopted_on": adopted_on, "adopted_at": adopted_at, "signatories": signatories}


def list_declarations(reader: Reader, suffix: str = "") -> list[dict[str, Any]]:
    """Every declaration on record (not retracted), with how many states stand signed."""
    rows = reader.execute(
        f"SELECT {_COLUMNS}, (SELECT COUNT(*) FROM signatures{suffix} s WHERE "
        "s.declaration=d.code AND s.withdrawn_at IS NULL AND s.retracted_at IS NULL) "
        f"FROM declarations{suffix} d WHERE retracted_at IS NULL ORDER BY adopted_at"
    ).fetchall()
    return [_declaration(tuple(row[:-1]), row[-1]) for row in rows]


def declaration(reader: Reader, code: str, suffix: str = ""
                ) -> dict[str, Any] | None:
    """One declaration, its signatories and its withdrawals; None if not on record."""
    row = reader.execute(f"SELECT {_COLUMNS} FROM declarations{suffix} "
                         "WHERE code=? AND retracted_at IS NULL", (code,)).fetchone()
    if row is None:
        return None
    signatures = reader.execute(
        f"SELECT state, signed_on, position, signatory, withdrawn_on, withdrawn_at, "
        f"withdrawal_reason FROM signatures{suffix} WHERE declaration=? AND retracted_at "
        "IS NULL ORDER BY position", (code,)).fetchall()
    signed = [{"state": st, "signed_on": on, "position": pos,
               "signatory": json.loads(who) if who else None}
              for st, on, pos, who, w_on, _, _ in signatures if w_on is None]
    withdrawn = [{"state": st, "signed_on": on, "withdrawn_on": w_on, "position": w_at,
                  "reason": reason}
                 for st, on, _, _, w_on, w_at, reason in signatures if w_on is not None]
    found = _declaration(tuple(row), len(signed))
    return {**found, "signed": signed, "withdrawn": withdrawn}


def signatures_of(reader: Reader, state: str, suffix: str = ""
                  ) -> list[dict[str, Any]]:
    """Every signature of `state` on record, standing or withdrawn, with the declaration."""
    rows = reader.execute(
        f"SELECT s.declaration, d.title, s.signed_on, s.position, s.signatory, "
        f"s.withdrawn_on, s.withdrawn_at, s.withdrawal_reason FROM signatures{suffix} s "
        f"JOIN declarations{suffix} d ON d.code=s.declaration WHERE s.state=? "
        "AND s.retracted_at IS NULL AND d.retracted_at IS NULL ORDER BY s.position",
        (state,)).fetchall()
    return [{"declaration": code, "title": title, "signed_on": on, "position": position,
             "signatory": json.loads(who) if who else None, "withdrawn_on": w_on,
             "withdrawn_at": w_at, "withdrawal_reason": reason}
            for code, title, on, position, who, w_on, w_at, reason in rows]


def count_declarations(reader: Reader, suffix: str = "") -> int:
    """How many declarations are on record (not retracted)."""
    return int(reader.execute(
        f"SELECT COUNT(*) FROM declarations{suffix} WHERE retracted_at IS NULL").fetchone()[0])
