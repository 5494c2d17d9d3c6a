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


class NotFound(RuleViolation):
    """The submission names a network, conference, declaration, state or position not on record."""


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
        super().__init__(f"submission {index} of the batch was refused: {cause}")


class LogUnavailable(ConcordError):
    """The log could not store the submission; nothing was appended."""
