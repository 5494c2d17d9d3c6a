"""A conference: scheduled (perhaps only to the year), rescheduled, cancelled or held."""

from __future__ import annotations

from typing import Any

from domain import catalogue as c
from domain.codes import earliest_day, latest_day
from domain.errors import RuleViolation
from domain.stream import Entry, Stream


class Conference(Stream):
    """A conference such as ALCONU II, with its delegations and sessions."""

    prefix = "conference"
    kind = "conference"

    class Event(Stream.Event):
        pass

    class ConferenceScheduled(Event, Stream.Created):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.exists = True
            aggregate.status = "scheduled"
            aggregate.title = self.data["title"]
            aggregate.starts_on = self.data["starts_on"]
            aggregate.ends_on = self.data.get("ends_on")

    class ConferenceRescheduled(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.starts_on = self.data["starts_on"]
            aggregate.ends_on = self.data.get("ends_on")

    class ConferenceCancelled(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.status = "cancelled"

    class ConferenceHeld(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.status = "held"

    class DelegationAttended(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.delegations[self.data["state"]] = self.data["role"]

    class SessionHeld(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.sessions.append(self.data["title"])

    def _reset(self) -> None:
        self.status = ""
        self.title = ""
        self.starts_on = ""
        self.ends_on: str | None = None
        self.delegations: dict[str, str] = {}
        self.sessions: list[str] = []

    @classmethod
    def schedule(cls, p: c.ConferenceScheduled, entry: Entry) -> Conference:
        """Schedule a new conference."""
        require_ordered_dates(p.starts_on, p.ends_on)
        return cls.start(cls.ConferenceScheduled, p.conference, p, entry)

    def reschedule(self, p: c.ConferenceRescheduled, entry: Entry) -> None:
        """Give a scheduled conference new dates."""
        self.require_status("scheduled", "rescheduled")
        require_ordered_dates(p.starts_on, p.ends_on)
        self.record(self.ConferenceRescheduled, p, entry)

    def cancel(self, p: c.ConferenceCancelled, entry: Entry) -> None:
        """Call off a scheduled conference."""
        self.require_status("scheduled", "cancelled")
        self.record(self.ConferenceCancelled, p, entry)

    def hold(self, p: c.ConferenceHeld, entry: Entry) -> None:
        """Record that a scheduled conference took place."""
        self.require_status("scheduled", "marked as held")
        self.record(self.ConferenceHeld, p, entry)

    def attend(self, p: c.DelegationAttended, entry: Entry) -> None:
        """Record a state's delegation at a conference that is being or has been held."""
        self.require_exists()
        if self.status != "held" and not self.is_under_way_on(entry.effective_date):
            raise RuleViolation(
                f"conference {self.code} is {self.status} ({self.dates()}), neither held nor "
                f"under way on {entry.effective_date}: record ConferenceHeld first, or give the "
                "delegation's effective_date within the conference's dates"
            )
        if self.delegations.get(p.state) == p.role:
            raise RuleViolation(
                f"{p.state}'s delegation is already recorded at {self.code} as {p.role}"
            )
        self.record(self.DelegationAttended, p, entry)

    def hold_session(self, p: c.SessionHeld, entry: Entry) -> None:
        """Record a session of a conference that was held."""
        self.require_exists()
        if self.status != "held":
            raise RuleViolation(
                f"conference {self.code} is {self.status}, not held: record ConferenceHeld "
                "before its sessions"
            )
        self.record(self.SessionHeld, p, entry)

    def is_under_way_on(self, day: str) -> bool:
        """Whether `day` falls within the scheduled dates (to the precision they are known)."""
        if self.status != "scheduled" or len(self.starts_on) != 10:
            return False
        return self.starts_on <= day <= latest_day(self.ends_on or self.starts_on)

    def dates(self) -> str:
        """The scheduled dates as given: '2025', or '2025-10-08 to 2025-10-09'."""
        return f"{self.starts_on} to {self.ends_on}" if self.ends_on else self.starts_on

    def require_status(self, status: str, action: str) -> None:
        """Refuse unless the conference is in `status`."""
        self.require_exists()
        if self.status != status:
            raise RuleViolation(
                f"conference {self.code} is {self.status}, so it cannot be {action}"
            )


def require_ordered_dates(starts_on: str, ends_on: str | None) -> None:
    """Refuse an end that comes before the start."""
    if ends_on is not None and latest_day(ends_on) < earliest_day(starts_on):
        raise RuleViolation(f"ends_on {ends_on} is before starts_on {starts_on}")
