"""Membership: who was in which network, in what role, on any date, as of any position.

Each join and leave is a change point (effective date, position, role or none) of a
(network, state). The intervals between change points, in effective-date order, are the
rows of `membership`: valid from/to (effective dates) and recorded from/to (positions). When
a new change point, or a retraction, changes a pair's intervals, the rows that no longer
hold are closed at that position and the new ones opened there. So "members on D as of P"
is one indexed query, and any earlier P still sees the record as it stood then.

Suspensions and lifts are change points of their own (`membership_suspension_changes`).
With the pair's joins and leaves they make the spans in which a member is suspended
(`domain.network.suspended_spans`: leaving ends a suspension), kept bitemporally in
`membership_suspensions` as intervals are. Suspensions are rare: a pair's spans are
recomputed whenever a change point of a pair that has any suspension comes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

from concord.domain.catalogue import CATALOGUE
from concord.domain.envelope import Envelope
from concord.domain.network import SUSPENDED, suspended_spans
from concord.projections.db import Cursor, Reader, is_postgres
from concord.projections.projection import BulkLoader, Loader, Projection, handles, slot_in

Interval = tuple[str, str, str | None]  # role, valid_from, valid_to
# The open end of a box. R*Tree coordinates are 32-bit floats, rounded outwards, so a box
# may be found for a point just outside it: every query checks the exact columns too.
OPEN = 3.0e38
# PostgreSQL's boxes are 64-bit floats, exact for integers below 2^53: positions, and
# network id * SPAN + day (day numbers stay below SPAN until the year 10,000).
SPAN = 4_000_000
OPEN_POSITION = 2**53


def _day(iso_date: str) -> int:
    return date.fromisoformat(iso_date).toordinal()


@dataclass(frozen=True)
class Member:
    """A state in a network on a date: its role, and since when it has held it."""

    state: str
    role: str
    since: str
    suspended: bool = False


class Membership(Projection):
    """The bitemporal membership of every network."""

    name = "membership"
    # 2: intervals indexed in an R*Tree. 3 kept the rows' columns in the R*Tree too, which
    # measured 2-3x slower than looking the rows up (auxiliary columns are read through the
    # virtual table); 4 is 2 again.
    # 5: ids from RETURNING, a layout PostgreSQL shares; 6: changes ordered by their slot
    # (a correction takes the place of the entry it corrects); 7: suspensions; 8: a
    # correction of a correction takes the place of the entry first corrected
    version = 8

    def create_tables(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership_changes{s} (position INTEGER PRIMARY KEY, "
            "network TEXT NOT NULL, state TEXT NOT NULL, effective_date TEXT NOT NULL, "
            "role TEXT, slot INTEGER NOT NULL)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership_networks{s} (id INTEGER PRIMARY KEY, "
            "network TEXT NOT NULL UNIQUE, founded_at INTEGER NOT NULL, founded_by INTEGER)")
        # founded_by: the correction whose founding fact stands, if the founding was
        # corrected (retracting it withdraws the network, as retracting the founding does).
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership{s} (id INTEGER PRIMARY KEY, "
            "network TEXT NOT NULL, state TEXT NOT NULL, role TEXT NOT NULL, "
            "valid_from TEXT NOT NULL, valid_to TEXT, recorded_from INTEGER NOT NULL, "
            "recorded_to INTEGER)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership_suspension_changes{s} (position INTEGER "
            "PRIMARY KEY, network TEXT NOT NULL, state TEXT NOT NULL, effective_date TEXT NOT "
            "NULL, suspended INTEGER NOT NULL, slot INTEGER NOT NULL)")
        # Leaves given with notice (their change point is in membership_changes at the same
        # position until a revocation takes it out: revoked_by).
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership_notices{s} (position INTEGER PRIMARY KEY, "
            "network TEXT NOT NULL, state TEXT NOT NULL, effective_date TEXT NOT NULL, "
            "notified_on TEXT NOT NULL, slot INTEGER NOT NULL, revoked_by INTEGER)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership_revocations{s} (position INTEGER PRIMARY "
            "KEY, network TEXT NOT NULL, state TEXT NOT NULL, effective_date TEXT NOT NULL, "
            "slot INTEGER NOT NULL)")
        # A span is named by its pair, its start and the position that recorded it.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS membership_suspensions{s} (network TEXT NOT NULL, "
            "state TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT, recorded_from "
            "INTEGER NOT NULL, recorded_to INTEGER, "
            "PRIMARY KEY (network, state, valid_from, recorded_from))")
        # Each interval as a box (network, valid days, recorded positions) in a spatial
        # index: "on D as of P" is the boxes that contain the point, found without a scan.
        # SQLite: an R*Tree. PostgreSQL: a GiST index of 2-D boxes, the network folded into
        # the first axis (network id * SPAN + day), as it has no third axis without an
        # extension.
        if is_postgres(cursor):
            cursor.execute(f"CREATE TABLE IF NOT EXISTS membership_boxes{s} "
                           "(id BIGINT PRIMARY KEY, area BOX NOT NULL)")
        else:
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS membership_boxes{s} USING rtree(id, "
                "network_lo, network_hi, valid_lo, valid_hi, recorded_lo, recorded_hi)")

    def create_indexes(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_changes_pair{s} "
            f"ON membership_changes{s} (network, state, effective_date)")
        if is_postgres(cursor):
            cursor.execute(f"CREATE INDEX IF NOT EXISTS membership_boxes_area{s} "
                           f"ON membership_boxes{s} USING gist (area)")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_current{s} "
            f"ON membership{s} (network, state) WHERE recorded_to IS NULL")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_of_state{s} "
            f"ON membership{s} (state) WHERE recorded_to IS NULL")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_notices_pair{s} "
            f"ON membership_notices{s} (network, state)")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_suspension_changes_pair{s} "
            f"ON membership_suspension_changes{s} (network, state)")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS membership_suspensions_of_state{s} "
            f"ON membership_suspensions{s} (state) WHERE recorded_to IS NULL")

    def loader(self) -> Loader:
        return _Loader(self)

    def drop_tables(self, cursor: Cursor) -> None:
        # In the order reads join them (a query locks its tables in the order it names
        # them): a late reader of a copy being dropped waits, and cannot deadlock with it.
        for table in ("membership_boxes", "membership", "membership_changes",
                      "membership_networks", "membership_suspensions",
                      "membership_suspension_changes", "membership_notices",
                      "membership_revocations"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    @handles("NetworkEstablished")
    def _established(self, cursor: Cursor, e: Envelope) -> None:
        cursor.execute(f"INSERT INTO membership_networks{self.suffix} "
                       "(network, founded_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                       (e["data"]["network"], e["position"]))

    @handles("StateJoinedNetwork", "StateLeftNetwork")
    def _changed(self, cursor: Cursor, e: Envelope) -> None:
        s, data, at, day = self.suffix, e["data"], e["position"], e["effective_date"]
        network, state = data["network"], data["state"]
        role = data.get("role") if e["type"] == "StateJoinedNetwork" else None
        latest = cursor.execute(
            f"SELECT MAX(effective_date) FROM membership_changes{s} WHERE network=? AND state=?",
            (network, state)).fetchone()[0]
        cursor.execute(f"INSERT INTO membership_changes{s} VALUES (?, ?, ?, ?, ?, ?)",
                       (at, network, state, day, role, at))
        if data.get("notified_on") and role is None:
            cursor.execute(f"INSERT INTO membership_notices{s} VALUES (?, ?, ?, ?, ?, ?, NULL)",
                           (at, network, state, day, data["notified_on"], at))
            # A revocation of its date may take it (dates decide, not the order recorded).
            self._reassign(cursor, network, state)
            self._recompute(cursor, network, state, at)
            self._recompute_suspensions(cursor, network, state, at)
            return
        self._changed_roles(cursor, network, state, role, day, at, latest)
        self._recompute_suspensions(cursor, network, state, at)

    def _changed_roles(self, cursor: Cursor, network: str, state: str, role: str | None,
                       day: str, at: int, latest: str | None) -> None:
        s = self.suffix
        if latest is not None and day < latest:
            # Back-dated: the intervals after it change too.
            self._recompute(cursor, network, state, at)
            return
        # In effective-date order (the usual case): only the open interval can change, so
        # the pair's whole history need not be read again.
        current = cursor.execute(
            f"SELECT id, role, valid_from FROM membership{s} WHERE network=? AND state=? "
            "AND recorded_to IS NULL AND valid_to IS NULL", (network, state)).fetchone()
        if (current[1] if current else None) == role:
            return
        if current is not None:
            self._close(cursor, current[0], at)
            if current[2] < day:
                self._open(cursor, network, state, (current[1], current[2], day), at)
        if role is not None:
            self._open(cursor, network, state, (role, day, None), at)

    def _change_at(self, cursor: Cursor, position: int) -> tuple[str, str] | None:
        """The pair of the join or leave recorded at `position`, if it is one (a leave that
        a revocation took out of the change points included)."""
        s = self.suffix
        found = cursor.execute(
            f"SELECT network, state FROM membership_changes{s} WHERE position=? UNION "
            f"SELECT network, state FROM membership_notices{s} WHERE position=?",
            (position, position)).fetchone()
        return None if found is None else (str(found[0]), str(found[1]))

    @handles("WithdrawalRevoked")
    def _revoked(self, cursor: Cursor, e: Envelope) -> None:
        data, at = e["data"], e["position"]
        cursor.execute(f"INSERT INTO membership_revocations{self.suffix} "
                       "VALUES (?, ?, ?, ?, ?)",
                       (at, data["network"], data["state"], e["effective_date"], at))
        self._reassign(cursor, data["network"], data["state"])
        self._recompute(cursor, data["network"], data["state"], at)
        self._recompute_suspensions(cursor, data["network"], data["state"], at)

    def _reassign(self, cursor: Cursor, network: str, state: str) -> None:
        """Give each of the pair's revocations, in date order, the withdrawal pending on its
        date (as `domain.network` does: notice given on or before it, effect after it; of
        several, the first to take effect), and take those out of the change points. Again
        from the start whenever one of them changes: a retraction, or a withdrawal recorded
        late, can make a revocation revoke another. The caller recomputes the intervals."""
        s = self.suffix
        notices = cursor.execute(
            f"SELECT position, effective_date, slot, revoked_by FROM membership_notices{s} "
            "WHERE network=? AND state=?", (network, state)).fetchall()
        if not notices:
            return
        cursor.executemany(
            f"INSERT INTO membership_changes{s} VALUES (?, ?, ?, ?, NULL, ?)",
            [(position, network, state, day, order)
             for position, day, order, revoked in notices if revoked is not None])
        cursor.execute(f"UPDATE membership_notices{s} SET revoked_by=NULL "
                       "WHERE network=? AND state=?", (network, state))
        for revocation, day in cursor.execute(
                f"SELECT position, effective_date FROM membership_revocations{s} "
                "WHERE network=? AND state=? ORDER BY effective_date, slot",
                (network, state)).fetchall():
            pending = cursor.execute(
                f"SELECT n.position FROM membership_notices{s} n JOIN membership_changes{s} c "
                "ON c.position=n.position WHERE n.network=? AND n.state=? "
                "AND n.revoked_by IS NULL AND n.notified_on<=? AND n.effective_date>? "
                "ORDER BY n.effective_date, n.slot LIMIT 1",
                (network, state, day, day)).fetchone()
            if pending is not None:
                cursor.execute(f"UPDATE membership_notices{s} SET revoked_by=? "
                               "WHERE position=?", (revocation, pending[0]))
                cursor.execute(f"DELETE FROM membership_changes{s} WHERE position=?", pending)

    def _suspension_change_of(self, cursor: Cursor, position: int) -> tuple[str, str] | None:
        """Take out the suspension or lift recorded at `position` (retracted or corrected);
        its pair, if it was one."""
        s = self.suffix
        found = cursor.execute(f"SELECT network, state FROM membership_suspension_changes{s} "
                               "WHERE position=?", (position,)).fetchone()
        if found is None:
            return None
        cursor.execute(f"DELETE FROM membership_suspension_changes{s} WHERE position=?",
                       (position,))
        return str(found[0]), str(found[1])

    def _revocation_of(self, cursor: Cursor, position: int) -> tuple[str, str] | None:
        """Take out the revocation recorded at `position` (retracted or corrected); its
        pair, if it was one."""
        s = self.suffix
        found = cursor.execute(f"SELECT network, state FROM membership_revocations{s} "
                               "WHERE position=?", (position,)).fetchone()
        if found is None:
            return None
        cursor.execute(f"DELETE FROM membership_revocations{s} WHERE position=?", (position,))
        return str(found[0]), str(found[1])

    @handles("MembershipSuspended", "SuspensionLifted")
    def _suspension(self, cursor: Cursor, e: Envelope) -> None:
        data = e["data"]
        cursor.execute(
            f"INSERT INTO membership_suspension_changes{self.suffix} VALUES (?, ?, ?, ?, ?, ?)",
            (e["position"], data["network"], data["state"], e["effective_date"],
             int(e["type"] == "MembershipSuspended"), e["position"]))
        self._recompute_suspensions(cursor, data["network"], data["state"], e["position"])

    @handles("EntryCorrected")
    def _corrected(self, cursor: Cursor, e: Envelope) -> None:
        # The corrected change point out, the replacement's in, and each pair they concern
        # recomputed once at the correction's position. (A corrected founding leaves the
        # network on record, and its members with it.)
        s, target, at = self.suffix, e["data"]["position"], e["position"]
        replacement = e["data"]["replacement"]
        pairs, suspended = set(), set()
        # The replacement takes the corrected fact's place among same-day changes.
        place = slot_in(cursor, (f"membership_changes{s}", f"membership_notices{s}",
                                 f"membership_revocations{s}",
                                 f"membership_suspension_changes{s}"), target)
        old = self._change_at(cursor, target)
        if old is not None:
            cursor.execute(f"DELETE FROM membership_changes{s} WHERE position=?", (target,))
            cursor.execute(f"DELETE FROM membership_notices{s} WHERE position=?", (target,))
            pairs.add((old[0], old[1]))
        revocation = self._revocation_of(cursor, target)
        if revocation is not None:
            pairs.add(revocation)
        taken = self._suspension_change_of(cursor, target)
        if taken is not None:
            suspended.add(taken)
        data = replacement["data"]
        if replacement["type"] in ("StateJoinedNetwork", "StateLeftNetwork"):
            role = data.get("role") if replacement["type"] == "StateJoinedNetwork" else None
            cursor.execute(f"INSERT INTO membership_changes{s} VALUES (?, ?, ?, ?, ?, ?)",
                           (at, data["network"], data["state"], e["effective_date"], role,
                            place))
            if data.get("notified_on") and role is None:
                cursor.execute(
                    f"INSERT INTO membership_notices{s} VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (at, data["network"], data["state"], e["effective_date"],
                     data["notified_on"], place))
            pairs.add((data["network"], data["state"]))
        elif replacement["type"] == "NetworkEstablished":
            cursor.execute(f"UPDATE membership_networks{s} SET founded_by=? WHERE network=?",
                           (at, data["network"]))
        elif replacement["type"] == "WithdrawalRevoked":
            cursor.execute(f"INSERT INTO membership_revocations{s} VALUES (?, ?, ?, ?, ?)",
                           (at, data["network"], data["state"], e["effective_date"], place))
            pairs.add((data["network"], data["state"]))
        elif replacement["type"] in ("MembershipSuspended", "SuspensionLifted"):
            cursor.execute(
                f"INSERT INTO membership_suspension_changes{s} VALUES (?, ?, ?, ?, ?, ?)",
                (at, data["network"], data["state"], e["effective_date"],
                 int(replacement["type"] == "MembershipSuspended"), place))
            suspended.add((data["network"], data["state"]))
        for network, state in sorted(pairs):
            self._reassign(cursor, network, state)
            self._recompute(cursor, network, state, at)
        for network, state in sorted(pairs | suspended):
            self._recompute_suspensions(cursor, network, state, at)

    @handles("EntryRetracted")
    def _retracted(self, cursor: Cursor, e: Envelope) -> None:
        s, retracted, at = self.suffix, e["data"]["position"], e["position"]
        change = self._change_at(cursor, retracted)
        if change is not None:
            cursor.execute(f"DELETE FROM membership_changes{s} WHERE position=?", (retracted,))
            cursor.execute(f"DELETE FROM membership_notices{s} WHERE position=?", (retracted,))
            self._reassign(cursor, change[0], change[1])
            self._recompute(cursor, change[0], change[1], at)
            self._recompute_suspensions(cursor, change[0], change[1], at)
            return
        pair = self._revocation_of(cursor, retracted)
        if pair is not None:
            self._reassign(cursor, *pair)
            self._recompute(cursor, *pair, at)
            self._recompute_suspensions(cursor, *pair, at)
            return
        pair = self._suspension_change_of(cursor, retracted)
        if pair is not None:
            self._recompute_suspensions(cursor, *pair, at)
            return
        founded = cursor.execute(
            f"SELECT network FROM membership_networks{s} WHERE founded_at=? OR founded_by=?",
            (retracted, retracted)).fetchone()
        if founded is not None:
            # The network itself is retracted: nobody was ever in it, from here on.
            cursor.execute(f"DELETE FROM membership_changes{s} WHERE network=?", founded)
            cursor.execute(f"DELETE FROM membership_suspension_changes{s} WHERE network=?",
                           founded)
            cursor.execute(f"DELETE FROM membership_notices{s} WHERE network=?", founded)
            cursor.execute(f"DELETE FROM membership_revocations{s} WHERE network=?", founded)
            for (rowid,) in cursor.execute(
                    f"SELECT id FROM membership{s} WHERE network=? AND recorded_to IS NULL",
                    founded).fetchall():
                self._close(cursor, rowid, at)
            cursor.execute(f"UPDATE membership_suspensions{s} SET recorded_to=? "
                           "WHERE network=? AND recorded_to IS NULL", (at, founded[0]))

    def _recompute_suspensions(self, cursor: Cursor, network: str, state: str,
                               at: int) -> None:
        """Bring the pair's spans of suspension up to its change points, at position `at`:
        nothing to do for a pair never suspended (the usual case: one indexed look-up)."""
        s = self.suffix
        changes = cursor.execute(
            f"SELECT effective_date, slot, suspended FROM membership_suspension_changes{s} "
            "WHERE network=? AND state=?", (network, state)).fetchall()
        current = cursor.execute(
            f"SELECT valid_from, valid_to, recorded_from FROM membership_suspensions{s} "
            "WHERE network=? AND state=? AND recorded_to IS NULL", (network, state)).fetchall()
        if not changes and not current:
            return
        roles = cursor.execute(
            f"SELECT effective_date, slot, role FROM membership_changes{s} "
            "WHERE network=? AND state=?", (network, state)).fetchall()
        points = sorted([(day, slot, role, False) for day, slot, role in roles]
                        + [(day, slot, SUSPENDED if on else None, True)
                           for day, slot, on in changes])
        wanted = set(suspended_spans([(day, value, is_suspension)
                                      for day, _, value, is_suspension in points]))
        held = {(start, end): opened for start, end, opened in current}
        cursor.executemany(
            f"UPDATE membership_suspensions{s} SET recorded_to=? WHERE network=? AND state=? "
            "AND valid_from=? AND recorded_from=?",
            [(at, network, state, start, opened) for (start, end), opened in held.items()
             if (start, end) not in wanted])
        cursor.executemany(
            f"INSERT INTO membership_suspensions{s} VALUES (?, ?, ?, ?, ?, NULL)",
            [(network, state, start, end, at) for start, end in sorted(wanted - set(held),
                                                                       key=str)])

    def _recompute(self, cursor: Cursor, network: str, state: str, at: int) -> None:
        s = self.suffix
        points = cursor.execute(
            f"SELECT effective_date, role FROM membership_changes{s} "
            "WHERE network=? AND state=? ORDER BY effective_date, slot",
            (network, state)).fetchall()
        wanted = set(intervals(points))
        current = cursor.execute(
            f"SELECT id, role, valid_from, valid_to FROM membership{s} "
            "WHERE network=? AND state=? AND recorded_to IS NULL", (network, state)).fetchall()
        held = {(role, start, end): rowid for rowid, role, start, end in current}
        for interval, rowid in held.items():
            if interval not in wanted:
                self._close(cursor, rowid, at)
        for interval in sorted(wanted - set(held), key=str):
            self._open(cursor, network, state, interval, at)

    def _open(self, cursor: Cursor, network: str, state: str, interval: Interval,
              at: int) -> None:
        """Record an interval as holding from position `at` on."""
        s = self.suffix
        role, start, end = interval
        rowid = cursor.execute(
            f"INSERT INTO membership{s} (network, state, role, valid_from, valid_to, "
            "recorded_from) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (network, state, role, start, end, at)).fetchone()[0]
        first, last = _day(start), _day(end) - 1 if end else None
        if is_postgres(cursor):
            cursor.execute(
                f"INSERT INTO membership_boxes{s} SELECT ?, box(point(id * {SPAN} + ?, ?), "
                f"point(id * {SPAN} + ?, ?)) FROM membership_networks{s} WHERE network=?",
                (rowid, first, at, SPAN - 1 if last is None else last, OPEN_POSITION,
                 network))
        else:
            cursor.execute(
                f"INSERT INTO membership_boxes{s} SELECT ?, id, id, ?, ?, ?, ? "
                f"FROM membership_networks{s} WHERE network=?",
                (rowid, first, OPEN if last is None else last, at, OPEN, network))

    def _close(self, cursor: Cursor, rowid: int, at: int) -> None:
        """Record that an interval no longer holds from position `at` on."""
        self._close_all(cursor, [(at, rowid)])

    def _close_all(self, cursor: Cursor, closes: list[tuple[int, int]]) -> None:
        """`_close` of each (position, interval id)."""
        cursor.executemany(f"UPDATE membership{self.suffix} SET recorded_to=? WHERE id=?",
                           closes)
        if is_postgres(cursor):
            cursor.executemany(
                f"UPDATE membership_boxes{self.suffix} SET area=box(point((area[1])[0], "
                "(area[1])[1]), point((area[0])[0], ?)) WHERE id=?",
                [(at - 1, rowid) for at, rowid in closes])
        else:
            cursor.executemany(
                f"UPDATE membership_boxes{self.suffix} SET recorded_hi=? WHERE id=?",
                [(at - 1, rowid) for at, rowid in closes])


def box(postgres: bool, network_id: int, rowid: int, start: str, end: str | None,
        opened: int, closed: int | None) -> tuple[float, ...]:
    """The spatial index's row of an interval of a network (by its id), valid from `start`
    to `end`, recorded from position `opened` until `closed` (as `_open` and `_close`
    write it): SQLite's R*Tree columns, or PostgreSQL's two corners."""
    first, last = _day(start), _day(end) - 1 if end else None
    if postgres:
        return (rowid, network_id * SPAN + first, opened,
                network_id * SPAN + (SPAN - 1 if last is None else last),
                OPEN_POSITION if closed is None else closed - 1)
    return (rowid, network_id, network_id, first, OPEN if last is None else last, opened,
            OPEN if closed is None else closed - 1)


class _Loader(BulkLoader):
    """Membership's rebuild: each pair's latest date and open interval kept in memory, the
    changes and intervals of a page written in bulk; a back-dated change, a retraction or a
    correction goes to the handlers, and the pairs it touched are read back after it."""

    projection: Membership

    def __init__(self, projection: Membership) -> None:
        super().__init__(projection)
        self.networks: dict[str, int] = {}  # network -> its id in membership_networks
        self.new_networks: list[tuple[int, str, int]] = []
        # (network, state) -> [latest effective date, open interval's id, role, start]
        self.pairs: dict[tuple[str, str], list[Any]] = {}
        self.stale: set[tuple[str, str]] = set()  # pairs a handler changed: read them back
        # Pairs with suspensions on record: their changes go to the handlers, which keep the
        # spans of suspension with the intervals.
        self.suspended: set[tuple[str, str]] = set()
        self.changes: list[tuple[Any, ...]] = []
        # id -> the row of an interval not yet written: closed ones go out with the page,
        # open ones (one a pair at most) wait until they close, so that no row written is
        # ever updated, unless a handler runs (then everything is written before it).
        self.opened: dict[int, list[Any]] = {}
        self.closed: list[tuple[int, int]] = []  # (position, id) of intervals written before
        self.next_id = 1

    def buffer(self, cursor: Cursor, e: Envelope) -> bool:
        type_ = e["type"]
        if type_ == "NetworkEstablished":
            network = e["data"]["network"]
            if network not in self.networks:
                self.networks[network] = len(self.networks) + 1
                self.new_networks.append((self.networks[network], network, e["position"]))
            return True
        if type_ not in ("StateJoinedNetwork", "StateLeftNetwork"):
            return False
        data, at, day = e["data"], e["position"], e["effective_date"]
        key = (data["network"], data["state"])
        if key in self.suspended or "notified_on" in data:
            return False  # the handlers keep suspensions and notices
        pair = self.pairs.get(key)
        if pair is None:
            pair = self.pairs[key] = self._read_back(cursor, key)
        if pair[0] is not None and day < pair[0]:
            return False  # back-dated: the intervals after it change too
        role = data.get("role") if type_ == "StateJoinedNetwork" else None
        self.changes.append((at, key[0], key[1], day, role, at))
        pair[0] = day
        if pair[2] == role:
            return True
        if pair[1] is not None:
            self._close(pair[1], at)
            if pair[3] < day:
                self._open(key, pair[2], pair[3], day, at)
        pair[1:] = [self._open(key, role, day, None, at), role, day] if role is not None \
            else [None, None, None]
        return True

    def _read_back(self, cursor: Cursor, key: tuple[str, str]) -> list[Any]:
        if key not in self.stale:
            return [None, None, None, None]  # the tables were empty, and nothing came since
        self.stale.discard(key)
        s = self.projection.suffix
        latest = cursor.execute(f"SELECT MAX(effective_date) FROM membership_changes{s} "
                                "WHERE network=? AND state=?", key).fetchone()[0]
        current = cursor.execute(
            f"SELECT id, role, valid_from FROM membership{s} WHERE network=? AND state=? "
            "AND recorded_to IS NULL AND valid_to IS NULL", key).fetchone()
        return [latest, *(tuple(current) if current is not None else (None, None, None))]

    def _open(self, key: tuple[str, str], role: str, start: str, end: str | None,
              at: int) -> int:
        rowid, self.next_id = self.next_id, self.next_id + 1
        self.opened[rowid] = [rowid, key[0], key[1], role, start, end, at, None]
        return rowid

    def _close(self, rowid: int, at: int) -> None:
        row = self.opened.get(rowid)
        if row is not None:
            row[7] = at
        else:
            self.closed.append((at, rowid))

    def flush(self, cursor: Cursor, *, everything: bool = False) -> None:
        """Write the page's rows; the open intervals too if `everything`."""
        s, projection = self.projection.suffix, self.projection
        cursor.executemany(f"INSERT INTO membership_networks{s} (id, network, founded_at) "
                           "VALUES (?, ?, ?)", self.new_networks)
        cursor.executemany(f"INSERT INTO membership_changes{s} VALUES (?, ?, ?, ?, ?, ?)",
                           self.changes)
        if everything:
            rows, self.opened = list(self.opened.values()), {}
        else:
            rows = [row for row in self.opened.values() if row[7] is not None]
            self.opened = {rowid: row for rowid, row in self.opened.items() if row[7] is None}
        cursor.executemany(
            f"INSERT INTO membership{s} (id, network, state, role, valid_from, valid_to, "
            "recorded_from, recorded_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        networks, postgres = self.networks, is_postgres(cursor)
        cursor.executemany(
            f"INSERT INTO membership_boxes{s} VALUES (?, box(point(?, ?), point(?, ?)))"
            if postgres else f"INSERT INTO membership_boxes{s} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [box(postgres, networks[network], rowid, start, end, opened, closed)
             for rowid, network, _, _, start, end, opened, closed in rows
             if network in networks])
        if self.closed:
            projection._close_all(cursor, self.closed)
        if is_postgres(cursor) and (rows or self.new_networks):
            # Ids given here, not drawn: the identities go on from them.
            for table, last in ((f"membership{s}", self.next_id - 1),
                                (f"membership_networks{s}", len(networks))):
                if last > 0:
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"{last})")
        self.new_networks, self.changes, self.closed = [], [], []

    def finish(self, cursor: Cursor) -> None:
        self.flush(cursor, everything=True)
        super().finish(cursor)

    def handle(self, cursor: Cursor, e: Envelope) -> None:
        s = self.projection.suffix
        self.flush(cursor, everything=True)  # the handler reads the pair's intervals
        touched: set[tuple[str, str]] = set()
        if e["type"] in ("EntryRetracted", "EntryCorrected"):
            target = e["data"]["position"]
            change = cursor.execute(f"SELECT network, state FROM membership_changes{s} "
                                    "WHERE position=?", (target,)).fetchone()
            if change is not None:
                touched.add((change[0], change[1]))
            elif e["type"] == "EntryRetracted":
                founded = cursor.execute(f"SELECT network FROM membership_networks{s} "
                                         "WHERE founded_at=? OR founded_by=?",
                                         (target, target)).fetchone()
                if founded is not None:
                    touched.update(key for key in self.pairs if key[0] == founded[0])
            # A revocation undone puts its withdrawal back; a revoked withdrawal undone
            # gives its revocation another.
            touched.update((network, state) for network, state in cursor.execute(
                f"SELECT network, state FROM membership_revocations{s} WHERE position=? UNION "
                f"SELECT network, state FROM membership_notices{s} WHERE position=?",
                (target, target)))
            if e["type"] == "EntryCorrected":
                replacement = e["data"]["replacement"]
                key = (replacement["data"].get("network"), replacement["data"].get("state"))
                if replacement["type"] in ("StateJoinedNetwork", "StateLeftNetwork",
                                           "WithdrawalRevoked"):
                    touched.add(key)
                elif replacement["type"] in ("MembershipSuspended", "SuspensionLifted"):
                    self.suspended.add(key)
        else:
            touched.add((e["data"]["network"], e["data"]["state"]))
            if e["type"] in ("MembershipSuspended", "SuspensionLifted"):
                self.suspended.add((e["data"]["network"], e["data"]["state"]))
        super().handle(cursor, e)
        for key in touched:
            self.pairs.pop(key, None)
            self.stale.add(key)
        found = cursor.execute(f"SELECT MAX(id) FROM membership{s}").fetchone()[0]
        self.next_id = max(self.next_id, int(found or 0) + 1)


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


