"""Builds the log and its database from Settings: the one place that knows how the parts
fit together."""

from __future__ import annotations

from concord.api.settings import Settings
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.db import Database, PostgresDatabase


def log_env(settings: Settings) -> dict[str, str]:
    """The log's storage settings: PostgreSQL if a database URL is set, else SQLite."""
    if settings.database_url:
        from concord.log.postgres import postgres_env

        return postgres_env(settings.database_url, settings.database_schema)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return sqlite_env(settings.sqlite_path)


def open_log(settings: Settings) -> CoordinationLog:
    """Open (creating if need be) the log the settings name."""
    return CoordinationLog(log_env(settings), max_commit_events=settings.max_commit_events)


def open_database(settings: Settings) -> Database:
    """A connection to the database of the read side and the keys: the log's own."""
    if settings.database_url:
        return PostgresDatabase(settings.database_url, settings.database_schema)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(settings.sqlite_path)
