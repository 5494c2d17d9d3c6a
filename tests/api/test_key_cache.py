"""Authentication keeps the keys it has read: a known key costs no read of the database, and
a change of keys made anywhere (another store, another process) is seen at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from concord.api.keys import ApiKey, KeyStore, Role
from tests.backends import Backend


@pytest.fixture
def stores(backend: Backend) -> Iterator[tuple[KeyStore, KeyStore]]:
    """Two stores on one database: the server's, and another process's."""
    first, second = KeyStore(backend.database()), KeyStore(backend.database())
    yield first, second
    LOOP.run_until_complete(first.aclose())
    second.close()


# One event loop for every authentication, as a server has (PostgreSQL's awaited pool
# belongs to the loop it was opened in).
LOOP = asyncio.new_event_loop()


def counting_reads(store: KeyStore) -> list[str]:
    """The statements `store` sends its database to authenticate from here on."""
    sent: list[str] = []
    read = store.database.fetchone_async

    async def counted(sql: str, parameters: Any = ()) -> Any:
        sent.append(sql)
        return await read(sql, parameters)

    store.database.fetchone_async = counted  # type: ignore[method-assign]
    return sent


def authenticate(store: KeyStore, token: str) -> ApiKey | None:
    return LOOP.run_until_complete(store.authenticate_async(token))


def until(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return bool(check())


def test_a_known_key_is_authenticated_without_a_read(
        stores: tuple[KeyStore, KeyStore]) -> None:
    server, _ = stores
    _, token = server.create("clerk", Role.recorder)
    reads = counting_reads(server)
    assert authenticate(server, token) is not None
    assert reads  # the first authentication reads the row

    def kept() -> bool:
        before = len(reads)
        return authenticate(server, token) is not None and len(reads) == before

    # Kept once this process knows it will hear of changes (on PostgreSQL, once it listens).
    assert until(kept, 5)
    before = len(reads)
    for _ in range(50):
        key = authenticate(server, token)
        assert key is not None and key.name == "clerk" and key.role is Role.recorder
    assert len(reads) == before
    # A wrong secret for the same key id is refused from the kept row too.
    assert authenticate(server, token[:-3] + ("aaa" if token[-3:] != "aaa" else "bbb")) is None
    assert len(reads) == before
    # Unknown key ids are read each time, never kept.
    unknown = "cnc_0123456789abcdef_" + "x" * 43
    assert authenticate(server, unknown) is None
    assert authenticate(server, unknown) is None
    assert len(reads) == before + 2


def test_a_revocation_elsewhere_applies_to_the_next_request(
        stores: tuple[KeyStore, KeyStore], backend: Backend) -> None:
    server, other = stores
    _, token = server.create("clerk", Role.recorder)
    other.create("admin", Role.admin)
    assert until(lambda: authenticate(server, token) is not None, 5)
    assert authenticate(server, token) is not None  # kept
    other.revoke("clerk")
    if backend.name == "sqlite":
        # The change file was replaced before revoke returned: the very next check sees it.
        assert authenticate(server, token) is None
    else:
        # The notification arrives within milliseconds, well before the kept row expires.
        assert until(lambda: authenticate(server, token) is None,
                     KeyStore.KEPT_SECONDS / 4)


def test_a_revocation_by_another_process_applies_to_the_next_request(
        stores: tuple[KeyStore, KeyStore], backend: Backend) -> None:
    server, other = stores
    _, token = server.create("clerk", Role.recorder)
    other.create("admin", Role.admin)
    assert until(lambda: authenticate(server, token) is not None, 5)
    assert authenticate(server, token) is not None
    script = (
        "import sys; from pathlib import Path; from concord.api.keys import KeyStore; "
        "from concord.projections.db import PostgresDatabase; "
        "url, schema, path = sys.argv[1:]; "
        "store = KeyStore(PostgresDatabase(url, schema) if url else Path(path)); "
        "store.revoke('clerk'); store.close()")
    done = subprocess.run([sys.executable, "-c", script, backend.url, backend.schema,
                           str(backend.path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if backend.name == "sqlite":
        assert authenticate(server, token) is None
    else:
        assert until(lambda: authenticate(server, token) is None,
                     KeyStore.KEPT_SECONDS / 4)
