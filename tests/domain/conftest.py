"""The contract tests of the model, through the log, run on both backends: ids `sqlite` and
`postgres`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import BACKENDS, Backend
from tests.conftest import parametrized_backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    """A SQLite file, or a fresh PostgreSQL schema."""
    yield from parametrized_backend(request, db_path)
