"""The log's recorder on PostgreSQL: eventsourcing's, with dense positions and idempotency
keys committed with their events.

eventsourcing numbers entries from a sequence, which skips the numbers a rolled-back
transaction drew. Concord's positions are instead MAX + 1, taken while holding the events
table's EXCLUSIVE lock (which eventsourcing takes anyway, so that commit order is position
order): no transaction can draw a position and then fail to fill it while another commits
past it, so positions have no gaps, `leaf_index` stays `position - 1`, and a reader that
has seen position N has seen every position before it.

Imported only when the log is on PostgreSQL (`pip install '.[postgres]'`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import get_topic, retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from concord.domain.envelope import MAX_POSITION
from concord.log.port import IdempotencyRecord, PriorResult, Row
from concord.log.schema import FIRST_ENTRIES_INDEX, IDEMPOTENCY_TABLE, SCHEMA_LOCK


class PostgresLogRecorder(PostgresApplicationRecorder):
    """Stores events at dense positions and, in the same transaction, the idempotency keys
    they answer."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self._round = threading.local()
        # Within a round, every read this thread makes goes through the round's own
        # connection: the round holds the log's lock, and must not wait for a second
        # connection from a pool that concurrent readers may have emptied.
        pooled = self._pooled = datastore.get_connection

        @contextmanager
        def get_connection() -> Iterator[Any]:
            connection = getattr(self._round, "connection", None)
            if connection is not None:
                yield connection
                return
            with pooled() as conn:
                yield conn

        datastore.get_connection = get_connection  # type: ignore[method-assign]
        schema, table = Identifier(datastore.schema), Identifier(events_table_name)
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{idempotency} (scope text NOT NULL, "
            "key text NOT NULL, fingerprint text NOT NULL, positions text NOT NULL, "
            "PRIMARY KEY (scope, key))").format(
                schema=schema, idempotency=Identifier(IDEMPOTENCY_TABLE)))
        self.sql_create_statements.append(SQL(
            "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (lower(originator_id) "
            "text_pattern_ops) WHERE originator_version = 1").format(
                index=Identifier(FIRST_ENTRIES_INDEX), schema=schema, table=table))
        self._select_position = SQL(
            "SELECT notification_id FROM {schema}.{table} WHERE originator_id = %s "
            "AND originator_version = %s").format(schema=schema, table=table)
        self._select_ids = SQL(
            "SELECT originator_id FROM {schema}.{table} WHERE originator_version = 1 "
            "AND lower(originator_id) LIKE %s").format(schema=schema, table=table)
        self._select_same = SQL(
            "SELECT originator_id FROM {schema}.{table} WHERE originator_version = 1 "
            "AND lower(originator_id) = %s").format(schema=schema, table=table)
        # One statement numbers and inserts the whole round, from the end of the log as it
        # stands under the lock.
        self._insert_at = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state, "
            "notification_id) SELECT e.o, e.v, e.t, e.s, last.position + e.n "
            "FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bytea[]) "
            "WITH ORDINALITY AS e(o, v, t, s, n), "
            "(SELECT COALESCE(MAX(notification_id), 0) AS position FROM {schema}.{table}) last "
            "RETURNING notification_id").format(schema=schema, table=table)
        self._insert_key = SQL("INSERT INTO {schema}.{idempotency} VALUES (%s, %s, %s, %s)"
                               ).format(schema=schema, idempotency=Identifier(IDEMPOTENCY_TABLE))
        self._select_streams = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(schema=schema, table=table)
        self._select_rows = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {schema}.{table} WHERE notification_id > %s AND notification_id <= %s "
            "ORDER BY notification_id LIMIT %s").format(schema=schema, table=table)
        self._select_rows_of = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {schema}.{table} WHERE notification_id > %s AND notification_id <= %s "
            "AND topic = ANY(%s) ORDER BY notification_id LIMIT %s").format(
            schema=schema, table=table)
        self._select_key = SQL("SELECT fingerprint, positions FROM {schema}.{idempotency} "
                               "WHERE scope = %s AND key = %s").format(
            schema=schema, idempotency=Identifier(IDEMPOTENCY_TABLE))
        self._select_version = SQL(
            "SELECT MAX(originator_version) AS version FROM {schema}.{table} "
            "WHERE originator_id = %s AND notification_id <= %s").format(
            schema=schema, table=table)

    def create_table(self) -> None:
        # Processes starting together would otherwise create the same tables, types and
        # functions at once, which PostgreSQL refuses ("tuple concurrently updated"). The
        # lock is held on a connection of its own, outside the pool the creation uses.
        raw = self.datastore.pool.kwargs
        kwargs: dict[str, Any] = raw() if callable(raw) else dict(raw or {})
        with psycopg.connect(autocommit=True, **{
                key: kwargs[key] for key in ("dbname", "host", "port", "user", "password")
                if key in kwargs}) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            super().create_table()

    @contextmanager
    def exclusive_round(self) -> Iterator[None]:
        """Hold the log's lock from here until the round's insert commits: the writer reads
        the log's end, applies the round to its aggregates and inserts it while no other
        process can append, so that writers in several processes never conflict (they
        wait their turn instead)."""
        # eventsourcing's own checkout: it opens the pool, and turns psycopg's errors into
        # its own (a conflict into IntegrityError), raised inside the round or not.
        with self._pooled() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            self._round.connection = conn
            try:
                yield
            finally:
                self._round.connection = None

    def insert_events(self, stored_events: Sequence[StoredEvent], *,
                      idempotency: Sequence[IdempotencyRecord] = (), **kwargs: Any
                      ) -> Sequence[int] | None:
        if not stored_events:
            return None  # as eventsourcing's recorders answer an empty insert
        connection = getattr(self._round, "connection", None)
        if connection is not None:  # within an exclusive round: its transaction and lock
            with connection.cursor() as curs:
                return self._insert(curs, stored_events, idempotency)
        # Pipelined: the lock, the notification and the insert go in one round trip.
        with self.datastore.get_connection() as conn, conn.pipeline(), conn.transaction(), \
                conn.cursor() as curs:
            self._lock_table(curs)
            return self._insert(curs, stored_events, idempotency)

    def _insert(self, curs: Any, stored_events: Sequence[StoredEvent],
                idempotency: Sequence[IdempotencyRecord]) -> list[int]:
        self._notify_channel(curs)
        curs.execute(self._insert_at, (
            [s.originator_id for s in stored_events],
            [s.originator_version for s in stored_events],
            [s.topic for s in stored_events], [s.state for s in stored_events]))
        positions = sorted(int(row["notification_id"]) for row in curs.fetchall())
        if idempotency:
            curs.executemany(self._insert_key, [
                (r.scope, r.key, r.fingerprint, json.dumps(positions[r.start:r.stop]))
                for r in idempotency])
        return positions

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_rows(self, after: int, limit: int, stop: int | None = None,
                    topics: Sequence[str] = ()) -> list[Row]:
        """Up to `limit` stored entries after position `after` (up to `stop`), of the given
        topics, in log order: plain tuples, no object an entry."""
        upto = MAX_POSITION if stop is None else stop
        with self.datastore.get_connection() as conn, \
                conn.cursor(row_factory=tuple_row) as curs:
            if topics:
                curs.execute(self._select_rows_of, (after, upto, list(topics), limit),
                             prepare=True)
            else:
                curs.execute(self._select_rows, (after, upto, limit), prepare=True)
            return [(position, stream, version, topic, bytes(state))
                    for position, stream, version, topic, state in curs.fetchall()]

    def select_streams(self, stream_ids: Sequence[str]) -> list[StoredEvent]:
        """Every stored event of the given streams, ordered by stream and version."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_streams, (list(stream_ids),))
            return [StoredEvent(row["originator_id"], row["originator_version"],
                                row["topic"], bytes(row["state"])) for row in curs.fetchall()]

    def stream_version(self, stream_id: str, upto_position: int) -> int:
        """The version of stream `stream_id` as of position `upto_position` (0: no entry)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_version, (stream_id, upto_position))
            row = curs.fetchone()
        return int(row["version"] or 0) if row is not None else 0

    def position_of(self, stream_id: str, version: int) -> int | None:
        """The position of the stream's entry at `version`, if stored."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_position, (stream_id, version))
            row = curs.fetchone()
        return int(row["notification_id"]) if row is not None else None

    def stream_ids(self, prefix: str) -> list[str]:
        """Every stream whose id starts with `prefix` (such as 'network:')."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_ids, (pattern.lower(),))
            return [str(row["originator_id"]) for row in curs.fetchall()
                    if str(row["originator_id"]).startswith(prefix)]

    def same_but_case(self, stream_id: str) -> list[str]:
        """The streams whose ids equal `stream_id` but for case (it, too, if stored)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_same, (stream_id.lower(),))
            return [str(row["originator_id"]) for row in curs.fetchall()]

    def find_prior_results(self, keys: Iterable[tuple[str, str]]
                           ) -> dict[tuple[str, str], PriorResult]:
        """The keys among `keys` already used, with what they were used for."""
        found: dict[tuple[str, str], PriorResult] = {}
        wanted = list(keys)
        if not wanted:
            return found
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for scope, key in wanted:
                curs.execute(self._select_key, (scope, key))
                row = curs.fetchone()
                if row is not None:
                    found[(scope, key)] = PriorResult(row["fingerprint"],
                                                      json.loads(row["positions"]))
        return found


def parse_database_url(url: str) -> dict[str, str]:
    """The parts of a database URL the log connects with (dbname, host, port, user,
    password), by libpq's rules; ValueError saying why if the URL is not one the log can
    honour as written."""
    from psycopg.conninfo import conninfo_to_dict

    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"not a PostgreSQL URL (postgresql://user@host:port/dbname): {url!r}")
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise ValueError(f"not a PostgreSQL URL: {e}") from None
    unsupported = sorted(set(parts) - {"dbname", "host", "port", "user", "password"})
    if unsupported:
        # eventsourcing's recorder connects with these five only: refuse rather than connect
        # some other way than the URL says (without TLS, say).
        raise ValueError(f"the log cannot honour {', '.join(unsupported)} in the database "
                         "URL; use libpq's environment (e.g. PGSSLMODE) instead")
    if not parts.get("dbname"):
        raise ValueError("the database URL names no database")
    return {key: str(value) for key, value in parts.items() if value is not None}


def postgres_env(url: str, schema: str = "concord") -> dict[str, str]:
    """The eventsourcing settings for a log in `schema` of the PostgreSQL database at `url`
    (postgresql://user[:password]@host[:port]/dbname); the schema is created if missing."""
    parts = parse_database_url(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(parts["dbname"]),
        "POSTGRES_HOST": str(parts.get("host") or "localhost"),
        "POSTGRES_PORT": str(parts.get("port") or 5432),
        "POSTGRES_USER": str(parts.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(parts.get("password") or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "ORIGINATOR_ID_TYPE": "text",
        "APPLICATION_RECORDER_TOPIC": get_topic(PostgresLogRecorder),
        "AGGREGATE_CACHE_MAXSIZE": "",
    }
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
    return env
