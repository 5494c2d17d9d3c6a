"""A declaration: adopted, then signed by states, whose signatures may be withdrawn.

Each state's signatures and withdrawals are change points of its timeline
(`domain.timeline`), ordered by effective date: every one must change whether the state is a
signatory, wherever it falls, and none may come before the adoption.
"""

from __future__ import annotations

from typing import Any

from concord.domain import catalogue as c
from concord.domain.errors import Contradiction
from concord.domain.stream import Entry, Stream
from concord.domain.timeline import EMPTY, Change, Timeline, added, timeline_problems

SIGNED = "signed"


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
            aggregate.adopted_version = self.originator_version
            aggregate.touched.add(Stream.WHOLE)

    class DeclarationSigned(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.change(self.data["state"], Change(
                self.effective_date, self.order, SIGNED, self.originator_version))

    class SignatureWithdrawn(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.change(self.data["state"], Change(
                self.effective_date, self.order, None, self.originator_version))

    def _reset(self) -> None:
        self.title = ""
        self.adopted_on = ""
        self.adopted_version = 0
        self.signatures: dict[str, Timeline] = {}

    def change(self, state: str, change: Change) -> None:
        """Put a change point in the state's timeline."""
        self.signatures[state] = added(self.signatures.get(state, EMPTY), change)
        self.touched.add(state)

    @classmethod
    def adopt(cls, p: c.DeclarationAdopted, entry: Entry) -> Declaration:
        """Record the adoption of a new declaration."""
        return cls.start(cls.DeclarationAdopted, p.declaration, p, entry)

    def sign(self, p: c.DeclarationSigned, entry: Entry) -> None:
        """A state signs the declaration (the rules are checked once the submission, or its
        batch, is applied)."""
        self.require_exists()
        self.record(self.DeclarationSigned, p, entry)

    def withdraw(self, p: c.SignatureWithdrawn, entry: Entry) -> None:
        """A state withdraws its signature."""
        self.require_exists()
        self.record(self.SignatureWithdrawn, p, entry)

    def problems(self, keys: set[str]) -> dict[tuple[Any, ...], Contradiction]:
        """Signatures and withdrawals that change nothing, and signatures before adoption."""
        return timeline_problems(self.signatures, self.signatures if Stream.WHOLE in keys else keys,
                        self.adopted_on, self._early, self._no_change)

    def _early(self, state: str, first: Change) -> Contradiction:
        return Contradiction(
            f"{state} cannot sign {self.code} on {first.day} ({{subject}}): it was adopted on "
            f"{self.adopted_on} ({{adopted}})", subject=self.ref(first.entry, first.day),
            adopted=self.ref(self.adopted_version, self.adopted_on))

    def _no_change(self, state: str, subject: Change, before: Change | None) -> Contradiction:
        refs = self.change_refs(subject, before)
        if subject.value is not None:
            assert before is not None
            return Contradiction(
                f"{state} already signed {self.code} on {before.day} ({{before}}), so the "
                f"signature of {subject.day} ({{subject}}) would change nothing", **refs)
        if before is None:
            return Contradiction(
                f"{state} has not signed {self.code} by {subject.day}, so it cannot withdraw "
                "its signature then ({subject})", **refs)
        return Contradiction(
            f"{state} withdrew its signature from {self.code} on {before.day} ({{before}}), "
            f"so it cannot withdraw it again on {subject.day} ({{subject}})", **refs)
