"""A declaration: adopted, then signed by states, whose signatures may be withdrawn."""

from __future__ import annotations

from typing import Any

from domain import catalogue as c
from domain.errors import RuleViolation
from domain.stream import Entry, Stream


class Declaration(Stream):
    """A declaration such as the Buenos Aires Declaration, with its signatories."""

    prefix = "declaration"
    kind = "declaration"

    class Event(Stream.Event):
        pass

    class DeclarationAdopted(Event, Stream.Created):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.exists = True
            aggregate.title = self.data["title"]
            aggregate.adopted_on = self.effective_date

    class DeclarationSigned(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.signatories[self.data["state"]] = self.effective_date

    class SignatureWithdrawn(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.signatories.pop(self.data["state"], None)

    def _reset(self) -> None:
        self.title = ""
        self.adopted_on = ""
        self.signatories: dict[str, str] = {}

    @classmethod
    def adopt(cls, p: c.DeclarationAdopted, entry: Entry) -> Declaration:
        """Record the adoption of a new declaration."""
        return cls.start(cls.DeclarationAdopted, p.declaration, p, entry)

    def sign(self, p: c.DeclarationSigned, entry: Entry) -> None:
        """A state signs the declaration."""
        self.require_exists()
        if (signed_on := self.signatories.get(p.state)) is not None:
            raise RuleViolation(f"{p.state} already signed {self.code} on {signed_on}")
        if entry.effective_date < self.adopted_on:
            raise RuleViolation(
                f"{p.state} cannot sign {self.code} on {entry.effective_date}: it was adopted "
                f"on {self.adopted_on}"
            )
        self.record(self.DeclarationSigned, p, entry)

    def withdraw(self, p: c.SignatureWithdrawn, entry: Entry) -> None:
        """A state withdraws its signature."""
        self.require_exists()
        signed_on = self.signatories.get(p.state)
        if signed_on is None:
            raise RuleViolation(f"{p.state} has not signed {self.code}, so it cannot withdraw")
        if entry.effective_date < signed_on:
            raise RuleViolation(
                f"{p.state} cannot withdraw from {self.code} on {entry.effective_date}: it "
                f"signed on {signed_on}"
            )
        self.record(self.SignatureWithdrawn, p, entry)
