"""Waiting on a condition, never for a fixed time; and ports for test servers that no other
test process running at the same time is given."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def wait_for(produce: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
             what: str = "") -> T:
    """The first truthy value `produce` returns, polling until `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if value or time.monotonic() > deadline:
            assert value, f"timed out waiting{' for ' + what if what else ''}"
            return value
        time.sleep(interval)


# The ports test servers listen on: below the range the system hands out for outgoing
# connections (and for port 0), split into one slice per test process when pytest-xdist runs
# several, so that two processes are never given the same port, and a port just given out is
# not taken meanwhile by a connection to PostgreSQL or to another server.
_LOWEST = 10_000


def _ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def _worker_ports() -> Iterator[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    end = _ephemeral_start()
    size = (end - _LOWEST) // max(count, 1)
    if size < 16:  # no room below the ephemeral range: let the system choose
        return iter(())
    first = _LOWEST + index * size
    return itertools.cycle(range(first, first + size))


_ports = _worker_ports()


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on, or holds, now; this test process's own."""
    for _ in range(1000):
        port = next(_ports, 0)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))  # no SO_REUSEADDR: refused while held at all
            except OSError:
                if port == 0:
                    raise
                continue
            chosen: int = s.getsockname()[1]
            return chosen
    raise AssertionError("no free port in this test process's range")
