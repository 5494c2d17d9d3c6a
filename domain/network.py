"""A network of states: its founding, statutes, members and observers, and suspensions.

Each state's joins (as member or observer) and leaves are change points of its timeline in
the network (`domain.timeline`), ordered by effective date: every one must change the
state's role, wherever it falls, and none may come before the network was established.

Suspensions and their lifts are change points of a second timeline of the same state, and
obey the same rule over both together: a suspension falls where the state is a member and
not suspended already, a lift where it is suspended. A suspended state stays a member;
leaving, or becoming an observer, ends the suspension.

Each office of the network (a code: `pro-tempore-presidency`) has a timeline of terms: a
member assumes it, until its `term_ends_on` or until it relinquishes it. One holder at a
time, wherever an entry falls: a state assumes an office only once the term before has
ended, and only if it is a member on that day (leaving later does not end its term: the
relinquishment is recorded); only the holder relinquishes it, during its term.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, NamedTuple

from concord.domain import catalogue as c
from concord.domain.errors import Contradiction
from concord.domain.stream import Entry, Stream
from concord.domain.timeline import (
    EMPTY,
    Change,
    Timeline,
    added,
    differences,
    timeline_problems,
)


class Network(Stream):
    """A network of states such as RELACOPAZ."""

    prefix = "network"
    kind = "network"

    class Event(Stream.Event):
        pass

    class NetworkEstablished(Event, Stream.Created):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.exists = True
            aggregate.name = self.data["name"]
            aggregate.established_on = self.effective_date
            aggregate.established_version = self.originator_version
            aggregate.touched.add(Stream.WHOLE)  # every state's first join depends on it

    class StatuteApproved(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.statutes = [*aggregate.statutes, self.data["title"]]

    class StateJoinedNetwork(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.change(self.data["state"], Change(
                self.effective_date, self.order, self.data["role"], self.originator_version))

    class StateLeftNetwork(Event):
        def apply_fact(self, aggregate: Any) -> None:
            state = self.data["state"]
            if self.data.get("notified_on"):
                aggregate.notices = {**aggregate.notices,
                                     (state, self.originator_version): self.data["notified_on"]}
            aggregate.change(state, Change(
                self.effective_date, self.order, None, self.originator_version))

    class WithdrawalRevoked(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.revoke(self.data["state"], Change(
                self.effective_date, self.order, None, self.originator_version))

    class OfficeAssumed(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.office_point(self.data["office"], OfficePoint(
                self.effective_date, self.order, self.data["state"],
                self.data.get("term_ends_on"), True, self.originator_version))

    class OfficeRelinquished(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.office_point(self.data["office"], OfficePoint(
                self.effective_date, self.order, self.data["state"], None, False,
                self.originator_version))

    class MembershipSuspended(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.suspend_point(self.data["state"], Change(
                self.effective_date, self.order, SUSPENDED, self.originator_version))

    class SuspensionLifted(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.suspend_point(self.data["state"], Change(
                self.effective_date, self.order, None, self.originator_version))

    def _reset(self) -> None:
        self.name = ""
        self.established_on = ""
        self.established_version = 0
        self.statutes: list[str] = []
        self.pairs: dict[str, Timeline] = {}
        self.suspensions: dict[str, Timeline] = {}
        self.offices: dict[str, tuple[OfficePoint, ...]] = {}
        # Leaves given with notice: (state, entry) -> the date notice was given. For a state
        # with revocations (`revocations`, in date order), `recorded` keeps every change
        # point and `pairs` those not revoked; a revocation that finds no withdrawal to
        # revoke is kept in `dangling`, (state, entry) -> its date.
        self.notices: dict[tuple[str, int], str] = {}
        self.recorded: dict[str, Timeline] = {}
        self.revocations: dict[str, Timeline] = {}
        self.dangling: dict[tuple[str, int], str] = {}

    def change(self, state: str, change: Change) -> None:
        """Put a change point in the state's timeline."""
        if state in self.revocations:
            self.recorded[state] = added(self.recorded[state], change)
            self._resolve(state)
        else:
            self.pairs[state] = added(self.pairs.get(state, EMPTY), change)
        self.touched.add(state)

    def revoke(self, state: str, revocation: Change) -> None:
        """Record a revocation of the state's pending withdrawal (`revocation.day`: its
        date; `order`: its place, as a change's)."""
        if state not in self.revocations:
            self.recorded[state] = self.pairs.get(state, EMPTY)
        self.revocations[state] = added(self.revocations.get(state, EMPTY), revocation)
        self._resolve(state)
        self.touched.add(state)

    def _resolve(self, state: str) -> None:
        """Give each of the state's revocations, in date order, the withdrawal pending on
        its date: notice given on or before it, effect after it (of several, the first to
        take effect). Dates alone decide, whatever order the entries were recorded in."""
        timeline, taken = self.recorded[state], set()
        dangling = {key: day for key, day in self.dangling.items() if key[0] != state}
        for revocation in self.revocations[state]:
            pending = next((change for change in timeline
                            if change.value is None
                            and change.day > revocation.day and change.entry not in taken
                            and self.notices.get((state, change.entry), "9999")
                            <= revocation.day), None)
            if pending is None:
                dangling[state, revocation.entry] = revocation.day
            else:
                taken.add(pending.entry)
        self.dangling = dangling
        self.pairs[state] = tuple(change for change in timeline if change.entry not in taken)

    def suspend_point(self, state: str, change: Change) -> None:
        """Put a suspension (value SUSPENDED) or a lift (None) in the state's timeline of
        suspensions."""
        self.suspensions[state] = added(self.suspensions.get(state, EMPTY), change)
        self.touched.add(state)

    @classmethod
    def establish(cls, p: c.NetworkEstablished, entry: Entry) -> Network:
        """Found a network under a new code."""
        return cls.start(cls.NetworkEstablished, p.network, p, entry)

    def approve_statute(self, p: c.StatuteApproved, entry: Entry) -> None:
        """Record the approval of a statute of this network."""
        self.require_exists()
        self.record(self.StatuteApproved, p, entry)

    def join(self, p: c.StateJoinedNetwork, entry: Entry) -> None:
        """A state joins as member or observer, or moves from one role to the other; the
        rules over its timeline are checked once the submission (or batch) is applied."""
        self.require_exists()
        self.record(self.StateJoinedNetwork, p, entry)

    def leave(self, p: c.StateLeftNetwork, entry: Entry) -> None:
        """A state leaves the network (checked as `join` is)."""
        self.require_exists()
        self.record(self.StateLeftNetwork, p, entry)

    def office_point(self, office: str, point: OfficePoint) -> None:
        """Put an assumption or a relinquishment in the office's timeline."""
        points = self.offices.get(office, ())
        i = bisect_right(points, (point.day, point.order), key=lambda p: (p.day, p.order))
        self.offices[office] = (*points[:i], point, *points[i:])
        self.touched.add(OFFICE_KEY + office)

    def decide(self, event_class: type[Stream.Event], p: c.Payload, entry: Entry) -> None:
        """Record a suspension or its lift, an office assumed or relinquished, or a
        withdrawal revoked; like `join`, it is checked over its whole timeline once the
        submission (or batch) is applied."""
        self.require_exists()
        self.record(event_class, p, entry)

    def effects(self, before: Stream | None) -> list[dict[str, Any]]:
        """Each state whose role in the network changes, on which dates: `from` to `to`
        (exclusive; None: open), its role `before` and `after` (None: not in)."""
        was: dict[str, Timeline] = before.pairs if isinstance(before, Network) else {}
        found = []
        for state in sorted(was.keys() | self.pairs.keys()):
            old, new = was.get(state, EMPTY), self.pairs.get(state, EMPTY)
            if old == new:
                continue
            found += [{"network": self.code, "state": state, "from": start, "to": end,
                       "before": role_before, "after": role_after}
                      for start, end, role_before, role_after in differences(old, new)]
        return found

    def problems(self, keys: set[str]) -> dict[tuple[Any, ...], Contradiction]:
        """What breaks the rules among the facts of `keys`: joins and leaves that change
        nothing, joins before the network's founding, suspensions or lifts that change
        nothing (`suspension_breaks`), revocations with no withdrawal to cancel, and an
        office's assumptions and relinquishments that break its rules (`office_breaks`)."""
        states = self.pairs.keys() | self.suspensions.keys() if Stream.WHOLE in keys else keys
        found = timeline_problems(self.pairs, states, self.established_on, self._early,
                                  self._no_change)
        for state in states:
            for subject, before in suspension_breaks(self.pairs.get(state, EMPTY),
                                                     self.suspensions.get(state, EMPTY)):
                found["suspension", state, subject.entry] = self._no_suspension_change(
                    state, subject, before)
        for (state, entry), day in self.dangling.items():
            if Stream.WHOLE in keys or state in keys:
                found["revocation", state, entry] = Contradiction(
                    f"no withdrawal of {state} from {self.code} is pending on {day} "
                    "({subject}): a withdrawal is revoked after notice of it was given and "
                    "before it takes effect", subject=self.ref(entry, day))
        for office, points in self.offices.items():
            # An office is checked when it changed, or when a holder's membership did.
            if (Stream.WHOLE in keys or OFFICE_KEY + office in keys
                    or any(point.state in keys for point in points)):
                for point, other, why in office_breaks(points, self.pairs):
                    found["office", office, point.entry] = self._office_problem(
                        office, point, other, why)
        return found

    def _office_problem(self, office: str, subject: OfficePoint, before: Any,
                        why: str) -> Contradiction:
        refs = {"subject": self.ref(subject.entry, subject.day)}
        if before is not None:
            refs["before"] = self.ref(before.entry, before.day)
        holder = subject.state
        if why == "held":
            term = (f"until {before.ends}" if before.ends else "with no end of term recorded")
            return Contradiction(
                f"{office} of {self.code} is held by {before.state} from {before.day} "
                f"({{before}}) {term}, so {holder} cannot assume it on {subject.day} "
                "({subject}); record the end of that term first", **refs)
        if why == "term":
            return Contradiction(
                f"the term of {office} of {self.code} that {holder} assumes on {subject.day} "
                f"({{subject}}) would end on {subject.ends}, before it starts", **refs)
        if why == "not-member":
            if before is None:
                was = f"is not a member of {self.code} on {subject.day}"
            elif before.value is None:
                was = (f"left {self.code} on {before.day} ({{before}}), so it is not a member "
                       f"on {subject.day}")
            else:
                was = (f"is {an(before.value)} of {self.code} since {before.day} "
                       f"({{before}}), not a member, on {subject.day}")
            return Contradiction(
                f"{holder} {was}: it cannot assume the {office} then ({{subject}})", **refs)
        held = (f": {before.state} holds it since {before.day} ({{before}})"
                if before is not None else "")
        return Contradiction(
            f"{holder} does not hold {office} of {self.code} on {subject.day}{held}, so it "
            "cannot relinquish it then ({subject})", **refs)

    def _no_suspension_change(self, state: str, subject: Change,
                              before: Change | None) -> Contradiction:
        refs = self.change_refs(subject, before)
        if subject.value is None:
            if before is None:
                return Contradiction(
                    f"{state} is not suspended from {self.code} on {subject.day}, so no "
                    "suspension of it can be lifted then ({subject})", **refs)
            if before in self.pairs.get(state, EMPTY):
                return Contradiction(
                    f"{state}'s suspension from {self.code} ended when it "
                    f"{'left' if before.value is None else 'became an observer of'} "
                    f"{self.code} on {before.day} ({{before}}), so it cannot be lifted on "
                    f"{subject.day} ({{subject}})", **refs)
            return Contradiction(
                f"{state}'s suspension from {self.code} was lifted on {before.day} "
                f"({{before}}), so it cannot be lifted again on {subject.day} ({{subject}})",
                **refs)
        if before is not None and before.value == SUSPENDED:
            return Contradiction(
                f"{state} is already suspended from {self.code} since {before.day} "
                f"({{before}}), so the suspension of {subject.day} ({{subject}}) would change "
                "nothing; retract or correct one of them", **refs)
        if before is not None and before.value is not None:
            return Contradiction(
                f"{state} is {an(before.value)} of {self.code} since {before.day} "
                f"({{before}}), not a member, so it cannot be suspended on {subject.day} "
                "({subject})", **refs)
        return Contradiction(
            f"{state} is not a member of {self.code} on {subject.day}, so it cannot be "
            "suspended then ({subject})", **refs)

    def _early(self, state: str, first: Change) -> Contradiction:
        return Contradiction(
            f"{state} cannot join {self.code} on {first.day} ({{subject}}): the network was "
            f"established on {self.established_on} ({{established}})",
            subject=self.ref(first.entry, first.day),
            established=self.ref(self.established_version, self.established_on))

    def _no_change(self, state: str, subject: Change, before: Change | None) -> Contradiction:
        refs = self.change_refs(subject, before)
        if subject.value is not None:
            assert before is not None
            return Contradiction(
                f"{state} is already {an(subject.value)} of {self.code} since {before.day} "
                f"({{before}}), so the entry making it {an(subject.value)} on {subject.day} "
                "({subject}) would change nothing; retract or correct one of them", **refs)
        if before is None:
            return Contradiction(
                f"{state} is not in {self.code} on {subject.day}, so it cannot leave it then "
                "({subject})", **refs)
        return Contradiction(
            f"{state} left {self.code} on {before.day} ({{before}}), so it cannot leave it "
            f"again on {subject.day} ({{subject}})", **refs)