def members(reader: Reader, network: str, on: str, as_of: int,
            role: str | None = None, suffix: str = "") -> list[Member]:
    """The members of `network` on the date `on`, as the record stood at position `as_of`."""
    network_id = reader.execute(f"SELECT id FROM membership_networks{suffix} WHERE network=?",
                                (network,)).fetchone()
    if network_id is None:
        return []
    day, exact = _day(on), (
        "m.valid_from<=? AND (m.valid_to IS NULL OR m.valid_to>?) "
        "AND m.recorded_from<=? AND (m.recorded_to IS NULL OR m.recorded_to>?)")
    params: list[object]
    if is_postgres(reader):
        query = (f"SELECT m.state, m.role, m.valid_from FROM membership_boxes{suffix} b "
                 f"JOIN membership{suffix} m ON m.id=b.id WHERE b.area @> point(?, ?) "
                 f"AND {exact}")
        params = [network_id[0] * SPAN + day, as_of, on, on, as_of, as_of]
    else:
        query = (f"SELECT m.state, m.role, m.valid_from FROM membership_boxes{suffix} b "
                 f"JOIN membership{suffix} m ON m.id=b.id WHERE b.network_lo<=? "
                 "AND b.network_hi>=? AND b.valid_lo<=? AND b.valid_hi>=? "
                 f"AND b.recorded_lo<=? AND b.recorded_hi>=? AND {exact}")
        params = [network_id[0], network_id[0], day, day, as_of, as_of, on, on, as_of, as_of]
    if role is not None:
        query += " AND m.role=?"
        params.append(role)
    rows = reader.execute(query + " ORDER BY m.state", params).fetchall()
    held = suspended(reader, network, on, as_of, suffix)
    return [Member(state, member_role, since, state in held)
            for state, member_role, since in rows]


