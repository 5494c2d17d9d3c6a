"""The one writer of a process: group commit of concurrent submissions.

Submitters hand their submissions to the writer and wait. The writer takes everything that is
waiting, applies each submission to its cached aggregate (refusing the invalid ones one by
one, and undoing a refused batch as a whole), then saves every accepted event, in the order
it was accepted, in one transaction. Throughput then grows with load instead of being capped
at one commit per request.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from eventsourcing.persistence import IntegrityError

from concord.domain.catalogue import Submission
from concord.domain.commands import execute, referenced_streams
from concord.domain.envelope import MAX_LEAF_BYTES, MAX_POSITION, Envelope, leaf_size, make_envelope
from concord.domain.errors import (
    BatchRefused,
    ConcordError,
    Contradiction,
    FieldProblem,
    IdempotencyKeyReused,
    InvalidSubmission,
    LogUnavailable,
)
from concord.domain.stream import Entry, Stream
from concord.log.port import IdempotencyRecord, LogStore

logger = logging.getLogger(__name__)

COMMIT_ATTEMPTS = 10  # several processes appending to one stream conflict now and then
STALE_READ_LIMIT = 10_000
GATHER_LIMIT = 0.002
# Rounds this large read the streams they miss in one query; smaller ones read each miss
# on its own, which costs less than finding every stream a round refers to. On a database
# server each read is a round trip (about 0.2 ms here), so there every round of two or more
# reads its misses in one query.
PREFETCH_FROM = 64
PREFETCH_FROM_SERVER = 2


class _Done:
    """A one-shot signal from the writer to one waiting submitter."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        self._lock.release()

    def wait(self) -> None:
        self._lock.acquire()


class _AsyncDone:
    """The same signal for a submitter awaiting on an asyncio event loop."""

    __slots__ = ("_future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._future: asyncio.Future[None] = loop.create_future()

    def resolve(self) -> None:
        """On the loop: wake the awaiting submitter."""
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self) -> None:
        await self._future


def idempotency_scope(recorded_by: str) -> str:
    """Whose idempotency keys a recorder shares: its own, except that every command-line
    recorder (`cli:NAME`) shares one scope, so a file recorded twice is recorded once
    whatever name is given."""
    return "cli:" if recorded_by.startswith("cli:") else recorded_by


