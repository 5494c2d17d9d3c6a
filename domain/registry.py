"""Codes registered for states and other entities that have no ISO 3166 code."""

from __future__ import annotations

from typing import Any

from concord.domain import catalogue as c
from concord.domain.codes import iso_name
from concord.domain.errors import RuleViolation
from concord.domain.stream import Entry, Stream


class RegisteredState(Stream):
    """One registered code, such as 'XKX', and the name it stands for."""

    prefix = "state"
    kind = "state"

    class Event(Stream.Event):
        pass

    class StateRegistered(Event, Stream.Created):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.exists = True
            aggregate.name = self.data["name"]

    def _reset(self) -> None:
        self.name = ""

    @classmethod
    def register(cls, p: c.StateRegistered, entry: Entry) -> RegisteredState:
        """Register a code outside ISO 3166."""
        cls.require_outside_iso(p.state)
        return cls.start(cls.StateRegistered, p.state, p, entry)

    @staticmethod
    def require_outside_iso(state: str) -> None:
        """Refuse to register a code ISO 3166 already gives."""
        if (name := iso_name(state)) is not None:
            raise RuleViolation(
                f"{state} is the ISO 3166 code of {name}; only codes outside ISO 3166 are "
                "registered"
            )
