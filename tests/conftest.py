"""Shared fixtures: a real SQLite log in a temporary directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from concord.domain.envelope import Envelope
from concord.log.application import CoordinationLog
from tests.backends import Backend
from tests.postgres import database_url, fresh_schema

# The command line's consoles take their width from COLUMNS (and LINES) once, when first
# imported, and keep it. The tests that read its output give each invocation the width they
# need; a COLUMNS in the test process's own environment (a pytest-xdist worker starts with
# COLUMNS=80, LINES=24) would pin every console to it instead.
for _variable in ("COLUMNS", "LINES"):
    os.environ.pop(_variable, None)

# A pytest-xdist worker puts its working directory, the repository, first on PYTHONPATH; the
# processes the tests start (servers, command lines) would inherit it, and import the rooms
# (domain, log...) under their folder names there, as an installed Concord does not. They
# get the environment they get in a run without pytest-xdist.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _path = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if _path[0] == os.getcwd():
        del _path[0]
    if any(_path):
        os.environ["PYTHONPATH"] = os.pathsep.join(_path)
    else:
        os.environ.pop("PYTHONPATH", None)

RECORDER = "test-secretariat"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's SQLite log lives."""
    return tmp_path / "concord.db"


@pytest.fixture
def backend(db_path: Path) -> Backend:
    """Where the test's log is stored: a SQLite file. The contract tests of the log and the
    read side run on both backends (`parametrized_backend`)."""
    return Backend("sqlite", db_path)


def parametrized_backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    """The body of a `backend` fixture with params=BACKENDS: a SQLite file, or a fresh
    PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield Backend("sqlite", db_path)
        return
    url = database_url()
    with fresh_schema(url) as schema:
        yield Backend("postgres", db_path, url, schema)


@pytest.fixture
def log_env(backend: Backend) -> dict[str, str]:
    """The settings of the test's log."""
    return backend.log_env()


@pytest.fixture
def open_log(log_env: dict[str, str]) -> Iterator[Callable[[], CoordinationLog]]:
    """Opens the test's log (again); every log opened is closed at the end."""
    opened: list[CoordinationLog] = []

    def _open() -> CoordinationLog:
        log = CoordinationLog(log_env)
        opened.append(log)
        return log

    yield _open
    for log in opened:
        log.close()


@pytest.fixture
def log(open_log: Callable[[], CoordinationLog]) -> CoordinationLog:
    """A fresh, empty log."""
    return open_log()


def submit(log: CoordinationLog, type_: str, effective_date: str | None = None,
           **data: Any) -> Envelope:
    """Submit one event of `type_` with `data`, as the test secretariat."""
    raw: dict[str, Any] = {"type": type_, "data": data}
    if effective_date is not None:
        raw["effective_date"] = effective_date
    return log.submit(raw, recorded_by=RECORDER)


@pytest.fixture
def relacopaz(log: CoordinationLog) -> CoordinationLog:
    """A log where RELACOPAZ was established on 2023-09-12 and ALCONU-II held that day."""
    submit(log, "NetworkEstablished", "2023-09-12", network="RELACOPAZ",
           name="Latin American and Caribbean Network for Peacekeeping Cooperation")
    submit(log, "ConferenceScheduled", "2023-09-01", conference="ALCONU-II",
           title="II ALCONU", host_state="ARG", starts_on="2023-09-12")
    submit(log, "ConferenceHeld", "2023-09-12", conference="ALCONU-II")
    submit(log, "DeclarationAdopted", "2023-09-12", declaration="BUENOS-AIRES-2023",
           title="Buenos Aires Declaration", conference="ALCONU-II")
    return log


# In CI, property tests draw the same examples every run: a failure there is reproducible,
# never a matter of luck. Locally they explore new examples each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
