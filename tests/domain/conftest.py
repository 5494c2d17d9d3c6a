"""The log's contract tests run on both backends: ids `sqlite` and `postgres`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.log import sqlite_env
from tests.postgres import database_url, fresh_schema


@pytest.fixture(params=["sqlite", "postgres"])
def log_env(request: pytest.FixtureRequest, db_path: Path) -> Iterator[dict[str, str]]:
    """Where the test's log is stored: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield sqlite_env(db_path)
        return
    from domain.pgstorage import postgres_env

    url = database_url()
    with fresh_schema(url) as schema:
        yield postgres_env(url, schema)
