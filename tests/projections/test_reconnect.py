"""The read side's writes outlive the loss of their PostgreSQL session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from concord.projections.store import ProjectionStore
from tests.backends import Backend
from tests.conftest import parametrized_backend


@pytest.fixture(params=["postgres"])
def backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    """PostgreSQL, whose server can end a session under the client."""
    yield from parametrized_backend(request, db_path)


def test_a_transaction_after_the_session_was_ended_gets_a_new_one(
    store: ProjectionStore, backend: Backend
) -> None:
    with store.transaction() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS marks (n INTEGER PRIMARY KEY)")
        cursor.execute("INSERT INTO marks VALUES (1)")
        pid = cursor.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(backend.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError), store.transaction() as cursor:
        cursor.execute("INSERT INTO marks VALUES (2)")  # this one is lost with the session
    with store.transaction() as cursor:
        cursor.execute("INSERT INTO marks VALUES (3)")
    assert [row[0] for row in store.reader().execute("SELECT n FROM marks ORDER BY n")] == [
        1, 3]


def test_two_processes_cannot_rebuild_one_projection_at_once(
    store: ProjectionStore, backend: Backend
) -> None:
    from concord.projections.locks import exclusive

    other = backend.database()  # as another process would connect
    try:
        with exclusive(store.database, "rebuild history"):
            with pytest.raises(RuntimeError, match="already"), \
                    exclusive(other, "rebuild history"):
                pass
            with exclusive(other, "rebuild membership"):
                pass  # another projection may be rebuilt meanwhile
        with exclusive(other, "rebuild history"):
            pass  # and this one again, once the first is done
    finally:
        other.close()