def suspended(reader: Reader, network: str, on: str, as_of: int, suffix: str = ""
              ) -> set[str]:
    """The states suspended from `network` on the date `on`, as the record stood at
    position `as_of` (few: a scan of the network's spans)."""
    return {state for (state,) in reader.execute(
        f"SELECT state FROM membership_suspensions{suffix} WHERE network=? AND valid_from<=? "
        "AND (valid_to IS NULL OR valid_to>?) AND recorded_from<=? "
        "AND (recorded_to IS NULL OR recorded_to>?)", (network, on, on, as_of, as_of))}


def pending_withdrawals(reader: Reader, state: str, today: str, suffix: str = ""
                        ) -> list[dict[str, Any]]:
    """The withdrawals of `state` given with notice and taking effect after `today`, not
    revoked, as the record stands now."""
    return [{"network": network, "notified_on": notified, "effective_date": day,
             "position": position}
            for network, notified, day, position in reader.execute(
                f"SELECT n.network, n.notified_on, n.effective_date, n.position "
                f"FROM membership_notices{suffix} n JOIN membership_changes{suffix} c "
                "ON c.position=n.position WHERE n.state=? AND n.revoked_by IS NULL "
                "AND n.effective_date>? ORDER BY n.effective_date, n.network", (state, today))]


