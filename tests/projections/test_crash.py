"""A projection process killed in the middle of a batch resumes from its position, with
nothing counted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from concord.log.application import CoordinationLog
from concord.projections.rebuild import rebuild
from concord.projections.registry import PROJECTIONS, live
from concord.projections.runner import ProjectionRunner
from concord.projections.store import ProjectionStore
from tests.backends import Backend
from tests.conftest import RECORDER
from tests.projections.conftest import rows

RUNNER = textwrap.dedent("""
    import sys, threading
    import concord.projections.runner as runner_module
    from concord.projections.registry import PROJECTIONS, live
    from concord.projections.runner import ProjectionRunner
    from tests.backends import from_spec
    runner_module.PAGE = 97  # many small transactions, so the kill lands inside one
    log, store = from_spec(sys.argv[1])
    runner = ProjectionRunner(log, store, [live(store, n) for n in PROJECTIONS])
    runner.start()
    threading.Event().wait()
""")


def positions(store: ProjectionStore) -> dict[str, int]:
    return {name: int(position) for name, position in store.reader().execute(
        "SELECT name, position FROM concord_projection_positions").fetchall()}


def test_a_killed_projection_process_resumes_without_double_counting(
    log: CoordinationLog, backend: Backend, open_store: Callable[[], ProjectionStore]
) -> None:
    log.submit({"type": "NetworkEstablished", "data": {"network": "N", "name": "N"},
                "effective_date": "1990-01-01"}, recorded_by=RECORDER)
    states = ["ARG", "BRA", "URY", "PRY", "PER", "BOL", "CHL", "ECU", "COL", "MEX"]
    for year in range(30):
        log.submit_batch([
            {"type": "StateJoinedNetwork" if year % 2 == 0 else "StateLeftNetwork",
             "data": {"network": "N", "state": s, **({"role": "member"} if year % 2 == 0
                                                     else {})},
             "effective_date": f"{1991 + year}-01-01"} for s in states
        ] + [{"type": "DeclarationAdopted", "data": {"declaration": f"D{year}-{i}",
                                                     "title": "T"}} for i in range(200)],
            recorded_by=RECORDER)
    end = log.last_position()
    store = open_store()  # before the runner, so the positions table exists
    with subprocess.Popen([sys.executable, "-c", RUNNER, backend.spec()],
                          cwd=Path(__file__).parents[2]) as process:
        deadline = time.monotonic() + 60
        while min(positions(store).values(), default=0) < end // 3:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    stopped_at = positions(store)
    assert 0 < min(stopped_at.values()) < end

    runner = ProjectionRunner(log, store, [live(store, n) for n in PROJECTIONS])
    assert {n: s.position for n, s in runner.status.items()} == stopped_at
    runner.start()
    try:
        for name in PROJECTIONS:
            assert runner.wait_for(name, end, 30)
    finally:
        runner.stop()
    rebuild(log, store, "membership")
    rebuild(log, store, "history")
    for name, tables in (("membership", ("membership", "membership_changes")),
                         ("history", ("history",))):
        suffix = store.suffix(name)
        for table in tables:
            assert rows(store, table) == rows(store, table + suffix), table
