"""Fixtures for projections: a real log and the projection store on the same SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from domain.log import CoordinationLog
from projections.projection import Projection
from projections.store import ProjectionStore


@pytest.fixture
def store(db_path: Path, log: CoordinationLog) -> Iterator[ProjectionStore]:
    projection_store = ProjectionStore(db_path)
    yield projection_store
    projection_store.close()


def catch_up(log: CoordinationLog, store: ProjectionStore, projection: Projection,
             page: int = 1_000) -> None:
    """Bring `projection` up to the end of the log, a page per transaction."""
    with store.transaction() as cursor:
        projection.create_tables(cursor)
    while True:
        envelopes = log.read(after=store.position(projection.tracking_name), limit=page)
        if not envelopes:
            return
        with store.transaction() as cursor:
            projection.apply(cursor, envelopes)


CatchUp = Callable[[Projection], None]
