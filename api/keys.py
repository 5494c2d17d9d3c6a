"""API keys: random bearer tokens, stored only as hashes, in a table of the log's database."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from concord.domain.catalogue import NAME
from concord.projections.db import (
    Cursor,
    Database,
    PostgresDatabase,
    Reader,
    is_postgres,
    listen,
)

KEYS_TABLE = "concord_api_keys"
NAME_PATTERN = re.compile(NAME)
_TOKEN = re.compile(r"cnc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class Role(IntEnum):
    """What a key may do; each role may do everything the lower ones may."""

    reader = 1
    recorder = 2
    admin = 3


@dataclass(frozen=True)
class ApiKey:
    """A key as stored: never its token."""

    name: str
    role: Role
    created_at: str
    revoked_at: str | None

    def public(self) -> dict[str, str | None]:
        """The key as shown to administrators."""
        return {"name": self.name, "role": self.role.name, "created_at": self.created_at,
                "revoked_at": self.revoked_at}


class KeyError_(ValueError):
    """A key operation that cannot be done, with the reason."""


class KeyStore:
    """API keys in the log's database (its SQLite file, or its PostgreSQL schema).

    A token is `cnc_<key id>_<secret>`: the key id finds the row, and the SHA-256 of the
    whole token is compared with the stored one in constant time. The token itself is shown
    once, at creation, and stored nowhere.

    Authentication keeps the rows it has read, so that a request with a known key reads
    nothing from the database, for as long as nothing says the keys changed: every process
    that changes a key says so once its transaction has committed (on SQLite by replacing a
    small file beside the database, which each check looks at; on PostgreSQL by a
    notification on the keys' channel), and a row is never kept longer than `KEPT_SECONDS`
    in any case (a process that died between its commit and its signal). So a revocation,
    even by another process, applies to the next request once it has returned (on
    PostgreSQL, once its notification has arrived, about a millisecond later).
    """

    KEPT_SECONDS = 1.0
    KEPT_KEYS = 10_000

    def __init__(self, database: Database | Path) -> None:
        self.database = database if isinstance(database, Database) else Database(database)
        # key id -> (its row, when it was read); valid while the signal is as it was.
        self._rows: dict[str, tuple[Any, float]] = {}
        self._signal: object = None
        self._generation = 0  # PostgreSQL: notifications received on the keys' channel
        self._listening: threading.Thread | None = None
        self._stop = threading.Event()
        with self.database.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} ("
                "name TEXT PRIMARY KEY, key_id TEXT NOT NULL UNIQUE, role TEXT NOT NULL, "
                "token_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)"
            )

    def close(self) -> None:
        """Close the store's connections."""
        self._stop.set()
        self.database.close()

    @property
    def channel(self) -> str:
        """The PostgreSQL channel a change of keys is announced on."""
        return f"concord_keys_{getattr(self.database, 'schema', '')}"

    def _signal_now(self) -> object:
        """What changes whenever a key has changed since: the change file's identity on
        SQLite; on PostgreSQL the notifications received (None until this process listens,
        which it starts to do on its first call)."""
        if isinstance(self.database, PostgresDatabase):
            if self._listening is None:
                self._listening = listen(self.database, self.channel, self._changed,
                                         self._stop)
            # The listener counts one as soon as it listens: nothing is kept before.
            return self._generation or None
        try:
            found = os.stat(_change_file(self.database.path))
        except FileNotFoundError:
            return "never changed"
        return (found.st_ino, found.st_mtime_ns, found.st_size)

    def _changed(self) -> None:
        self._generation += 1

    def _announce(self, cursor: Cursor) -> None:
        """In the transaction that changed a key: tell the other processes (PostgreSQL, at
        its commit); `_after_change` does the rest once it has committed."""
        if is_postgres(cursor):
            cursor.execute(f'NOTIFY "{self.channel}"')

    def _after_change(self) -> None:
        """Once a change of keys has committed: forget this process's rows, and tell the
        other processes on SQLite (replacing the change file gives it a new identity)."""
        self._rows.clear()
        if not isinstance(self.database, PostgresDatabase):
            path = _change_file(self.database.path)
            fresh = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
            fresh.write_text(f"{time.time_ns()}\n")
            os.replace(fresh, path)

    @contextmanager
    def _exclusive(self) -> Iterator[Cursor]:
        """A write transaction that no other writer of keys, in any process, overlaps."""
        with self.database.transaction() as cursor:
            if is_postgres(cursor):
                cursor.execute(f"LOCK TABLE {KEYS_TABLE} IN EXCLUSIVE MODE")
            yield cursor  # SQLite: BEGIN IMMEDIATE already holds the write lock

    def create(self, name: str, role: Role) -> tuple[ApiKey, str]:
        """A new key and its token (shown once). Names are never reused, even when revoked."""
        if not NAME_PATTERN.fullmatch(name):
            raise KeyError_("name: 1 to 64 letters, digits, '.', '_', '@' or '-', starting "
                            "with a letter or digit")
        key_id = secrets.token_hex(8)
        token = f"cnc_{key_id}_{secrets.token_urlsafe(32)}"
        created_at = _now()
        with self._exclusive() as cursor:
            taken = cursor.execute(
                f"SELECT name FROM {KEYS_TABLE} WHERE lower(name)=lower(?)", (name,)).fetchone()
            if taken is not None:
                raise KeyError_(f"name: a key named {taken[0]!r} exists or existed; names are "
                                "never reused (nor changed only in case), so that recorded_by "
                                "stays unambiguous")
            cursor.execute(
                f"INSERT INTO {KEYS_TABLE} VALUES (?, ?, ?, ?, ?, NULL)",
                (name, key_id, role.name, _digest(token), created_at))
            self._announce(cursor)
        self._after_change()
        return ApiKey(name, role, created_at, None), token

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        rows = self.database.reader().execute(
            f"SELECT name, role, created_at, revoked_at FROM {KEYS_TABLE} "
            "ORDER BY created_at, name").fetchall()
        return [ApiKey(r[0], Role[r[1]], r[2], r[3]) for r in rows]

    def revoke(self, name: str) -> ApiKey:
        """Revoke a key; refuse to revoke the last active admin key."""
        # One write transaction from the count to the update, so that two processes cannot
        # each revoke one of the last two admin keys.
        with self._exclusive() as cursor:
            row = cursor.execute(
                f"SELECT role, revoked_at FROM {KEYS_TABLE} WHERE name=?", (name,)).fetchone()
            if row is None:
                raise LookupError(f"there is no key named {name!r}")
            if row[1] is None:
                if row[0] == Role.admin.name and _active_admins(cursor) == 1:
                    raise KeyError_(f"{name!r} is the last active admin key; create another "
                                    "admin key before revoking it")
                cursor.execute(
                    f"UPDATE {KEYS_TABLE} SET revoked_at=? WHERE name=?", (_now(), name))
                self._announce(cursor)
        self._after_change()
        return next(k for k in self.list() if k.name == name)

    def is_active(self, name: str) -> bool:
        """Whether the key named `name` exists and is not revoked."""
        row = self.database.reader().execute(
            f"SELECT revoked_at FROM {KEYS_TABLE} WHERE name=?", (name,)).fetchone()
        return row is not None and row[0] is None

    def has_admin(self) -> bool:
        """Whether an active admin key exists."""
        return _active_admins(self.database.reader()) > 0

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key whose token this is, or None."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        return _check(self.database.reader().execute(_SELECT_KEY, (match.group(1),))
                      .fetchone(), token)

    async def authenticate_async(self, token: str) -> ApiKey | None:
        """The same, awaited (on PostgreSQL a read is a round trip, made without blocking the
        event loop or hopping to a thread), from the rows kept when nothing has changed."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        key_id, now = match.group(1), time.monotonic()
        signal = self._signal_now()
        if signal != self._signal or signal is None:
            self._rows.clear()
            self._signal = signal
        kept = self._rows.get(key_id)
        if kept is not None and now - kept[1] < self.KEPT_SECONDS:
            return _check(kept[0], token)
        row = await self.database.fetchone_async(_SELECT_KEY, (key_id,))
        # Kept only if no change was announced meanwhile (then the row may be older than
        # the change), and only rows of keys that exist: unknown ids cost a read each.
        if row is not None and signal is not None and self._signal_now() == signal:
            if len(self._rows) >= self.KEPT_KEYS:
                self._rows.clear()
            self._rows[key_id] = (tuple(row), now)
        return _check(row, token)

    async def aclose(self) -> None:
        """Close the store's connections, the awaited ones too."""
        self._stop.set()
        await self.database.aclose()


_SELECT_KEY = (f"SELECT name, role, token_sha256, created_at, revoked_at FROM {KEYS_TABLE} "
               "WHERE key_id=?")


def _change_file(database: Path) -> Path:
    """The file replaced whenever a key of the SQLite database at `database` changes."""
    return database.with_name(database.name + "-keys-changed")


def _check(row: Any, token: str) -> ApiKey | None:
    if row is None or not hmac.compare_digest(row[2], _digest(token)) or row[4] is not None:
        return None
    return ApiKey(row[0], Role[row[1]], row[3], None)


def _active_admins(reader: Cursor | Reader) -> int:
    count: int = reader.execute(
        f"SELECT COUNT(*) FROM {KEYS_TABLE} WHERE role='admin' AND revoked_at IS NULL"
    ).fetchone()[0]
    return count


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
