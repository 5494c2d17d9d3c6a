"""Rebuild on request: a fresh copy from position 0, beside the live one, then a swap.

The copy is built in transactions of its own while the live copy keeps serving reads and
following the log. When the copy has caught up, one transaction brings it to the end of the
log and makes it the live one; the copy it replaces is kept until the next rebuild, so that
reads under way never fail, and no read goes backwards (the new copy is at the end of the
log when it goes live).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from concord.log.application import CoordinationLog
from concord.projections.locks import exclusive
from concord.projections.projection import Projection
from concord.projections.registry import PROJECTIONS
from concord.projections.store import TABLES_TABLE, ProjectionStore

PAGE = 10_000

logger = logging.getLogger(__name__)


@dataclass
class Rebuild:
    """A rebuild under way, or the last one."""

    position: int = 0
    of: int = 0
    state: str = "running"  # then "done" or "failed: ..."


Progress = Callable[[int, int], None]


def rebuild(log: CoordinationLog, store: ProjectionStore, name: str,
            progress: Progress | None = None) -> int:
    """Rebuild projection `name` from position 0 and make it live; its position then."""
    return rebuild_many(log, store, [name], progress)


def rebuild_many(log: CoordinationLog, store: ProjectionStore, names: Sequence[str],
                 progress: Progress | None = None) -> int:
    """Rebuild the projections `names` together, reading the log once, and make them live
    together; their position then. Refused (RuntimeError) while another process rebuilds
    one of them."""
    with ExitStack() as held:
        for name in sorted(names):
            held.enter_context(exclusive(store.database, f"rebuild {name}"))
        return _rebuild_many(log, store, names, progress)


def _rebuild_many(log: CoordinationLog, store: ProjectionStore, names: Sequence[str],
                  progress: Progress | None) -> int:
    current = {name: store.suffix(name) for name in names}
    suffix = f"_{int(time.time() * 1000)}"
    fresh = [PROJECTIONS[name](suffix=suffix) for name in names]
    with store.transaction() as cursor:
        for name in names:
            row = cursor.execute(f"SELECT previous FROM {TABLES_TABLE} WHERE name=?",
                                 (name,)).fetchone()
            if row is not None and row[0] is not None and row[0] != current[name]:
                PROJECTIONS[name](suffix=row[0]).drop_tables(cursor)
        for projection in fresh:
            projection.drop_tables(cursor)
            projection.prepare(cursor, indexes=False)
    loaders = [projection.loader() for projection in fresh]
    position = 0
    while True:
        end = log.last_position()
        envelopes = log.read(after=position, limit=PAGE)
        if not envelopes:
            break
        with store.transaction() as cursor:
            for loader in loaders:
                loader.load(cursor, envelopes)
        position = envelopes[-1]["position"]
        if progress is not None:
            progress(position, end)
        if len(envelopes) < PAGE:
            break
    with store.transaction() as cursor:
        for loader in loaders:
            loader.finish(cursor)
    with store.transaction() as cursor:
        # The last entries and the swap together: nothing lands in between.
        while envelopes := log.read(after=position, limit=PAGE):
            for loader in loaders:
                loader.load(cursor, envelopes)
            position = envelopes[-1]["position"]
        for loader in loaders:
            loader.finish(cursor)
        cursor.executemany(
            f"INSERT INTO {TABLES_TABLE} VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "suffix=excluded.suffix, previous=excluded.previous",
            [(name, suffix, current[name]) for name in names])
    if progress is not None:
        progress(position, max(position, log.last_position()))
    return position


def in_background(log: CoordinationLog, store: ProjectionStore, name: str,
                  rebuilds: dict[str, Rebuild], lock: threading.Lock,
                  then: Callable[[], None] | None = None) -> Rebuild:
    """Rebuild projection `name` in a thread of its own, its progress in `rebuilds[name]`
    (one at a time per name: a rebuild under way is returned as it is); `then` runs when
    it ends."""
    with lock:
        under_way = rebuilds.get(name)
        if under_way is not None and under_way.state == "running":
            return under_way
        progress = rebuilds[name] = Rebuild(of=log.last_position())

    def report(position: int, end: int) -> None:
        progress.position, progress.of = position, end

    def build() -> None:
        try:
            rebuild(log, store, name, report)
            progress.state = "done"
        except Exception as e:
            logger.exception("rebuilding projection %s failed", name)
            progress.state = f"failed: {type(e).__name__}: {e}"
        if then is not None:
            then()

    threading.Thread(target=build, name=f"concord-rebuild-{name}", daemon=True).start()
    return progress


def load(log: CoordinationLog, store: ProjectionStore, projections: Sequence[Projection],
         page: int = PAGE) -> None:
    """Fill the fresh (empty) tables of `projections` from position 0 to the end of the
    log, as a rebuild does, their indexes built at the end."""
    with store.transaction() as cursor:
        for projection in projections:
            projection.prepare(cursor, indexes=False)
    loaders = [projection.loader() for projection in projections]
    position = 0
    while envelopes := log.read(after=position, limit=page):
        with store.transaction() as cursor:
            for loader in loaders:
                loader.load(cursor, envelopes)
        position = envelopes[-1]["position"]
    with store.transaction() as cursor:
        for loader in loaders:
            loader.finish(cursor)
