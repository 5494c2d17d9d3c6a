"""The two storage backends the contract tests run on: ids `sqlite` and `postgres`."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.db import Database, PostgresDatabase
from concord.projections.store import ProjectionStore

BACKENDS = ["sqlite", "postgres"]


@dataclass(frozen=True)
class Backend:
    """Where a test's log and read side are stored: a SQLite file, or a PostgreSQL schema."""

    name: str
    path: Path
    url: str = ""
    schema: str = ""

    def log_env(self) -> dict[str, str]:
        """The log's settings."""
        if self.name == "sqlite":
            return sqlite_env(self.path)
        from concord.log.postgres import postgres_env

        return postgres_env(self.url, self.schema)

    def database(self) -> Database:
        """A connection to the read side's database."""
        if self.name == "sqlite":
            return Database(self.path)
        return PostgresDatabase(self.url, self.schema)

    def spec(self) -> str:
        """The backend as one string, for a subprocess (see `from_spec`)."""
        return f"sqlite {self.path}" if self.name == "sqlite" else (
            f"postgres {self.url} {self.schema}")


def from_spec(spec: str) -> tuple[CoordinationLog, ProjectionStore]:
    """The log and projection store a `Backend.spec()` names."""
    name, *rest = spec.split(" ")
    backend = (Backend(name, Path(rest[0])) if name == "sqlite"
               else Backend(name, Path(), rest[0], rest[1]))
    return CoordinationLog(backend.log_env()), ProjectionStore(backend.database())


def example_backend(name: str, path: Path, stack: ExitStack) -> Backend:
    """A backend of its own for one example of a property test: the SQLite file `path`, or
    a fresh PostgreSQL schema, dropped when `stack` closes."""
    if name == "sqlite":
        return Backend("sqlite", path)
    from tests.postgres import database_url, fresh_schema

    url = database_url()
    return Backend("postgres", path, url, stack.enter_context(fresh_schema(url)))
