"""Fixtures for projections: a real log and the projection store on the same SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.log import CoordinationLog
from projections.projection import Projection
from projections.runner import catch_up as run_to_end
from projections.store import ProjectionStore


@pytest.fixture
def store(db_path: Path, log: CoordinationLog) -> Iterator[ProjectionStore]:
    projection_store = ProjectionStore(db_path)
    yield projection_store
    projection_store.close()


def catch_up(log: CoordinationLog, store: ProjectionStore, projection: Projection,
             page: int = 1_000) -> None:
    """Bring `projection` up to the end of the log, a page per transaction."""
    run_to_end(log, store, [projection], page)

