"""CoordinationLog: the append-only log of decisions, on eventsourcing's Application."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, cast

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent, Transcoder
from eventsourcing.utils import Environment, EnvType, get_topic

from concord.domain.catalogue import Submission, parse_batch, parse_one
from concord.domain.commands import TOPICS_BY_TYPE, public_type
from concord.domain.envelope import MAX_POSITION, Envelope, make_envelope
from concord.domain.errors import FieldProblem, InvalidSubmission
from concord.domain.stream import Stream
from concord.log.port import IdempotencyRecord, LogRecorder, PriorResult, Row
from concord.log.sqlite import SQLiteLogRecorder
from concord.log.transcoder import EventStateTranscoder
from concord.log.writer import DryRun, Writer

MAX_READ = 10_000


def sqlite_env(path: Path) -> dict[str, str]:
    """The eventsourcing settings for a log in the SQLite file at `path`."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "10",
        "ORIGINATOR_ID_TYPE": "text",
        "APPLICATION_RECORDER_TOPIC": get_topic(SQLiteLogRecorder),
        "AGGREGATE_CACHE_MAXSIZE": "",
    }


class CoordinationLog(Application[str]):
    """The coordination log: submit decisions through one group-committing writer, read them."""

    def __init__(self, env: EnvType | None = None, *, max_commit_events: int = 10_000) -> None:
        super().__init__(env)
        self.writer = Writer(self, max_commit_events=max_commit_events)
        self.writer.start()

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Only what Concord passes: eventsourcing would otherwise also read the process
        # environment, where an unrelated variable could change how the log is stored.
        return Environment(name, dict(env or {}))

    def construct_transcoder(self) -> Transcoder:
        return EventStateTranscoder()

    def exclusive_round(self) -> AbstractContextManager[None]:
        """A writer's round, from reading the log's end to committing, with no other process
        appending meanwhile (PostgreSQL); on SQLite, where the write transaction itself is
        exclusive and short, nothing more."""
        round_ = getattr(self.recorder, "exclusive_round", None)
        return round_() if round_ is not None else nullcontext()

    @property
    def commit_channel(self) -> str | None:
        """The PostgreSQL channel notified with every commit; None on SQLite."""
        channel = getattr(self.recorder, "channel_name", None)
        return str(channel) if channel else None

    @property
    def log_recorder(self) -> LogRecorder:
        """The recorder, with its idempotency table (SQLite or PostgreSQL)."""
        recorder = self.recorder
        assert hasattr(recorder, "select_streams") and hasattr(recorder, "find_prior_results")
        assert hasattr(recorder, "stream_version") and hasattr(recorder, "position_of")
        return cast(LogRecorder, recorder)

    def submit(
        self,
        raw: Mapping[str, Any] | Submission,
        *,
        recorded_by: str,
        idempotency_key: str | None = None,
    ) -> Envelope:
        """Append one decision; return its envelope. Raises a ConcordError if it is refused."""
        submission = parse_one(raw, recorded_by, idempotency_key)
        return self.writer.submit([submission], recorded_by, idempotency_key, batch=False)[0]

    async def submit_async(
        self,
        raw: Mapping[str, Any] | Submission,
        *,
        recorded_by: str,
        idempotency_key: str | None = None,
    ) -> Envelope:
        """`submit`, awaited on the running event loop instead of blocking a thread."""
        submission = parse_one(raw, recorded_by, idempotency_key)
        envelopes = await self.writer.submit_async(
            [submission], recorded_by, idempotency_key, batch=False)
        return envelopes[0]

    async def submit_replayed_async(
        self,
        raws: Sequence[Mapping[str, Any] | Submission],
        *,
        batch: bool,
        recorded_by: str,
        idempotency_key: str | None = None,
    ) -> tuple[list[Envelope], bool]:
        """`submit_async` (one submission) or `submit_batch_async`, and whether the answer is
        an earlier result for the same idempotency key, which appended nothing."""
        if batch:
            submissions = parse_batch(raws, recorded_by, idempotency_key)
        else:
            (raw,) = raws
            submissions = [parse_one(raw, recorded_by, idempotency_key)]
        return await self.writer.submit_async_replayed(submissions, recorded_by,
                                                       idempotency_key, batch=batch)

    async def dry_run_async(
        self,
        raws: Sequence[Mapping[str, Any] | Submission],
        *,
        batch: bool,
        recorded_by: str,
        idempotency_key: str | None = None,
    ) -> DryRun:
        """Check one submission (or a batch) exactly as `submit_replayed_async` would,
        against the record as it stands, and append nothing (`Writer.dry_run_async`)."""
        if batch:
            submissions = parse_batch(raws, recorded_by, idempotency_key)
        else:
            (raw,) = raws
            submissions = [parse_one(raw, recorded_by, idempotency_key)]
        return await self.writer.dry_run_async(submissions, recorded_by, idempotency_key,
                                               batch=batch)

    async def submit_batch_async(
        self,
        raws: Sequence[Mapping[str, Any] | Submission],
        *,
        recorded_by: str,
        idempotency_key: str | None = None,
    ) -> list[Envelope]:
        """`submit_batch`, awaited on the running event loop instead of blocking a thread."""
        submissions = parse_batch(raws, recorded_by, idempotency_key)
        return await self.writer.submit_async(submissions, recorded_by, idempotency_key,
                                              batch=True)

    def submit_batch(
        self,
        raws: Sequence[Mapping[str, Any] | Submission],
        *,
        recorded_by: str,
        idempotency_key: str | None = None,
    ) -> list[Envelope]:
        """Append all the decisions in one transaction, or none of them."""
        submissions = parse_batch(raws, recorded_by, idempotency_key)
        return self.writer.submit(submissions, recorded_by, idempotency_key, batch=True)

    def read(self, after: int = 0, limit: int = 100, types: Sequence[str] = ()) -> list[Envelope]:
        """Up to `limit` envelopes after position `after`, in log order, of the given types."""
        problems = []
        if not 0 <= after <= MAX_POSITION:
            problems.append(FieldProblem("after", f"must be from 0 to {MAX_POSITION}"))
        if not 1 <= limit <= MAX_READ:
            problems.append(FieldProblem("limit", f"must be from 1 to {MAX_READ}"))
        unknown = [t for t in types if t not in TOPICS_BY_TYPE]
        if unknown:
            problems.append(FieldProblem("type", f"unknown event type(s): {', '.join(unknown)}"))
        if problems:
            raise InvalidSubmission(problems)
        topics = [topic for t in types for topic in TOPICS_BY_TYPE[t]]
        return envelopes(self.log_recorder.select_rows(after, limit, topics=topics))

    def envelopes_at(self, positions: Sequence[int]) -> list[Envelope]:
        """The envelopes at the given positions, in that order."""
        if not positions:
            return []
        first, last = min(positions), max(positions)
        found = envelopes(self.log_recorder.select_rows(first - 1, last - first + 1, last))
        by_position = {e["position"]: e for e in found}
        return [by_position[p] for p in positions]

    def entry_at(self, position: int) -> tuple[str, int, str] | None:
        """The (stream, version, public type) of the entry at `position`, if there is one."""
        found = self.log_recorder.select_rows(position - 1, 1, position)
        if not found:
            return None
        _, stream, version, topic, _ = found[0]
        return stream, version, public_type(topic)

    def stream_version(self, stream_id: str, upto_position: int) -> int:
        """The version of stream `stream_id` as of position `upto_position` (0: no entry)."""
        return self.log_recorder.stream_version(stream_id, upto_position)

    def position_of(self, stream_id: str, version: int) -> int | None:
        """The position of a stream's entry by its version, if it is stored."""
        return self.log_recorder.position_of(stream_id, version)

    def stream_codes(self, kind: str) -> list[str]:
        """The codes of every stored stream of a kind ('network' -> ['RELACOPAZ', ...])."""
        return [sid.partition(":")[2] for sid in self.log_recorder.stream_ids(kind + ":")]

    def same_but_case(self, stream_id: str) -> list[str]:
        """The stored streams whose ids differ from `stream_id` in case alone."""
        return [sid for sid in self.log_recorder.same_but_case(stream_id) if sid != stream_id]

    def last_position(self) -> int:
        """The position of the latest entry (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0

    def events_of(self, stream_id: str) -> list[Stream.Event]:
        """Every stored event of a stream, in order."""
        events: list[Stream.Event] = []
        for event in self.events.get(stream_id):
            assert isinstance(event, Stream.Event)
            events.append(event)
        return events

    def load(self, stream_id: str) -> Stream | None:
        """The aggregate folded from its stored events, or None if it has none."""
        events = self.events_of(stream_id)
        return Stream.fold(events) if events else None

    def load_many(self, stream_ids: Sequence[str]) -> dict[str, Stream]:
        """The aggregates of those of `stream_ids` that have events, read in one query."""
        by_stream: dict[str, list[Stream.Event]] = {}
        for stored in self.log_recorder.select_streams(stream_ids):
            event = self.mapper.to_domain_event(stored)
            assert isinstance(event, Stream.Event)
            by_stream.setdefault(event.originator_id, []).append(event)
        return {stream_id: Stream.fold(events) for stream_id, events in by_stream.items()}

    def streams_written(self, after: int, upto: int) -> set[str]:
        """The streams of the entries at the positions after `after`, up to `upto`."""
        return {row[1] for row in self.log_recorder.select_rows(after, upto - after, upto)}

    def store_round(self, events: Sequence[Stream.Event],
                    idempotency: Sequence[IdempotencyRecord]) -> list[int]:
        """For the writer alone, inside `exclusive_round`: store a round's events and the
        keys they answer in one transaction, with no rule checked (`submit` checks them);
        their positions. Each is stored as eventsourcing's mapper stores it (its state
        without its identity, by the log's transcoder), with no object on the way."""
        encode = self.mapper.transcoder.encode
        stored = []
        for event in events:
            state = dict(vars(event))
            del state["originator_id"], state["originator_version"]
            stored.append(StoredEvent(event.originator_id, event.originator_version,
                                      get_topic(type(event)), encode(state)))
        positions = self.recorder.insert_events(stored, idempotency=idempotency)
        assert positions is not None and len(positions) == len(stored)
        return list(positions)

    def envelopes_of(self, drafts: Sequence[Envelope], positions: Sequence[int]
                     ) -> list[Envelope]:
        """The envelopes of the entries a round stored, from those the writer made for them
        (`drafts`, at no position yet) and the positions they were stored at."""
        for draft, position in zip(drafts, positions, strict=True):
            draft["position"], draft["leaf_index"] = position, position - 1
        return list(drafts)

    def prior_results(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], PriorResult]:
        """Idempotency keys already used, with the digest and positions they were used for."""
        return self.log_recorder.find_prior_results(keys)

    def close(self) -> None:
        """Stop the writer (failing what waits for it), then close the store."""
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.stop()
        super().close()


def envelopes(rows: Sequence[Row]) -> list[Envelope]:
    """The public envelopes of stored rows, built straight from each row's JSON, with no
    object an entry on the way."""
    loads = orjson.loads
    return [make_envelope(position, public_type(topic), stream, version, loads(stored))
            for position, stream, version, topic, stored in rows]