@dataclass(eq=False)
class _Job:
    submissions: Sequence[Submission]
    recorded_by: str
    key: str | None
    batch: bool
    # Checked as it would be recorded, then put back: nothing is appended.
    dry_run: bool = False
    fingerprint: str = ""
    # Held until the writer has answered: a bare lock wakes its waiter faster than an Event.
    done: _Done | _AsyncDone = field(default_factory=lambda: _Done())
    result: list[Envelope] | None = None
    error: ConcordError | None = None
    span: tuple[int, int] = (0, 0)
    replay: list[int] | None = None
    leader: _Job | None = None
    effects: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.result = self.error = self.replay = self.leader = None
        self.span = (0, 0)
        self.effects = []

    @property
    def replayed(self) -> bool:
        """Whether the answer is an earlier result for the same idempotency key."""
        return self.replay is not None or self.leader is not None

    def outcome(self) -> list[Envelope]:
        """The envelopes, or the error raised."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class _RoundStreams:
    """The writer's cache as one job sees it, able to put back what the job changed.

    Each aggregate is snapshotted (cheaply: its parts are replaced, never changed in place)
    when the job first touches it. Once the job's submissions are applied, `check` compares
    each aggregate with its snapshot: a change that breaks a rule anywhere in the record (a
    join that changes nothing because of an earlier back-dated entry, say) refuses the job,
    and `undo` puts the snapshots back. A batch is checked as a whole, so that entries which
    are only consistent together (a join and a leave inserted into the past) are accepted.
    """

    def __init__(self, writer: Writer, round_events: list[Stream.Event], batch: bool) -> None:
        self.writer = writer
        self.round_events = round_events
        self.batch = batch
        self.index = 0  # the submission of the job being applied
        self.before: dict[str, tuple[int, Stream | None, int]] = {}

    def _remember(self, stream_id: str, aggregate: Stream | None) -> None:
        if stream_id not in self.before:
            version = aggregate.version if aggregate is not None else 0
            kept = aggregate.snapshot() if aggregate is not None else None
            self.before[stream_id] = (version, kept, self.index)

    def get(self, stream_id: str) -> Stream | None:
        aggregate = self.writer.cached(stream_id)
        self._remember(stream_id, aggregate)
        return aggregate

    def add(self, stream: Stream) -> None:
        self._remember(stream.id, None)
        self.writer.cache[stream.id] = stream
        self.writer.created[stream.id.lower()] = stream.id

    def replace(self, stream: Stream) -> None:
        self._remember(stream.id, self.writer.cache.get(stream.id))
        self.writer.cache[stream.id] = stream

    def entry_at(self, position: int) -> tuple[str, int, str] | None:
        return self.writer.log.entry_at(position)

    def events_of(self, stream_id: str) -> list[Stream.Event]:
        committed = self.writer.log.events_of(stream_id)
        return committed + [e for e in self.round_events if e.originator_id == stream_id]

    def codes(self, prefix: str) -> list[str]:
        start = prefix + ":"
        pending = [sid for sid in self.writer.created.values() if sid.startswith(start)
                   and self.writer.cache.get(sid) is not None]
        found = set(self.writer.log.stream_codes(prefix)) | {
            sid.partition(":")[2] for sid in pending}
        return sorted(found)

    def same_but_case(self, stream_id: str) -> list[str]:
        pending = self.writer.created.get(stream_id.lower())
        found = self.writer.log.same_but_case(stream_id)
        if pending is not None and pending != stream_id and self.writer.cache.get(pending):
            found.append(pending)
        return found

    def check(self, start: int) -> None:
        """Refuse the job if it broke a rule anywhere in the record of a stream it changed
        (for a batch, naming the submission the broken rule is about, if it is in the
        batch; else the first that changed that stream)."""
        for stream_id, (_, kept, index) in self.before.items():
            current = self.writer.cache.get(stream_id)
            if current is None:
                continue
            problem = current.new_problem(kept)
            if problem is None:
                continue
            if not self.batch:
                raise problem
            mine = {(e.originator_id, e.originator_version): i
                    for i, e in enumerate(self.round_events[start:])}
            for ref in problem.entries.values():
                if (ref.stream, ref.version) in mine:
                    index = mine[ref.stream, ref.version]
                    break
            raise BatchRefused(index, problem)

    def effects(self) -> list[dict[str, Any]]:
        """What the job changes in what the record says, by the aggregates it changed."""
        found: list[dict[str, Any]] = []
        for stream_id, (_, kept, _) in self.before.items():
            current = self.writer.cache.get(stream_id)
            if current is not None:
                found += current.effects(kept)
        return found

    def undo(self) -> None:
        """Put every aggregate this job changed back as it was before the job."""
        cache = self.writer.cache
        for stream_id, (version, kept, _) in self.before.items():
            current = cache.get(stream_id)
            if version == 0:
                cache[stream_id] = None
                # Only the job's own creation: another job of the round may have created a
                # stream whose id differs in case alone.
                if self.writer.created.get(stream_id.lower()) == stream_id:
                    del self.writer.created[stream_id.lower()]
            elif kept is not None:
                cache[stream_id] = kept
            elif current is None or current.version != version:
                # Changed by a fault, not by a rule: forget it, to be read again.
                cache.pop(stream_id, None)


@dataclass
class _Round:
    """What one try at a round has accepted so far."""

    events: list[Stream.Event] = field(default_factory=list)
    # Each event's envelope, built once: its leaf's size checked before the round is
    # stored, its position given once it is.
    drafts: list[Envelope] = field(default_factory=list)
    records: list[IdempotencyRecord] = field(default_factory=list)
    accepted: list[_Job] = field(default_factory=list)
    # Refusals naming an entry accepted earlier in this round: its position is known once
    # the round is stored.
    located: list[tuple[Contradiction, dict[str, int]]] = field(default_factory=list)


class Writer:
    """Owns the write path of one process; see the module's docstring."""

    def __init__(
        self, log: LogStore, *, max_commit_events: int = 10_000, cache_size: int = 10_000
    ) -> None:
        self.log = log
        self.max_commit_events = max_commit_events
        # The largest leaf an entry may have; the catalogue's bounds keep every entry it
        # accepts below it, and this is the last check, on the entry as it will be stored.
        self.max_leaf_bytes = MAX_LEAF_BYTES
        self.cache_size = cache_size
        # stream id -> its aggregate, or None for a stream known to have no entries yet
        self.cache: dict[str, Stream | None] = {}
        # case-folded stream id -> stream id, of the streams this writer has created and
        # not yet seen committed: a new code must differ from them in more than case.
        self.created: dict[str, str] = {}
        self._queue: list[_Job] = []
        self._condition = threading.Condition()
        self._stopping = False
        self._expected = 0
        self._saved = False  # whether the round under way has been committed
        self._last_position: int | None = None  # the log's end as this writer last saw it
        self._stored: list[Envelope] = []  # the round's envelopes, announced once committed
        self._thread = threading.Thread(target=self._run, name="concord-writer", daemon=True)
        self.commits = 0
        self.committed_events = 0
        self._listeners: list[Callable[[list[Envelope]], None]] = []

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the round under way, refuse what is still queued, and stop."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the writer accepts submissions."""
        return self._thread.is_alive() and not self._stopping

    def cached(self, stream_id: str) -> Stream | None:
        """The aggregate from the cache, loading it from the store on a miss."""
        if stream_id in self.cache:
            return self.cache[stream_id]
        aggregate = self.log.load(stream_id)
        self.cache[stream_id] = aggregate
        return aggregate

    def _prefetch(self, jobs: list[_Job]) -> None:
        """Load, in one query, every stream the round refers to that is not cached."""
        missing = {
            stream_id
            for job in jobs
            for submission in job.submissions
            for stream_id in referenced_streams(submission)
            if stream_id not in self.cache
        }
        if missing:
            found = self.log.load_many(sorted(missing))
            for stream_id in missing:
                self.cache[stream_id] = found.get(stream_id)

    def submit(
        self,
        submissions: Sequence[Submission],
        recorded_by: str,
        key: str | None,
        *,
        batch: bool,
    ) -> list[Envelope]:
        """Queue the submissions as one unit and wait for the writer's answer."""
        job = self._enqueue(_Job(submissions, recorded_by, key, batch))
        assert isinstance(job.done, _Done)
        job.done.wait()
        return job.outcome()

    async def submit_async(
        self,
        submissions: Sequence[Submission],
        recorded_by: str,
        key: str | None,
        *,
        batch: bool,
    ) -> list[Envelope]:
        """The same, awaited on the running event loop instead of blocking a thread."""
        envelopes, _ = await self.submit_async_replayed(submissions, recorded_by, key,
                                                        batch=batch)
        return envelopes

    async def submit_async_replayed(
        self,
        submissions: Sequence[Submission],
        recorded_by: str,
        key: str | None,
        *,
        batch: bool,
    ) -> tuple[list[Envelope], bool]:
        """`submit_async`, and whether the answer is an earlier result (an idempotent retry)."""
        done = _AsyncDone(asyncio.get_running_loop())
        job = self._enqueue(_Job(submissions, recorded_by, key, batch, done=done))
        await done.wait()
        return job.outcome(), job.replayed

    async def dry_run_async(
        self,
        submissions: Sequence[Submission],
        recorded_by: str,
        key: str | None,
        *,
        batch: bool,
    ) -> DryRun:
        """Check the submissions as `submit_async` would, against the record as it stands
        when the writer takes them, and append nothing: the envelopes they would have (at
        the positions they would take now) and what they would change, or the error the
        submission would get. With an idempotency key already used for the same
        submissions, the earlier result (`replayed`)."""
        done = _AsyncDone(asyncio.get_running_loop())
        job = self._enqueue(_Job(submissions, recorded_by, key, batch, dry_run=True,
                                 done=done))
        await done.wait()
        return DryRun(job.outcome(), job.replayed, job.effects)

    def _enqueue(self, job: _Job) -> _Job:
        if job.key is not None:
            job.fingerprint = _fingerprint(job.submissions, job.batch)
        with self._condition:
            if self._stopping or not self._thread.is_alive():
                raise LogUnavailable("the log's writer is not running; nothing was appended")
            self._queue.append(job)
            # Wake the writer when it is idle or has gathered what it waits for, not at
            # every arrival: each needless wake-up costs the writer a turn at the GIL.
            if len(self._queue) == 1 or len(self._queue) >= self._expected:
                self._condition.notify()
        return job

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            # However the loop ends, nobody may be left waiting for it.
            with self._condition:
                self._stopping = True
                jobs, self._queue = self._queue, []
            self._fail(jobs, "the log's writer has stopped; nothing was appended")

    def _loop(self) -> None:
        # Submitters released by one round usually submit again at once. Waiting briefly for
        # them (never longer than a commit takes, at most GATHER_LIMIT) merges the groups
        # that would otherwise alternate, each paying for a commit of its own.
        gather = 0.0
        while True:
            with self._condition:
                while not self._queue and not self._stopping:
                    self._condition.wait()
                deadline = time.monotonic() + gather
                while len(self._queue) < self._expected and not self._stopping:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._condition.wait(remaining)
                if self._stopping:
                    jobs, self._queue = self._queue, []
                    self._fail(jobs, "the log is closing; nothing was appended")
                    return
                jobs = self._take()
            started = time.monotonic()
            self._commit(jobs)
            gather = min(time.monotonic() - started, GATHER_LIMIT)
            with self._condition:
                self._expected = len(jobs) + len(self._queue)
            self._trim_cache()

    def _take(self) -> list[_Job]:
        taken, count = 0, 0
        for job in self._queue:
            if taken and count + len(job.submissions) > self.max_commit_events:
                break
            taken += 1
            count += len(job.submissions)
        jobs, self._queue = self._queue[:taken], self._queue[taken:]
        return jobs

    def _commit(self, jobs: list[_Job]) -> None:
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            for job in jobs:
                job.reset()
            self._stored = []
            try:
                with self.log.exclusive_round():
                    self._attempt(jobs)
            except IntegrityError:
                # Another process appended to a stream we hold: reload and try again, after
                # a pause that grows, and differs between processes, so that they part.
                self.cache.clear()
                logger.info("commit conflicted with another writer (attempt %d)", attempt)
                time.sleep(random.uniform(0, 0.002 * attempt))
                continue
            except Exception:
                self.cache.clear()
                logger.exception("the writer failed on a round of %d submissions", len(jobs))
                if self._saved:
                    self._fail(jobs, "the log failed after storing the round: the submission "
                                     "may have been appended; read the log before retrying")
                else:
                    self._fail(jobs, "the log could not store the submission; nothing was "
                                     "appended")
                return
            if self._stored:
                self.commits += 1
                self.committed_events += len(self._stored)
                self._announce(self._stored)
            _answer(jobs)
            return
        self._fail(jobs, "the log kept conflicting with another writer; nothing was appended")

    @staticmethod
    def _fail(jobs: list[_Job], reason: str) -> None:
        for job in jobs:
            job.error = LogUnavailable(reason)
        _answer(jobs)

    def _forget_streams_written_since(self, seen: int | None, end: int) -> None:
        """Drop the cached aggregates of the streams another process appended to between
        positions `seen` and `end` (all of them, if that is too many to read)."""
        if seen is None or end - seen > STALE_READ_LIMIT or end < seen:
            self.cache.clear()
            return
        for stream_id in self.log.streams_written(after=seen, upto=end):
            self.cache.pop(stream_id, None)

    def _attempt(self, jobs: list[_Job]) -> None:
        """One try at a round: apply every job to the cached aggregates, store what was
        accepted in one transaction, and answer each job (its envelopes or its error)."""
        self._saved = False
        self._refresh_cache()
        keyed = {(idempotency_scope(job.recorded_by), job.key) for job in jobs
                 if job.key is not None}
        prior = self.log.prior_results(sorted(keyed)) if keyed else {}
        leaders: dict[tuple[str, str], _Job] = {}
        round_ = _Round()
        self.created = {}
        now = datetime.now(UTC)
        threshold = PREFETCH_FROM if self.log.commit_channel is None else PREFETCH_FROM_SERVER
        if sum(len(job.submissions) for job in jobs) >= threshold:
            self._prefetch(jobs)

        for job in jobs:
            scoped = ((idempotency_scope(job.recorded_by), job.key) if job.key is not None
                      else None)
            if scoped is not None:
                if scoped in prior:
                    if prior[scoped].fingerprint != job.fingerprint:
                        job.error = _reused(job.key)
                    else:
                        job.replay = prior[scoped].positions
                    continue
                if scoped in leaders:
                    job.leader = leaders[scoped]
                    continue
            start = len(round_.events)
            if not self._apply(job, round_, now):
                continue
            round_.accepted.append(job)
            if scoped is not None:
                leaders[scoped] = job
                round_.records.append(IdempotencyRecord(*scoped, job.fingerprint, start,
                                                        len(round_.events)))

        # Read what retries answer before saving: once the round is saved, nothing may fail.
        for job in jobs:
            if job.replay is not None:
                job.result = self.log.envelopes_at(job.replay)
        if round_.events:
            self._store(round_)
        for job in jobs:
            if job.leader is not None:
                if job.leader.fingerprint != job.fingerprint:
                    job.error = _reused(job.key)
                elif job.leader.error is not None:
                    job.error = job.leader.error
                else:
                    job.result = job.leader.result

    def _refresh_cache(self) -> None:
        """Another process (a second server, the command line) may have appended since this
        writer last looked: then the cached aggregates may be stale, so start afresh."""
        end = self.log.last_position()
        if end != self._last_position:
            self._forget_streams_written_since(self._last_position, end)
            self._last_position = end

    def _apply(self, job: _Job, round_: _Round, now: datetime) -> bool:
        """Apply a job's submissions to their aggregates and check the rules over time;
        whether it was accepted (its events then appended to the round's), else its error
        is set and the aggregates are as they were."""
        events, drafts = round_.events, round_.drafts
        start = len(events)
        streams = _RoundStreams(self, events, job.batch)
        base = (self._last_position or 0) + start  # the position before the job's first
        latest = (now.astimezone(UTC) + timedelta(days=1)).date().isoformat()
        try:
            for index, submission in enumerate(job.submissions):
                streams.index = index
                entry = Entry(submission.effective_date_or(now), submission.source,
                              job.recorded_by, latest)
                try:
                    aggregate = execute(submission, entry, streams)
                    new: list[Stream.Event] = aggregate.collect_events()  # type: ignore[assignment]
                    made = [make_envelope(MAX_POSITION, type(event).__name__,
                                          event.originator_id, event.originator_version,
                                          vars(event)) for event in new]
                    _require_leaf_fits(new, made, self.max_leaf_bytes)
                except ConcordError as e:
                    raise BatchRefused(index, e) if job.batch else e from None
                events.extend(new)
                drafts.extend(made)
            streams.check(start)
            if job.dry_run:
                # Accepted as it would be, then put back as if refused, with no error.
                job.effects = streams.effects()
                job.result = [{**draft, "position": base + i + 1, "leaf_index": base + i}
                              for i, draft in enumerate(drafts[start:])]
                streams.undo()
                del events[start:], drafts[start:]
                return False
        except ConcordError as e:
            self._locate(e, events, start, round_.located)
            streams.undo()
            del events[start:], drafts[start:]
            job.error = e
            return False
        except Exception:
            # A fault of ours, not of the submission: refuse this one alone.
            logger.exception("the writer failed to apply a submission")
            streams.undo()
            del events[start:], drafts[start:]
            job.error = LogUnavailable("the log failed to apply this submission (an "
                                       "internal error, logged); nothing was appended")
            return False
        job.span = (start, len(events))
        return True

    def _store(self, round_: _Round) -> None:
        """Store the round's events and keys in one transaction, and give each accepted job
        its envelopes."""
        try:
            positions = self.log.store_round(round_.events, round_.records)
        except Exception:
            self.cache.clear()
            raise
        # Committed: from here on a failure must not say that nothing was appended.
        self._saved = True
        self._last_position = positions[-1]
        envelopes = self.log.envelopes_of(round_.drafts, positions)
        for job in round_.accepted:
            job.result = envelopes[job.span[0]:job.span[1]]
        for contradiction, pending in round_.located:
            _name_entries(contradiction, {
                name: envelopes[index]["position"] for name, index in pending.items()})
        # Announced once the round has committed (on PostgreSQL the round's transaction
        # ends after this): a listener never hears of an entry a reader cannot see yet,
        # nor of one that a failed commit took back.
        self._stored = envelopes

    def _locate(self, error: ConcordError, events: list[Stream.Event], start: int,
                later: list[tuple[Contradiction, dict[str, int]]]) -> None:
        """Name the entries a refusal refers to: by position if committed (or accepted
        earlier in this round: then once the round is stored), by index if in the refused
        job itself."""
        cause = error.cause if isinstance(error, BatchRefused) else error
        if not isinstance(cause, Contradiction):
            return
        index_of = {(e.originator_id, e.originator_version): i for i, e in enumerate(events)}
        describe, positions, pending = {}, {}, {}
        for name, ref in cause.entries.items():
            i = index_of.get((ref.stream, ref.version))
            if i is not None and i >= start:
                describe[name] = (f"submission {i - start} of this batch"
                                  if isinstance(error, BatchRefused) else "this entry")
            elif i is not None:
                pending[name] = i
            else:
                position = self.log.position_of(ref.stream, ref.version)
                if position is not None:
                    positions[name] = position
        cause.locate({**describe, **{n: f"position {p}" for n, p in positions.items()},
                      **{n: "an entry of this round" for n in pending}}, positions)
        if pending:
            later.append((cause, pending))

    def add_listener(self, listener: Callable[[list[Envelope]], None]) -> None:
        """Call `listener` with the envelopes of each commit, in order, on the writer thread.

        A listener must return at once (hand the envelopes on, never wait): the writer
        waits for it.
        """
        # Replaced, never changed in place: the writer thread may be iterating the old list.
        self._listeners = [*self._listeners, listener]

    def remove_listener(self, listener: Callable[[list[Envelope]], None]) -> None:
        """Stop calling `listener` (if it was being called)."""
        self._listeners = [known for known in self._listeners if known is not listener]

    def _announce(self, envelopes: list[Envelope]) -> None:
        for listener in self._listeners:
            try:
                listener(envelopes)
            except Exception:
                logger.exception("a commit listener failed; the commit stands")

    def _trim_cache(self) -> None:
        excess = len(self.cache) - self.cache_size
        if excess > 0:
            for stream_id in list(self.cache)[:excess]:
                del self.cache[stream_id]


