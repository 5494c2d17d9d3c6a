"""The projection runner: keeps every projection up with the log, in a thread of its own."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from concord.domain.envelope import Envelope
from concord.log.application import CoordinationLog
from concord.projections.projection import Projection
from concord.projections.rebuild import Rebuild, in_background
from concord.projections.store import ProjectionStore

logger = logging.getLogger(__name__)

PAGE = 2_000
FAILURES_TABLE = "concord_projection_failures"
POLL_SECONDS = 1.0
RETRY_SECONDS = 5.0


@dataclass
class Status:
    """Where a projection stands."""

    name: str
    position: int
    suffix: str = ""
    failure: str | None = None
    failed_at: float = 0.0


class ProjectionRunner:
    """Applies new entries to each projection, many per transaction, each projection with
    its own position. It starts from the stored positions (no replay on boot), is woken by
    the writer after each commit, and polls as a fallback for entries written by other
    processes. A projection that fails is reported and retried later; the log and the other
    projections go on."""

    def __init__(self, log: CoordinationLog, store: ProjectionStore,
                 projections: Sequence[Projection]) -> None:
        self.log = log
        self.store = store
        self.projections = list(projections)
        with store.transaction() as cursor:
            for projection in self.projections:
                projection.prepare(cursor)
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {FAILURES_TABLE} "
                           "(name TEXT PRIMARY KEY, failure TEXT NOT NULL)")
            cursor.execute(f"DELETE FROM {FAILURES_TABLE}")
        self.status = {p.name: Status(p.name, store.position(p.tracking_name), p.suffix)
                       for p in self.projections}
        self.rebuilds: dict[str, Rebuild] = {}
        self._rebuilding = threading.Lock()
        self._wake = threading.Event()
        self._caught_up = threading.Condition()
        self._stopping = False
        self._listeners: list[Callable[[str, int], None]] = []
        self._thread = threading.Thread(target=self._run, name="concord-projections",
                                        daemon=True)

    def start(self) -> None:
        """Start following the log."""
        self.log.writer.add_listener(self._on_commit)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the batch under way."""
        self._stopping = True
        self._wake.set()
        self.log.writer.remove_listener(self._on_commit)
        if self._thread.is_alive():
            self._thread.join(30)

    def _on_commit(self, envelopes: list[Envelope]) -> None:
        self._wake.set()

    def add_listener(self, listener: Callable[[str, int], None]) -> None:
        """Call `listener(name, position)` in the runner's thread each time projection
        `name` has advanced to `position` (it must be quick and must not raise)."""
        self._listeners.append(listener)

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        """Wait until projection `name` has reached `position`; False if it has not in time."""
        deadline = time.monotonic() + timeout
        with self._caught_up:
            while self.status[name].position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.set()
                self._caught_up.wait(remaining)
        return True

    def view(self, name: str) -> tuple[str, int]:
        """The suffix of the live tables of projection `name`, and their position."""
        with self._caught_up:
            status = self.status[name]
            return status.suffix, status.position

    def start_rebuild(self, name: str) -> Rebuild:
        """Rebuild projection `name` in the background (see `projections.rebuild`)."""
        return in_background(self.log, self.store, name, self.rebuilds, self._rebuilding,
                             then=self._wake.set)

    def _follow_swaps(self) -> None:
        """Serve the copy a rebuild (here or in another process) has made live."""
        live = self.store.suffixes()
        for index, projection in enumerate(self.projections):
            suffix = live.get(projection.name, "")
            if suffix != projection.suffix:
                fresh = type(projection)(suffix=suffix)
                position = self.store.position(fresh.tracking_name)
                # Bring the new copy at least as far as the one it replaces, so that no
                # read goes backwards.
                while position < self.status[projection.name].position:
                    envelopes = self.log.read(after=position, limit=PAGE)
                    if not envelopes:
                        break
                    with self.store.transaction() as cursor:
                        fresh.apply(cursor, envelopes)
                    position = envelopes[-1]["position"]
                self.projections[index] = fresh
                with self._caught_up:
                    status = self.status[projection.name]
                    status.suffix, status.position, status.failure = suffix, position, None
                    self._caught_up.notify_all()

    def _run(self) -> None:
        while not self._stopping:
            try:
                self._follow_swaps()
            except Exception:
                logger.exception("could not read which projection tables are live")
            busy = self._advance()
            if not busy:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()

    def _advance(self) -> bool:
        """Apply one page of new entries to every projection not waiting to retry; whether
        any had new entries. Projections at the same position (the usual case) share one
        read of the log and one transaction, each in a savepoint of its own, so that one
        that fails leaves the others' work standing."""
        now = time.monotonic()
        due: dict[int, list[Projection]] = {}
        for projection in self.projections:
            status = self.status[projection.name]
            if status.failure is None or now - status.failed_at >= RETRY_SECONDS:
                due.setdefault(status.position, []).append(projection)
        busy = False
        for position, group in sorted(due.items()):
            busy |= self._advance_group(position, group)
        return busy

    def _advance_group(self, position: int, group: list[Projection]) -> bool:
        advanced: list[Projection] = []
        failed: list[tuple[Projection, str]] = []
        try:
            envelopes = self.log.read(after=position, limit=PAGE)
            if not envelopes:
                return False
            with self.store.transaction() as cursor:
                for projection in group:
                    cursor.execute("SAVEPOINT projection")
                    try:
                        projection.apply(cursor, envelopes)
                    except Exception as e:
                        cursor.execute("ROLLBACK TO SAVEPOINT projection")
                        logger.exception("projection %s failed after position %d",
                                         projection.name, position)
                        failed.append((projection, f"{type(e).__name__}: {e}"))
                    else:
                        advanced.append(projection)
                    cursor.execute("RELEASE SAVEPOINT projection")
        except Exception as e:
            logger.exception("projections %s failed after position %d",
                             ", ".join(p.name for p in group), position)
            advanced, failed = [], [(p, f"{type(e).__name__}: {e}") for p in group]
        for projection, failure in failed:
            status = self.status[projection.name]
            status.failure, status.failed_at = failure, time.monotonic()
            self._record_failure(projection.name, failure)
        if not advanced:
            return False
        reached = envelopes[-1]["position"]
        recovered = []
        with self._caught_up:
            for projection in advanced:
                status = self.status[projection.name]
                if status.failure is not None:
                    recovered.append(projection.name)
                status.position, status.failure = reached, None
            self._caught_up.notify_all()
        for name in recovered:
            self._record_failure(name, None)
        for listener in self._listeners:
            for projection in advanced:
                listener(projection.name, reached)
        return True

    def _record_failure(self, name: str, failure: str | None) -> None:
        """Tell API processes elsewhere (see projections.remote) how the projection fares."""
        try:
            with self.store.transaction() as cursor:
                cursor.execute(f"DELETE FROM {FAILURES_TABLE} WHERE name=?", (name,))
                if failure is not None:
                    cursor.execute(f"INSERT INTO {FAILURES_TABLE} VALUES (?, ?)",
                                   (name, failure[:1000]))
        except Exception:
            logger.exception("could not record the state of projection %s", name)

    def wake(self) -> None:
        """Look for new entries now (another process committed some)."""
        self._wake.set()


def catch_up(log: CoordinationLog, store: ProjectionStore,
             projections: Sequence[Projection], page: int = PAGE) -> None:
    """Bring projections to the end of the log now, in this thread (for the command line),
    `page` entries per transaction."""
    with store.transaction() as cursor:
        for projection in projections:
            projection.prepare(cursor)
    for projection in projections:
        while True:
            envelopes = log.read(after=store.position(projection.tracking_name), limit=page)
            if not envelopes:
                break
            with store.transaction() as cursor:
                projection.apply(cursor, envelopes)
