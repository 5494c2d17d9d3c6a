"""Who may keep the read models up, and who may rebuild one: locks held across processes, on
PostgreSQL as advisory locks, on SQLite as a lock on a file beside the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from concord.log.schema import SCHEMA_LOCK
from concord.projections.db import Database, PostgresDatabase

PROJECTOR_LOCK = SCHEMA_LOCK + 1
"""Held (for a session) by the one process that keeps the read models up; with a second key
per projection, by the one that rebuilds it."""


def claim_projections(database: Database) -> Any | None:
    """The right to keep the read models up, or None if another process holds it: whoever
    holds it runs the projections; the others read what it writes. On PostgreSQL a session
    holding an advisory lock (per schema); on SQLite an exclusive lock on a file beside the
    database. Closing what this returns gives the right up; so does the process's end."""
    if not isinstance(database, PostgresDatabase):
        import fcntl

        handle = open(f"{database.path}.projections.lock", "a")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle
    connection = database._connect()
    row = connection.execute(
        "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))",
        (PROJECTOR_LOCK % 2**31,)).fetchone()
    if row is not None and row[0]:
        return connection  # held as long as this connection lives
    connection.close()
    return None


def still_claimed(claim: Any) -> bool:
    """Whether a claim from `claim_projections` still holds: on PostgreSQL the lock lives as
    long as its session, which the server may have ended."""
    if hasattr(claim, "execute"):
        try:
            claim.execute("SELECT 1")
        except Exception:
            return False
    return True


@contextmanager
def exclusive(database: Database, what: str) -> Iterator[None]:
    """Hold, across processes, the right to do `what` (e.g. rebuild one projection): on
    PostgreSQL an advisory lock for the duration, refused with RuntimeError if another
    process holds it; on SQLite nothing more (a rebuild's swap is one transaction there)."""
    if not isinstance(database, PostgresDatabase):
        yield
        return
    connection = database._connect()
    try:
        row = connection.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(current_schema() || %s))",
            (PROJECTOR_LOCK % 2**31 + 1, what)).fetchone()
        if row is None or not row[0]:
            raise RuntimeError(f"another process is already doing it: {what}")
        try:
            yield
        finally:
            # Unlocked here, not by closing the connection: the server frees a session's
            # locks only when its backend exits, which may be after the next process asks.
            # A session already lost holds nothing, and must not hide why the work failed.
            with suppress(database._psycopg.Error):
                connection.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(current_schema() || %s))",
                    (PROJECTOR_LOCK % 2**31 + 1, what))
    finally:
        connection.close()
