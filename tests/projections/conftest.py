"""Fixtures for projections: a real log and the projection store beside it, on both
backends (ids `sqlite` and `postgres`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from concord.log.application import CoordinationLog
from concord.projections.projection import Projection
from concord.projections.runner import catch_up as run_to_end
from concord.projections.store import ProjectionStore
from tests.backends import BACKENDS, Backend
from tests.conftest import parametrized_backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    """A SQLite file, or a fresh PostgreSQL schema."""
    yield from parametrized_backend(request, db_path)


@pytest.fixture
def open_store(backend: Backend) -> Iterator[Callable[[], ProjectionStore]]:
    """Opens a projection store on the test's database; every one is closed at the end."""
    opened: list[ProjectionStore] = []

    def _open() -> ProjectionStore:
        store = ProjectionStore(backend.database())
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], ProjectionStore], log: CoordinationLog) -> ProjectionStore:
    """The projection store beside the test's log."""
    return open_store()


def rows(store: ProjectionStore, table: str) -> list[tuple[object, ...]]:
    """Every row of `table`, in a stable order."""
    return sorted((tuple(row) for row in store.reader().execute(f"SELECT * FROM {table}")),
                  key=str)


def catch_up(log: CoordinationLog, store: ProjectionStore, projection: Projection,
             page: int = 1_000) -> None:
    """Bring `projection` up to the end of the log, a page per transaction."""
    run_to_end(log, store, [projection], page)
