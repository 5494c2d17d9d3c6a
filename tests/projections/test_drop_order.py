"""A rebuild drops the copy of a read model it replaced while a late reader may still query
it (the reader then retries on the live copy). On PostgreSQL a query locks its tables in the
order it names them, and a drop locks each table it drops: they must take them in the same
order, or the two deadlock and the server aborts one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from concord.projections.conferences import Conferences
from concord.projections.declarations import Declarations
from concord.projections.membership import Membership
from concord.projections.projection import Projection
from concord.projections.store import ProjectionStore
from tests.backends import Backend
from tests.conftest import parametrized_backend


@pytest.fixture(params=["postgres"])
def backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    """PostgreSQL alone: SQLite runs one writer at a time, so a drop and a read there can
    only wait for each other."""
    yield from parametrized_backend(request, db_path)


# Every read that joins two tables of one copy, by the tables in the order it names them.
JOINS = [(Membership, "membership_boxes", "membership"),
         (Conferences, "delegations", "conferences"),
         (Declarations, "signatures", "declarations")]


@pytest.mark.parametrize(("kind", "first", "second"), JOINS,
                         ids=[kind.__name__ for kind, _, _ in JOINS])
def test_dropping_a_copy_waits_for_a_reader_of_it_and_never_deadlocks(
        kind: type[Projection], first: str, second: str, store: ProjectionStore,
        backend: Backend) -> None:
    copy = kind(suffix="_old")
    with store.transaction() as cursor:
        copy.prepare(cursor)
    dropped: list[BaseException | None] = []

    def drop() -> None:
        try:
            with store.transaction() as cursor:
                copy.drop_tables(cursor)
            dropped.append(None)
        except BaseException as e:
            dropped.append(e)

    reader_database = backend.database()
    connection = reader_database._connect()  # type: ignore[attr-defined]
    try:
        with connection.transaction():
            # The reader has locked the first table of its join, as a query does on its way
            # to the second...
            connection.execute(f"SELECT 1 FROM {first}_old LIMIT 1")
            dropper = threading.Thread(target=drop)
            dropper.start()
            dropper.join(0.5)
            assert dropper.is_alive(), "the drop did not wait for the reader of its copy"
            # ...and now reaches the second: had the drop taken it first, the server would
            # find a deadlock (after deadlock_timeout, 1 s by default) and abort one of them.
            connection.execute(f"SELECT 1 FROM {second}_old LIMIT 1")
        dropper.join(10)
        assert dropped == [None]
    finally:
        connection.close()
        reader_database.close()
