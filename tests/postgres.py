"""PostgreSQL for the tests: a fresh schema per test in the database named by
CONCORD_TEST_DATABASE_URL (default: the local server's `test` database).

Where no server answers, the PostgreSQL tests are skipped with the reason, except under CI
(`CI` set), where they fail: CI must run them.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def database_url() -> str:
    """The test database's URL; skips (or, under CI, fails) the test if it cannot be used."""
    url = os.environ.get("CONCORD_TEST_DATABASE_URL", DEFAULT_URL)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the dev extra installs it
        _unavailable("psycopg is not installed (pip install -e '.[dev]')")
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        _unavailable(f"no PostgreSQL at {url} ({str(e).strip().splitlines()[0]}); set "
                     "CONCORD_TEST_DATABASE_URL to run the PostgreSQL tests")
    return url


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests must run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


_schemas = itertools.count(1)


def _schema_name() -> str:
    """A schema name no other test of this run, in this process or another, can be given:
    the test process (the pytest-xdist worker, `gw0`, `gw1`...; `main` when not
    distributed), a count within it, and random hex so that the names of an earlier run
    left in the same database (killed before dropping them) are not taken up again."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"concord_test_{worker}_{next(_schemas)}_{uuid.uuid4().hex[:12]}"


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new, empty schema, dropped afterwards."""
    import psycopg
    from psycopg.sql import SQL, Identifier

    schema = _schema_name()
    try:
        yield schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))