SUSPENDED = "suspended"
OFFICE_KEY = "office "  # + the office's code: a key of `touched` no state code can be


class OfficePoint(NamedTuple):
    """An assumption of an office (`assumed`, until `ends` if the term is fixed) or its
    relinquishment, by `state`, from `day` on; `order` and `entry` as in `Change`."""

    day: str
    order: int
    state: str
    ends: str | None
    assumed: bool
    entry: int


def role_on(timeline: Timeline, day: str, order: int) -> Change | None:
    """The change of role in force at (`day`, `order`), if any."""
    i = bisect_right(timeline, (day, order), key=lambda change: (change.day, change.order))
    return timeline[i - 1] if i else None


def office_breaks(points: tuple[OfficePoint, ...], roles: dict[str, Timeline]
                  ) -> list[tuple[OfficePoint, Any, str]]:
    """The assumptions and relinquishments of one office that break its rules, each with
    the entry it contradicts and why: "held" (the term before has not ended), "term" (its
    term ends before it starts), "not-member" (with the state's change of role in force),
    "not-holder" (with the term in force, if any)."""
    found: list[tuple[OfficePoint, Any, str]] = []
    holder: OfficePoint | None = None
    for point in points:
        if holder is not None and holder.ends is not None and holder.ends <= point.day:
            holder = None
        if point.assumed:
            role = role_on(roles.get(point.state, EMPTY), point.day, point.order)
            if point.ends is not None and point.ends <= point.day:
                found.append((point, None, "term"))
            elif holder is not None:
                found.append((point, holder, "held"))
            elif role is None or role.value != "member":
                found.append((point, role, "not-member"))
            else:
                holder = point
        elif holder is None or holder.state != point.state:
            found.append((point, holder, "not-holder"))
        else:
            holder = None
    return found