def suspensions(reader: Reader, state: str, suffix: str = "") -> list[dict[str, str | None]]:
    """Every span in which `state` was suspended from a network, as the record stands now,
    in date order."""
    rows = reader.execute(
        f"SELECT network, valid_from, valid_to FROM membership_suspensions{suffix} "
        "WHERE state=? AND recorded_to IS NULL ORDER BY valid_from, network",
        (state,)).fetchall()
    return [{"network": network, "valid_from": start, "valid_to": end}
            for network, start, end in rows]


def memberships(reader: Reader, state: str, suffix: str = ""
                ) -> list[dict[str, str | None]]:
    """Every interval of `state` in any network, as the record stands now, in date order."""
    rows = reader.execute(
        f"SELECT network, role, valid_from, valid_to FROM membership{suffix} "
        "WHERE state=? AND recorded_to IS NULL ORDER BY valid_from, network",
        (state,)).fetchall()
    return [{"network": network, "role": role, "valid_from": start, "valid_to": end}
            for network, role, start, end in rows]


def roles() -> tuple[str, ...]:
    """The roles a state can hold in a network, as the catalogue has them."""
    annotation = CATALOGUE["StateJoinedNetwork"].model_fields["role"].annotation
    return tuple(str(role) for role in get_args(annotation))


