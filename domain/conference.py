"""A conference: scheduled (perhaps only to the year), rescheduled, cancelled or held.

Its record is checked as a whole, in effective-date order, whenever it changes: its dates
are those of its latest (re)scheduling; it is held at most once, on or after its start, and
never both held and cancelled; nothing reschedules it once it was held or cancelled; and its
delegations and sessions fall within its dates (at the precision they are known), at a
conference that was held (or, for a delegation, is under way on days known to the day).
"""

from __future__ import annotations

from bisect import insort
from typing import Any, NamedTuple

from concord.domain import catalogue as c
from concord.domain.codes import earliest_day, latest_day
from concord.domain.errors import Contradiction, RuleViolation
from concord.domain.stream import Entry, Stream
from concord.domain.timeline import EMPTY, Change, Timeline, added, breaks


class Dated(NamedTuple):
    """An entry of the conference by its effective date, its place among entries of that
    date, and its version (see `domain.timeline.Change`)."""

    day: str
    order: int
    entry: int


class Dates(NamedTuple):
    """A (re)scheduling: its entry, and the dates it gives."""

    day: str
    order: int
    starts_on: str
    ends_on: str | None
    entry: int


class Conference(Stream):
    """A conference such as ALCONU II, with its delegations and sessions."""

    prefix = "conference"
    kind = "conference"

    class Event(Stream.Event):
        pass

    class ConferenceScheduled(Event, Stream.Created):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.exists = True
            aggregate.title = self.data["title"]
            aggregate.scheduled = Dated(self.effective_date, self.order, self.originator_version)
            aggregate.add_dates(self)

    class ConferenceRescheduled(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.add_dates(self)

    class ConferenceCancelled(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.cancelled = tuple(sorted([*aggregate.cancelled, Dated(
                self.effective_date, self.order, self.originator_version)]))
            aggregate.touched.add(Stream.WHOLE)

    class ConferenceHeld(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.held = tuple(sorted([*aggregate.held, Dated(
                self.effective_date, self.order, self.originator_version)]))
            aggregate.touched.add(Stream.WHOLE)

    class DelegationAttended(Event):
        def apply_fact(self, aggregate: Any) -> None:
            state = self.data["state"]
            aggregate.delegations[state] = added(
                aggregate.delegations.get(state, EMPTY),
                Change(self.effective_date, self.order, self.data["role"],
                       self.originator_version))
            aggregate.touched.add(Stream.WHOLE)

    class SessionHeld(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.sessions = tuple(sorted([*aggregate.sessions, Dated(
                self.effective_date, self.order, self.originator_version)]))
            aggregate.touched.add(Stream.WHOLE)

    def _reset(self) -> None:
        self.title = ""
        self.scheduled = Dated("", 0, 0)
        # Tuples, replaced whenever they change: a snapshot shares them.
        self.schedule: tuple[Dates, ...] = ()
        self.cancelled: tuple[Dated, ...] = ()
        self.held: tuple[Dated, ...] = ()
        self.delegations: dict[str, Timeline] = {}
        self.sessions: tuple[Dated, ...] = ()

    def add_dates(self, event: Any) -> None:
        """Put a (re)scheduling in its place among the conference's dates."""
        schedule = list(self.schedule)
        insort(schedule, Dates(event.effective_date, event.order, event.data["starts_on"],
                               event.data.get("ends_on"), event.originator_version))
        self.schedule = tuple(schedule)
        self.touched.add(Stream.WHOLE)

    @property
    def starts_on(self) -> str:
        """The start as the record now gives it (as precise as it is known)."""
        return self.schedule[-1].starts_on if self.schedule else ""

    @property
    def ends_on(self) -> str | None:
        """The end as the record now gives it, if known."""
        return self.schedule[-1].ends_on if self.schedule else None

    @property
    def status(self) -> str:
        """'held', 'cancelled' or 'scheduled'."""
        return "held" if self.held else "cancelled" if self.cancelled else "scheduled"

    @classmethod
    def schedule_new(cls, p: c.ConferenceScheduled, entry: Entry) -> Conference:
        """Schedule a new conference."""
        require_ordered_dates(p.starts_on, p.ends_on)
        return cls.start(cls.ConferenceScheduled, p.conference, p, entry)

    def reschedule(self, p: c.ConferenceRescheduled, entry: Entry) -> None:
        """Give a scheduled conference new dates."""
        self.require_exists()
        require_ordered_dates(p.starts_on, p.ends_on)
        self.record(self.ConferenceRescheduled, p, entry)

    def cancel(self, p: c.ConferenceCancelled, entry: Entry) -> None:
        """Call off a scheduled conference."""
        self.require_exists()
        self.record(self.ConferenceCancelled, p, entry)

    def hold(self, p: c.ConferenceHeld, entry: Entry) -> None:
        """Record that a scheduled conference took place."""
        self.require_exists()
        self.record(self.ConferenceHeld, p, entry)

    def attend(self, p: c.DelegationAttended, entry: Entry) -> None:
        """Record a state's delegation at a conference that is being or has been held."""
        self.require_exists()
        self.record(self.DelegationAttended, p, entry)

    def hold_session(self, p: c.SessionHeld, entry: Entry) -> None:
        """Record a session of a conference that was held."""
        self.require_exists()
        self.record(self.SessionHeld, p, entry)

    def dates(self) -> str:
        """The scheduled dates as given: '2025', or '2025-10-08 to 2025-10-09'."""
        return f"{self.starts_on} to {self.ends_on}" if self.ends_on else self.starts_on

    def problems(self, keys: set[str]) -> dict[tuple[Any, ...], Contradiction]:
        """Everything in the conference's record that its rules refuse."""
        found: dict[tuple[Any, ...], Contradiction] = {}
        if not self.schedule:
            return found
        code, first, last = self.code, earliest_day(self.starts_on), latest_day(
            self.ends_on or self.starts_on)

        def problem(key: tuple[Any, ...], template: str, **refs: Dated) -> None:
            found[key] = Contradiction(
                template, **{name: self.ref(d.entry, d.day) for name, d in refs.items()})

        scheduled = self.scheduled
        for dates in self.schedule:
            if dates.entry == scheduled.entry:
                continue
            at = Dated(dates.day, dates.order, dates.entry)
            if dates.day < scheduled.day:
                problem(("early", dates.entry),
                        f"{code} cannot be rescheduled on {dates.day} ({{subject}}), before it "
                        f"was scheduled on {scheduled.day} ({{scheduled}})",
                        subject=at, scheduled=scheduled)
            for ended, how in ((self.held, "held"), (self.cancelled, "cancelled")):
                if ended and ended[0].day <= dates.day:
                    problem(("after", dates.entry),
                            f"{code} was {how} on {ended[0].day} ({{ended}}), so it cannot be "
                            f"rescheduled on {dates.day} ({{subject}})",
                            subject=at, ended=ended[0])
        for ended, how in ((self.held, "held"), (self.cancelled, "cancelled")):
            for again in ended[1:]:
                problem((how, again.entry),
                        f"{code} was already {how} on {ended[0].day} ({{first}}), so it cannot "
                        f"be {how} again ({{subject}})", subject=again, first=ended[0])
        if self.held and self.cancelled:
            held, cancelled = self.held[0], self.cancelled[0]
            later = held if held.entry > cancelled.entry else cancelled
            problem(("both", later.entry),
                    f"{code} would be both held ({{held}}) and cancelled ({{cancelled}}); "
                    "retract or correct one of them",
                    subject=later, held=held, cancelled=cancelled)
        for held in self.held[:1]:
            if held.day < first:
                problem(("held-early", held.entry),
                        f"{code} cannot have been held on {held.day} ({{subject}}): it starts "
                        f"on {self.starts_on}", subject=held)
        where = f"{code}'s dates ({self.dates()})"
        for state, timeline in self.delegations.items():
            for change, before in breaks(timeline):
                assert before is not None
                problem(("same", state, change.entry),
                        f"{state}'s delegation is already recorded at {code} as "
                        f"{change.value} ({{before}}), so the one of {change.day} "
                        "({subject}) would change nothing",
                        subject=Dated(change.day, change.order, change.entry),
                        before=Dated(before.day, before.order, before.entry))
            for change in timeline:
                at = Dated(change.day, change.order, change.entry)
                self._attendance(problem, at, f"{state}'s delegation", where, first, last,
                                 delegation=True)
        for session in self.sessions:
            self._attendance(problem, session, "the session", where, first, last,
                             delegation=False)
        return found

    def _attendance(self, problem: Any, at: Dated, what: str, where: str, first: str,
                    last: str, delegation: bool) -> None:
        code = self.code
        if self.cancelled:
            problem(("cancelled", at.entry),
                    f"{code} was cancelled ({{cancelled}}), so {what} of {at.day} ({{subject}}) "
                    "cannot have taken place", subject=at, cancelled=self.cancelled[0])
        elif not delegation and not self.held:
            problem(("not-held", at.entry),
                    f"{code} is not held: record ConferenceHeld before its sessions ({what} "
                    f"of {at.day}, {{subject}})", subject=at)
        elif not first <= at.day <= last:
            problem(("outside", at.entry),
                    f"{what} of {at.day} ({{subject}}) falls outside {where}: give the "
                    "effective_date it took place on", subject=at)
        elif not self.held and len(self.starts_on) != 10:
            problem(("not-held", at.entry),
                    f"{code} is neither held nor under way (its dates are not known to the "
                    f"day), so {what} of {at.day} ({{subject}}) cannot be recorded: record "
                    "ConferenceHeld first", subject=at)


def require_ordered_dates(starts_on: str, ends_on: str | None) -> None:
    """Refuse an end that comes before the start."""
    if ends_on is not None and latest_day(ends_on) < earliest_day(starts_on):
        raise RuleViolation(f"ends_on {ends_on} is before starts_on {starts_on}")
