"""Positions on PostgreSQL: strictly increasing, without gaps, in commit order, whatever
rolls back or is still in flight."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from concord.log.application import CoordinationLog
from tests.backends import Backend
from tests.conftest import parametrized_backend
from tests.waiting import wait_for


@pytest.fixture(params=["postgres"])
def backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    """PostgreSQL: where a sequence would leave gaps."""
    yield from parametrized_backend(request, db_path)


def stored(stream: str, version: int) -> StoredEvent:
    return StoredEvent(stream, version, "topic", b'{"timestamp": null}')


def waiting_for_the_lock(backend: Backend) -> bool:
    """Whether a session waits for a lock on the log's table (seen from a session of its
    own, so that each look is a new snapshot of the server's locks)."""
    with psycopg.connect(backend.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
            "to_regclass(quote_ident(%s) || '.coordinationlog_events')",
            (backend.schema,)).fetchone()
    return row is not None and row[0] > 0


def test_a_rolled_back_insert_leaves_no_gap(log: CoordinationLog) -> None:
    recorder = log.recorder
    assert recorder.insert_events([stored("a", 1), stored("a", 2)]) == [1, 2]
    with pytest.raises(IntegrityError):
        recorder.insert_events([stored("b", 1), stored("a", 2)])  # a:2 exists: rolled back
    assert recorder.insert_events([stored("b", 1)]) == [3]
    ids = [n.id for n in recorder.select_notifications(start=None, limit=10)]
    assert ids == [1, 2, 3]


def test_an_insert_in_flight_holds_back_later_ones_so_readers_never_skip(
    log: CoordinationLog, backend: Backend
) -> None:
    recorder = log.recorder
    recorder.insert_events([stored("a", 1)])
    # Another process's transaction takes the log's lock and inserts position 2, slowly.
    with psycopg.connect(backend.url, autocommit=False) as other:
        other.execute(f'SET search_path TO "{backend.schema}"')
        other.execute("LOCK TABLE coordinationlog_events IN EXCLUSIVE MODE")
        other.execute("INSERT INTO coordinationlog_events (originator_id, "
                      "originator_version, topic, state, notification_id) "
                      "VALUES ('x', 1, 'topic', '{}', 2)")
        done: list[object] = []
        writer = threading.Thread(
            target=lambda: done.append(recorder.insert_events([stored("c", 1)])))
        writer.start()
        wait_for(lambda: waiting_for_the_lock(backend), what="the writer to wait for the lock")
        # The writer waits for the lock; a reader sees neither entry yet: nothing to skip.
        assert done == []
        assert [n.id for n in recorder.select_notifications(start=None, limit=10)] == [1]
        other.commit()
    writer.join(10)
    assert done == [[3]]
    assert [n.id for n in recorder.select_notifications(start=None, limit=10)] == [1, 2, 3]


def test_a_round_reads_on_its_own_connection(log: CoordinationLog, backend: Backend) -> None:
    log.submit({"type": "NetworkEstablished", "data": {"network": "N", "name": "N"},
                "effective_date": "2000-01-01"}, recorded_by="clerk")
    # A writer with a pool of one connection: its round holds it, so every read the round
    # needs (the network's stream, the idempotency key) must go through that connection.
    env = {**backend.log_env(), "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "0",
           "POSTGRES_CONNECT_TIMEOUT": "3"}
    lean = CoordinationLog(env)
    try:
        joined = lean.submit({"type": "StateJoinedNetwork", "effective_date": "2001-01-01",
                              "data": {"network": "N", "state": "ARG", "role": "member"}},
                             recorded_by="clerk", idempotency_key="join-ARG")
        assert joined["position"] == 2
        again = lean.submit({"type": "StateJoinedNetwork", "effective_date": "2001-01-01",
                             "data": {"network": "N", "state": "ARG", "role": "member"}},
                            recorded_by="clerk", idempotency_key="join-ARG")
        assert again == joined
    finally:
        lean.close()
