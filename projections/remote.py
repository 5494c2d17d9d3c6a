"""The projections as an API process sees them when another process runs them
(`concord project`): positions, live copies and failures read from the database."""

from __future__ import annotations

import threading
import time

from concord.log.application import CoordinationLog
from concord.projections.rebuild import Rebuild, in_background
from concord.projections.registry import PROJECTIONS
from concord.projections.runner import FAILURES_TABLE, Status
from concord.projections.store import POSITIONS_TABLE, TABLES_TABLE, ProjectionStore

POLL_SECONDS = 0.02


class RemoteProjections:
    """What `ProjectionRunner` answers about its projections, for a process that does not
    run them: read from the tables the runner keeps, polled while a reader waits."""

    def __init__(self, log: CoordinationLog, store: ProjectionStore) -> None:
        self.log, self.store = log, store
        self.rebuilds: dict[str, Rebuild] = {}
        self._lock = threading.Lock()

    @property
    def status(self) -> dict[str, Status]:
        """Each projection's position, live copy and failure, as stored now."""
        reader = self.store.reader()
        suffixes = dict(reader.execute(f"SELECT name, suffix FROM {TABLES_TABLE}").fetchall())
        positions = dict(reader.execute(
            f"SELECT name, position FROM {POSITIONS_TABLE}").fetchall())
        try:
            failures = dict(reader.execute(
                f"SELECT name, failure FROM {FAILURES_TABLE}").fetchall())
        except Exception as e:
            if not self.store.database.missing_table(e):
                raise
            failures = {}
        found = {}
        for name in PROJECTIONS:
            suffix = str(suffixes.get(name, ""))
            found[name] = Status(name, int(positions.get(name + suffix, 0)), suffix,
                                 failures.get(name))
        return found

    def view(self, name: str) -> tuple[str, int]:
        """The suffix of the live tables of projection `name`, and their position."""
        status = self.status[name]
        return status.suffix, status.position

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        """Wait until projection `name` has reached `position`; False if it has not in time."""
        deadline = time.monotonic() + timeout
        while self.view(name)[1] < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def start_rebuild(self, name: str) -> Rebuild:
        """Rebuild projection `name` here, in the background; the process that runs the
        projections follows the swap."""
        return in_background(self.log, self.store, name, self.rebuilds, self._lock)

    def stop(self) -> None:
        """Nothing runs here to stop."""
