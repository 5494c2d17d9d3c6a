"""Instruments: what was adopted, and each state's consents, in force, denounced.

Every step (a consent, an entry into force, a denunciation) is kept with the position that
recorded it and, once retracted or corrected, the position that did so: the steps as the
record stood at position P are one indexed read, and an instrument's standing on any date
follows from them by the rules of `domain.instrument` (a few hundred steps at most for an
instrument, folded at query time). A correction is kept as its parts: the corrected step
retracted, the corrected fact recorded at the correction's position, in the corrected
entry's place among steps of the same date (`slot`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from concord.domain.envelope import Envelope
from concord.domain.instrument import Consent, consents
from concord.projections.db import Cursor, Reader
from concord.projections.projection import Projection, handles, slot, slot_in


class Instruments(Projection):
    """Each instrument and every step of its states, bitemporally."""

    name = "instruments"
    version = 1

    def create_tables(self, cursor: Cursor) -> None:
        s = self.suffix
        # adopted_at: the adoption in force (a correction's, once corrected); founded_at:
        # the first, when the instrument came on record.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS instruments{s} (code TEXT PRIMARY KEY, "
            "title TEXT NOT NULL, kind TEXT NOT NULL, network TEXT, conference TEXT, "
            "text_sha256 TEXT, consents_required INTEGER, adopted_on TEXT NOT NULL, "
            "adopted_at INTEGER NOT NULL, founded_at INTEGER NOT NULL, retracted_at INTEGER)")
        # state NULL: the instrument's general entry into force.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS instrument_steps{s} (position INTEGER PRIMARY KEY, "
            "instrument TEXT NOT NULL, state TEXT, step TEXT NOT NULL, "
            "effective_date TEXT NOT NULL, notified_on TEXT, slot INTEGER NOT NULL, "
            "retracted_at INTEGER)")

    def create_indexes(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(f"CREATE INDEX IF NOT EXISTS instrument_steps_of{s} "
                       f"ON instrument_steps{s} (instrument, position)")
        cursor.execute(f"CREATE INDEX IF NOT EXISTS instrument_steps_by{s} "
                       f"ON instrument_steps{s} (state, instrument)")

    def drop_tables(self, cursor: Cursor) -> None:
        for table in ("instrument_steps", "instruments"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    def slot_of(self, cursor: Cursor, position: int) -> int:
        return slot_in(cursor, (f"instrument_steps{self.suffix}",), position)

    @handles("InstrumentAdopted")
    def _adopted(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        cursor.execute(
            # A conflict is a correction of the adoption: the instrument, corrected.
            f"INSERT INTO instruments{self.suffix} "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(code) DO UPDATE SET "
            "title=excluded.title, kind=excluded.kind, network=excluded.network, "
            "conference=excluded.conference, text_sha256=excluded.text_sha256, "
            "consents_required=excluded.consents_required, adopted_on=excluded.adopted_on, "
            "adopted_at=excluded.adopted_at, retracted_at=NULL",
            (d["instrument"], d["title"], d["kind"], d.get("network"), d.get("conference"),
             d.get("text_sha256"), (d.get("entry_into_force") or {}).get("consents_required"),
             e["effective_date"], e["position"], e["position"]))

    @handles("ConsentExpressed", "InstrumentEnteredIntoForce", "Denunciation")
    def _step(self, cursor: Cursor, e: Envelope) -> None:
        d = e["data"]
        step = {"ConsentExpressed": d.get("form"), "InstrumentEnteredIntoForce": "in-force",
                "Denunciation": "denunciation"}[e["type"]]
        cursor.execute(
            f"INSERT INTO instrument_steps{self.suffix} VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            (e["position"], d["instrument"], d.get("state"), step, e["effective_date"],
             d.get("notified_on"), slot(e)))

    @handles("EntryRetracted")
    def _retracted(self, cursor: Cursor, e: Envelope) -> None:
        s, target, at = self.suffix, e["data"]["position"], e["position"]
        cursor.execute(f"UPDATE instruments{s} SET retracted_at=? WHERE adopted_at=?",
                       (at, target))
        cursor.execute(f"UPDATE instrument_steps{s} SET retracted_at=? WHERE position=?",
                       (at, target))


_COLUMNS = ("code, title, kind, network, conference, text_sha256, consents_required, "
            "adopted_on, adopted_at")
_FIELDS = tuple(_COLUMNS.split(", "))


# On record at a position: adopted by then, not retracted by then.
_ON_RECORD = "founded_at <= ? AND (retracted_at IS NULL OR retracted_at > ?)"


def _steps(reader: Reader, code: str | None, position: int, suffix: str
           ) -> dict[str, list[tuple[Any, ...]]]:
    """The steps standing at `position` (of instrument `code`, or of all), by instrument,
    in effective-date order."""
    where, params = ("instrument = ? AND ", (code,)) if code is not None else ("", ())
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in reader.execute(
            f"SELECT instrument, state, step, effective_date, notified_on "
            f"FROM instrument_steps{suffix} WHERE {where}position <= ? "
            "AND (retracted_at IS NULL OR retracted_at > ?) ORDER BY effective_date, slot",
            (*params, position, position)):
        found[row[0]].append(tuple(row[1:]))
    return found


class Standing:
    """An instrument's general entry into force and its states' consents, as the record
    stood at a position."""

    def __init__(self, steps: list[tuple[Any, ...]]) -> None:
        general = [day for state, _, day, _ in steps if state is None]
        self.in_force_on: str | None = general[0] if general else None
        by_state: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
        for state, step, day, notice in steps:
            if state is not None:
                by_state[state].append((day, step, notice))
        self.consents: list[Consent] = sorted(
            (consent for state, points in by_state.items() for consent in consents(state, points)),
            key=lambda consent: (consent.starts_on, consent.state))

    def view(self, consent: Consent, on: str) -> dict[str, Any]:
        """One consent as the API gives it, with its standing on `on`."""
        return {"state": consent.state, "signed_on": consent.signed_on,
                "consented_on": consent.bound_on, "form": consent.form,
                "in_force_on": consent.in_force_on(self.in_force_on),
                "denounced_on": consent.ends_on, "notified_on": consent.notified_on,
                "standing": consent.standing_on(on, self.in_force_on)}

    def counts(self, day: str) -> dict[str, int]:
        """How many states were parties, contracting states and signatories on `day`."""
        found = {"party": 0, "contracting": 0, "signatory": 0}
        for consent in self.consents:
            standing = consent.standing_on(day, self.in_force_on)
            if standing is not None:
                found[standing] += 1
        return {"parties": found["party"], "contracting_states": found["contracting"],
                "signatories": found["signatory"]}

    def on(self, day: str) -> dict[str, Any]:
        """Every consent, and the parties, contracting states and signatories on `day`."""
        views = [self.view(consent, day) for consent in self.consents]
        return {
            "in_force_on": self.in_force_on,
            "in_force": self.in_force_on is not None and self.in_force_on <= day,
            "parties": [v for v in views if v["standing"] == "party"],
            "contracting_states": [v for v in views if v["standing"] == "contracting"],
            "signatories": [v for v in views if v["standing"] == "signatory"],
            "consents": views,
        }


def _instrument(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_FIELDS, row, strict=True))


def list_instruments(reader: Reader, on: str, position: int, suffix: str = ""
                     ) -> list[dict[str, Any]]:
    """Every instrument on record at `position`, with how many states were parties,
    contracting states and signatories on `on`, in the order recorded."""
    rows = reader.execute(f"SELECT {_COLUMNS} FROM instruments{suffix} "
                          f"WHERE {_ON_RECORD} ORDER BY founded_at",
                          (position, position)).fetchall()
    steps = _steps(reader, None, position, suffix) if rows else {}
    found = []
    for row in rows:
        standing = Standing(steps.get(row[0], []))
        found.append({**_instrument(tuple(row)), "in_force_on": standing.in_force_on,
                      **standing.counts(on)})
    return found


def instrument(reader: Reader, code: str, on: str, position: int, suffix: str = ""
               ) -> dict[str, Any] | None:
    """One instrument as the record stood at `position`, with every consent and its
    standing on `on`; None if it was not on record then."""
    row = reader.execute(f"SELECT {_COLUMNS} FROM instruments{suffix} "
                         f"WHERE code=? AND {_ON_RECORD}", (code, position, position)).fetchone()
    if row is None:
        return None
    steps = _steps(reader, code, position, suffix).get(code, [])
    return {**_instrument(tuple(row)), **Standing(steps).on(on)}


def consents_of(reader: Reader, state: str, on: str, suffix: str = ""
                ) -> list[dict[str, Any]]:
    """Every consent of `state` on record now, with the instrument and the standing on
    `on`, in date order."""
    titles = dict(reader.execute(
        f"SELECT code, title FROM instruments{suffix} WHERE retracted_at IS NULL AND code IN "
        f"(SELECT instrument FROM instrument_steps{suffix} WHERE state=?)", (state,)))
    steps: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    # The state's own steps, and the general entries into force (few) they depend on.
    for row in reader.execute(
            f"SELECT instrument, state, step, effective_date, notified_on "
            f"FROM instrument_steps{suffix} WHERE (state=? OR state IS NULL) "
            "AND retracted_at IS NULL ORDER BY effective_date, slot", (state,)):
        if row[0] in titles:
            steps[row[0]].append(tuple(row[1:]))
    found: list[dict[str, Any]] = []
    for code, title in titles.items():
        standing = Standing(steps[code])
        found += [{"instrument": code, "title": title, **standing.view(consent, on)}
                  for consent in standing.consents]
    return sorted(found, key=lambda item: (item["signed_on"] or item["consented_on"],
                                           item["instrument"]))


def count_instruments(reader: Reader, suffix: str = "") -> int:
    """How many instruments are on record (not retracted)."""
    return int(reader.execute(
        f"SELECT COUNT(*) FROM instruments{suffix} WHERE retracted_at IS NULL").fetchone()[0])
