"""The ports of the write side: what the writer asks of the log it appends to (`LogStore`,
which `CoordinationLog` implements), and what the log asks of its recorder beyond
eventsourcing's (`LogRecorder`, which each storage module implements), with the records
they exchange."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.persistence import StoredEvent

from concord.domain.envelope import Envelope
from concord.domain.stream import Stream


@dataclass(frozen=True)
class IdempotencyRecord:
    """A key, the digest of what it was sent with, and the events (by index) it produced."""

    scope: str
    key: str
    fingerprint: str
    start: int
    stop: int


@dataclass(frozen=True)
class PriorResult:
    """What a key was first used for: the digest of the submission and the positions it got."""

    fingerprint: str
    positions: list[int]


class LogStore(Protocol):
    """What the writer needs of the log: the record as committed, and one atomic store of a
    round."""

    @property
    def commit_channel(self) -> str | None:
        """The channel notified with every commit (PostgreSQL); None on SQLite."""

    def exclusive_round(self) -> AbstractContextManager[None]:
        """A round, from reading the log's end to committing, with no other process
        appending meanwhile."""

    def last_position(self) -> int:
        """The position of the latest entry (0 for an empty log)."""

    def streams_written(self, after: int, upto: int) -> set[str]:
        """The streams of the entries at the positions after `after`, up to `upto`."""

    def load(self, stream_id: str) -> Stream | None:
        """The aggregate folded from its stored events, or None if it has none."""

    def load_many(self, stream_ids: Sequence[str]) -> dict[str, Stream]:
        """The aggregates of those of `stream_ids` that have events."""

    def events_of(self, stream_id: str) -> list[Stream.Event]:
        """Every stored event of a stream, in order."""

    def entry_at(self, position: int) -> tuple[str, int, str] | None:
        """The (stream, version, public type) of the entry at `position`, if there is one."""

    def position_of(self, stream_id: str, version: int) -> int | None:
        """The position of a stream's entry by its version, if it is stored."""

    def stream_codes(self, kind: str) -> list[str]:
        """The codes of every stored stream of a kind."""

    def same_but_case(self, stream_id: str) -> list[str]:
        """The stored streams whose ids differ from `stream_id` in case alone."""

    def envelopes_at(self, positions: Sequence[int]) -> list[Envelope]:
        """The envelopes at the given positions, in that order."""

    def prior_results(self, keys: Sequence[tuple[str, str]]
                      ) -> dict[tuple[str, str], PriorResult]:
        """Idempotency keys already used, with the digest and positions they were used for."""

    def store_round(self, events: Sequence[Stream.Event],
                    idempotency: Sequence[IdempotencyRecord]) -> list[int]:
        """Store the round's events and the keys they answer in one transaction; their
        positions."""

    def envelopes_of(self, drafts: Sequence[Envelope], positions: Sequence[int]
                     ) -> list[Envelope]:
        """The envelopes of the entries a round stored, from those made before (`drafts`)
        and the positions they were stored at."""


Row = tuple[int, str, int, str, bytes]
"""A stored entry as read: position, stream, version, topic and state (JSON)."""


class LogRecorder(Protocol):
    """What the log needs of its recorder beyond eventsourcing's."""

    def select_rows(self, after: int, limit: int, stop: int | None = None,
                    topics: Sequence[str] = ()) -> list[Row]:
        """Up to `limit` stored entries after position `after` (up to `stop`), of the given
        topics, in log order: plain tuples, no object an entry."""

    def select_streams(self, stream_ids: Sequence[str]) -> list[StoredEvent]:
        """Every stored event of the given streams, ordered by stream and version."""

    def find_prior_results(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], PriorResult]:
        """The keys among `keys` already used, with what they were used for."""

    def stream_version(self, stream_id: str, upto_position: int) -> int:
        """The version of stream `stream_id` as of position `upto_position` (0: no entry)."""

    def position_of(self, stream_id: str, version: int) -> int | None:
        """The position of the stream's entry at `version`, if stored."""

    def stream_ids(self, prefix: str) -> list[str]:
        """Every stream whose id starts with `prefix` (such as 'network:')."""

    def same_but_case(self, stream_id: str) -> list[str]:
        """The streams whose ids equal `stream_id` but for case (it, too, if stored)."""