def office_terms(points: list[tuple[str, str, str | None, bool]]
                 ) -> list[tuple[str, str, str | None]]:
    """The (holder, from, to) terms that an office's points make: (day, state, term end,
    whether an assumption) in effective-date order, all keeping the rules; a term given up
    the day it began is none."""
    terms: list[tuple[str, str, str | None]] = []
    for day, state, ends, assumed in points:
        if assumed:
            terms.append((state, day, ends))
        elif terms and terms[-1][0] == state:
            holder, start, end = terms[-1]
            terms[-1] = (holder, start, day if end is None or day < end else end)
    return [(holder, start, end) for holder, start, end in terms if end is None or start < end]


def suspension_breaks(roles: Timeline, suspensions: Timeline
                      ) -> list[tuple[Change, Change | None]]:
    """The suspensions and lifts of one state that change nothing, over its roles and its
    suspensions in effective-date order, each with the change it contradicts: for a
    suspension, the suspension in force (value SUSPENDED) or the last change of role (a
    role that is not member, or None: not in); for a lift, the change that ended the last
    suspension (None if there was none)."""
    found: list[tuple[Change, Change | None]] = []
    role: Change | None = None
    suspended: Change | None = None  # the suspension in force
    ended: Change | None = None  # what ended the last one
    points = sorted([*((change, False) for change in roles),
                     *((change, True) for change in suspensions)],
                    key=lambda point: (point[0].day, point[0].order))
    for change, is_suspension in points:
        if not is_suspension:
            role = change
            if suspended is not None and change.value != "member":
                suspended, ended = None, change
        elif change.value is None:
            if suspended is None:
                found.append((change, ended))
            else:
                suspended, ended = None, change
        elif suspended is not None:
            found.append((change, suspended))
        elif role is None or role.value != "member":
            found.append((change, role))
        else:
            suspended = change
    return found


def suspended_spans(points: list[tuple[str, str | None, bool]]
                    ) -> list[tuple[str, str | None]]:
    """The (from, to) spans of suspension in force that change points make: (day, value,
    whether it is a suspension point) in effective-date order, a role's value a role or
    None, a suspension's SUSPENDED or None (a lift). Points that change nothing are passed
    over, as `suspension_breaks` finds them."""
    spans: list[tuple[str, str | None]] = []
    role: str | None = None
    start: str | None = None
    for day, value, is_suspension in points:
        if not is_suspension:
            role = value
            if start is not None and value != "member":
                spans.append((start, day))
                start = None
        elif value is None:
            if start is not None:
                spans.append((start, day))
                start = None
        elif start is None and role == "member":
            start = day
    if start is not None:
        spans.append((start, None))
    return [(begin, end) for begin, end in spans if end is None or begin < end]


def an(role: str) -> str:
    """'a member', 'an observer'."""
    return ("an " if role[0] in "aeiou" else "a ") + role
