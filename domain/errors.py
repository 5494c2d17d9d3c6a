"""The errors the write side raises, each with a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass


class ConcordError(Exception):
    """Base class of every error Concord raises on purpose."""


@dataclass(frozen=True)
class FieldProblem:
    """One reason a submission was refused, and the field it concerns."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class InvalidSubmission(ConcordError):
    """The submission is malformed: unknown type or field, bad code, bad date, oversize text."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def prefixed(self, prefix: str) -> InvalidSubmission:
        """The same problems with their field names placed under `prefix`."""
        return InvalidSubmission(
            [FieldProblem(f"{prefix}.{p.field}" if p.field else prefix, p.reason)
             for p in self.problems]
        )


class RuleViolation(ConcordError):
    """The submission is well formed but breaks a rule of the log as it stands."""


@dataclass(frozen=True)
class EntryRef:
    """An entry by its place in its stream, before its position is looked up."""

    stream: str
    version: int
    effective_date: str


class Contradiction(RuleViolation):
    """The entry would contradict another entry on record (named by its position), or the
    record would contradict itself once it is in."""

    def __init__(self, template: str, **entries: EntryRef) -> None:
        # `template` names the entries as {name}; `locate` puts their positions in.
        self.template = template
        self.entries = entries
        self.positions: dict[str, int] = {}
        self.names = {name: "an entry" for name in entries}
        super().__init__(template.format(**self.names))

    def locate(self, names: dict[str, str], positions: dict[str, int]) -> None:
        """Name the entries as `names` says ('position 54', 'submission 2 of this batch'),
        and keep the positions found."""
        self.names = {**self.names, **names}
        self.positions = {**self.positions, **positions}
        self.args = (self.template.format(**self.names),)


class NotFound(RuleViolation):
    """The submission names a network, conference, declaration, state or position not on record
    (in `field` of its data, if known: 'network', 'replacement.data.state')."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(RuleViolation):
    """`expected_version` does not match the stream's current version."""

    def __init__(self, stream: str, expected: int, current: int) -> None:
        self.stream = stream
        self.expected = expected
        self.current = current
        super().__init__(
            f"stream {stream} is at version {current}, not the expected version {expected}; "
            "read it again and resubmit"
        )


class IdempotencyKeyReused(ConcordError):
    """An idempotency key was sent again with a different submission."""


class BatchRefused(ConcordError):
    """A batch was refused as a whole because one of its submissions was refused."""

    def __init__(self, index: int, cause: ConcordError) -> None:
        self.index = index
        self.cause = cause
        super().__init__(index, cause)

    def __str__(self) -> str:
        # The cause's message may change once its positions are known.
        return f"submission {self.index} of the batch was refused: {self.cause}"


class LogUnavailable(ConcordError):
    """The log could not store the submission; nothing was appended."""
