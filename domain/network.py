"""A network of states: its founding, statutes, members and observers.

Each state's joins (as member or observer) and leaves are change points of its timeline in
the network (`domain.timeline`), ordered by effective date: every one must change the
state's role, wherever it falls, and none may come before the network was established.
"""

from __future__ import annotations

from typing import Any

from concord.domain import catalogue as c
from concord.domain.errors import Contradiction
from concord.domain.stream import Entry, Stream
from concord.domain.timeline import EMPTY, Change, Timeline, added, timeline_problems


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
            aggregate.change(self.data["state"], Change(
                self.effective_date, self.order, None, self.originator_version))

    def _reset(self) -> None:
        self.name = ""
        self.established_on = ""
        self.established_version = 0
        self.statutes: list[str] = []
        self.pairs: dict[str, Timeline] = {}

    def change(self, state: str, change: Change) -> None:
        """Put a change point in the state's timeline."""
        self.pairs[state] = added(self.pairs.get(state, EMPTY), change)
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

    def problems(self, keys: set[str]) -> dict[tuple[Any, ...], Contradiction]:
        """Joins and leaves that change nothing, and joins before the network's founding."""
        return timeline_problems(self.pairs, self.pairs if Stream.WHOLE in keys else keys,
                        self.established_on, self._early, self._no_change)

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


def an(role: str) -> str:
    """'a member', 'an observer'."""
    return ("an " if role[0] in "aeiou" else "a ") + role
