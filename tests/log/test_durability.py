"""A crash loses nothing that was acknowledged: kill -9 a writing process and reopen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from concord.log.application import CoordinationLog
from tests.backends import Backend

WRITER = textwrap.dedent("""
    import sys, threading
    from tests.backends import from_spec
    log, store = from_spec(sys.argv[1])
    lock = threading.Lock()
    def submitter(t):
        for i in range(100000):
            e = log.submit({"type": "DeclarationAdopted",
                            "data": {"declaration": f"D-{t}-{i}", "title": "t"}},
                           recorded_by="crash-test")
            with lock:
                print(e["position"], e["data"]["declaration"], flush=True)
    for t in range(8):
        threading.Thread(target=submitter, args=(t,), daemon=True).start()
    threading.Event().wait()
""")


def test_every_acknowledged_event_survives_a_kill(backend: Backend) -> None:
    acknowledged = []
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, backend.spec()], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).parents[2],
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            acknowledged.append(line.split())
            if len(acknowledged) == 2000:
                break
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        # A line cut short by the kill was never seen by the submitter as acknowledged.
        acknowledged += [line.split() for line in process.stdout if line.endswith("\n")]

    log = CoordinationLog(backend.log_env())
    try:
        stored = {e["position"]: e["data"]["declaration"]
                  for e in log.read(limit=10_000)}
        last = log.last_position()
    finally:
        log.close()
    assert len(acknowledged) >= 2000
    for position, code in acknowledged:
        assert stored[int(position)] == code
    assert sorted(stored) == list(range(1, last + 1))