@dataclass(frozen=True)
class DryRun:
    """What a dry run found: the envelopes the submissions would have, whether they are an
    earlier result for the same idempotency key (then nothing would be appended), and what
    they would change (`Stream.effects`)."""

    envelopes: list[Envelope]
    replayed: bool
    effects: list[dict[str, Any]]


def _answer(jobs: list[_Job]) -> None:
    """Wake every job's submitter: threads one by one, each event loop once for all its jobs
    (every wake-up of a loop from another thread costs a system call)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_AsyncDone]] = {}
    for job in jobs:
        if isinstance(job.done, _AsyncDone):
            by_loop.setdefault(job.done.loop, []).append(job.done)
        else:
            job.done.set()
    for loop, dones in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_all, dones)
        except RuntimeError:
            logger.warning("a submitter's event loop closed before its answer")


def _resolve_all(dones: list[_AsyncDone]) -> None:
    for done in dones:
        done.resolve()


def _name_entries(contradiction: Contradiction, found: dict[str, int]) -> None:
    """Put the positions of entries committed with this round into a refusal's message."""
    contradiction.locate({name: f"position {p}" for name, p in found.items()}, found)


def _require_leaf_fits(events: Sequence[Stream.Event], envelopes: Sequence[Envelope],
                       limit: int) -> None:
    """Refuse an entry whose leaf could take more than `limit` bytes (its envelope made at
    the largest position), naming its largest part (a field of its data, or its source)."""
    for event, envelope in zip(events, envelopes, strict=True):
        size = leaf_size(envelope)
        if size <= limit:
            continue
        parts = {f"data.{name}": len(orjson.dumps(value)) for name, value in event.data.items()}
        if event.source is not None:
            parts["source"] = len(orjson.dumps(event.source))
        largest = max(parts, key=parts.__getitem__)
        raise InvalidSubmission([FieldProblem(
            largest, f"the entry would take {size:,} bytes in the log's Merkle tree, more than "
            f"the {limit:,} a leaf may have (a tlog-tiles entry bundle's limit); its largest "
            f"part is {largest} ({parts[largest]:,} bytes): shorten it")])


def _reused(key: str | None) -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        f"idempotency key {key!r} was already used for a different submission; use a new key "
        "for a new submission"
    )


def _fingerprint(submissions: Sequence[Submission], batch: bool) -> str:
    parts = [s.fingerprint() for s in submissions]
    return ("batch:" if batch else "one:") + ",".join(parts)
