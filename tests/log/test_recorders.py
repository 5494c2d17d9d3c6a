"""eventsourcing's own recorder test cases, run against the recorders Concord configures,
on both backends.

The application recorder cases apply, and the non-interleaving case. The aggregate recorder
case does not: it expects inserts to return no notification ids, which no application
recorder does (eventsourcing's own fail it the same way). Nor do the tracking and process
recorder cases: Concord's projections keep their positions in their own tables
(projections/store.py), not in eventsourcing's tracking recorders.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)

from concord.log.application import CoordinationLog, sqlite_env
from tests.postgres import database_url, fresh_schema


class _OnSQLite:
    """A fresh SQLite log file per test; its recorder."""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self._stack = ExitStack()
        directory = self._stack.enter_context(tempfile.TemporaryDirectory())
        self._env = sqlite_env(Path(directory) / "concord.db")

    def tearDown(self) -> None:
        # Some cases leave reader threads finishing their last query: let them, before the
        # recorder's connections are closed under them.
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join(30)
        self._stack.close()
        super().tearDown()  # type: ignore[misc]

    def new_originator_id(self) -> str:
        return f"test:{uuid.uuid4()}"

    def create_recorder(self) -> Any:
        log = CoordinationLog(self._env)
        self._stack.callback(log.close)
        recorder: ApplicationRecorder = log.recorder
        return recorder


class _OnPostgres(_OnSQLite):
    """A fresh PostgreSQL schema per test; its recorder."""

    def setUp(self) -> None:
        from concord.log.postgres import postgres_env

        super().setUp()
        url = database_url()
        schema = self._stack.enter_context(fresh_schema(url))
        self._env = postgres_env(url, schema)


class TestSQLiteApplicationRecorder(_OnSQLite, ApplicationRecorderTestCase[Any]):
    pass


class TestSQLiteNonInterleaving(_OnSQLite, NonInterleavingNotificationIDsBaseCase):
    pass


class TestPostgresApplicationRecorder(_OnPostgres, ApplicationRecorderTestCase[Any]):
    pass


class TestPostgresNonInterleaving(_OnPostgres, NonInterleavingNotificationIDsBaseCase):
    pass