def network_intervals(reader: Reader, network: str, as_of: int, suffix: str = ""
                      ) -> list[dict[str, str | None]]:
    """Every state's intervals in `network`, as the record stood at position `as_of`,
    ordered by state then start."""
    rows = reader.execute(
        f"SELECT state, role, valid_from, valid_to FROM membership{suffix} "
        "WHERE network=? AND recorded_from<=? AND (recorded_to IS NULL OR recorded_to>?) "
        "ORDER BY state, valid_from", (network, as_of, as_of)).fetchall()
    return [{"state": state, "role": role, "valid_from": start, "valid_to": end}
            for state, role, start, end in rows]


def series(found: list[dict[str, str | None]], date_from: str | None = None,
           date_to: str | None = None) -> list[dict[str, Any]]:
    """The counts by role (and their total) from each date on which one changes, of the
    intervals `found`: a row per such date, within [date_from, date_to] when given. With
    `date_from` after the first change, the first row gives the counts standing on
    `date_from` itself, so that every date of the range has its counts."""
    known = roles()
    deltas: dict[str, dict[str, int]] = {}
    for interval in found:
        role, start, end = str(interval["role"]), str(interval["valid_from"]), \
            interval["valid_to"]
        deltas.setdefault(start, dict.fromkeys(known, 0))[role] += 1
        if end is not None:
            deltas.setdefault(end, dict.fromkeys(known, 0))[role] -= 1
    counts = dict.fromkeys(known, 0)
    rows: list[dict[str, Any]] = []
    earlier = False  # whether a change came before date_from
    for day in sorted(deltas):
        change = deltas[day]
        if not any(change.values()):
            continue
        if date_from is not None and day < date_from:
            earlier = True
        elif (earlier and not rows and date_from is not None and day != date_from
              and (date_to is None or date_from <= date_to)):
            rows.append({"date": date_from, **counts, "total": sum(counts.values())})
        for role in known:
            counts[role] += change[role]
        if (date_from is None or day >= date_from) and (date_to is None or day <= date_to):
            rows.append({"date": day, **counts, "total": sum(counts.values())})
    if earlier and not rows and date_from is not None and (date_to is None
                                                           or date_from <= date_to):
        rows.append({"date": date_from, **counts, "total": sum(counts.values())})
    return rows
