"""A network of states: its founding, statutes, members and observers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain import catalogue as c
from domain.errors import RuleViolation
from domain.stream import Entry, Stream


@dataclass(frozen=True)
class Role:
    """A state's current role in a network and the effective date it took it."""

    role: str
    since: str


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

    class StatuteApproved(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.statutes.append(self.data["title"])

    class StateJoinedNetwork(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.roles[self.data["state"]] = Role(self.data["role"], self.effective_date)

    class StateLeftNetwork(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.roles.pop(self.data["state"], None)

    def _reset(self) -> None:
        self.name = ""
        self.established_on = ""
        self.statutes: list[str] = []
        self.roles: dict[str, Role] = {}

    @classmethod
    def establish(cls, p: c.NetworkEstablished, entry: Entry) -> Network:
        """Found a network under a new code."""
        return cls.start(cls.NetworkEstablished, p.network, p, entry)

    def approve_statute(self, p: c.StatuteApproved, entry: Entry) -> None:
        """Record the approval of a statute of this network."""
        self.require_exists()
        self.record(self.StatuteApproved, p, entry)

    def join(self, p: c.StateJoinedNetwork, entry: Entry) -> None:
        """A state joins as member or observer, or moves from one role to the other."""
        self.require_exists()
        self.require_not_in(p.state, p.role)
        if entry.effective_date < self.established_on:
            raise RuleViolation(
                f"{p.state} cannot join {self.code} on {entry.effective_date}: the network was "
                f"established on {self.established_on}"
            )
        self.record(self.StateJoinedNetwork, p, entry)

    def leave(self, p: c.StateLeftNetwork, entry: Entry) -> None:
        """A state leaves the network."""
        self.require_exists()
        current = self.roles.get(p.state)
        if current is None:
            raise RuleViolation(f"{p.state} is not in {self.code}, so it cannot leave it")
        if entry.effective_date < current.since:
            raise RuleViolation(
                f"{p.state} cannot leave {self.code} on {entry.effective_date}: it has been "
                f"{an(current.role)} since {current.since}"
            )
        self.record(self.StateLeftNetwork, p, entry)

    def require_not_in(self, state: str, role: str) -> None:
        """Refuse a join that would not change the state's role."""
        current = self.roles.get(state)
        if current is not None and current.role == role:
            raise RuleViolation(
                f"{state} is already {an(role)} of {self.code} since {current.since}"
            )


def an(role: str) -> str:
    """'a member', 'an observer'."""
    return ("an " if role[0] in "aeiou" else "a ") + role
