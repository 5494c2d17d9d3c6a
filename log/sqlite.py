"""The log on SQLite: eventsourcing's recorder, plus idempotency keys committed with their
events, and the lookups the rules need (streams by code, positions by version).

An idempotency key is stored in the same transaction as the events it produced, or a crash
between the two could let a retry append the same decision twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from concord.log.port import IdempotencyRecord, PriorResult, Row
from concord.log.schema import FIRST_ENTRIES_INDEX, IDEMPOTENCY_TABLE


class SQLiteLogRecorder(SQLiteApplicationRecorder):
    """Stores events and, in the same transaction, the idempotency keys they answer."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {IDEMPOTENCY_TABLE} ("
            "scope TEXT NOT NULL, "
            "key TEXT NOT NULL, "
            "fingerprint TEXT NOT NULL, "
            "positions TEXT NOT NULL, "
            "PRIMARY KEY (scope, key)) WITHOUT ROWID",
        ]

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        # Unique, so that two processes writing to one file (where a writer's check and its
        # insert are not under one lock) cannot both create codes that differ only in case:
        # the second insert conflicts, and its writer retries and refuses it. A log recorded
        # before codes were unique whatever their case may hold such pairs already: then
        # the index only serves to find codes.
        where = f"ON {self.events_table_name} (lower(originator_id)) WHERE originator_version = 1"
        try:
            c.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {FIRST_ENTRIES_INDEX} {where}")
        except (sqlite3.IntegrityError, IntegrityError):
            c.execute(f"CREATE INDEX IF NOT EXISTS {FIRST_ENTRIES_INDEX} {where}")

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: Sequence[IdempotencyRecord] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        if not stored_events:
            return None  # as eventsourcing's recorders answer an empty insert
        # One executemany instead of eventsourcing's execute per row. The transaction holds
        # SQLite's write lock from the first insert, and rowids without AUTOINCREMENT are
        # assigned as max + 1, so the new rows are exactly the last len(stored_events) rowids.
        c.executemany(
            self.insert_events_statement,
            [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events],
        )
        last = self._max_notification_id(c)
        positions = list(range(last - len(stored_events) + 1, last + 1))
        if idempotency:
            c.executemany(
                f"INSERT INTO {IDEMPOTENCY_TABLE} VALUES (?,?,?,?)",
                [
                    (r.scope, r.key, r.fingerprint, json.dumps(positions[r.start:r.stop]))
                    for r in idempotency
                ],
            )
        return positions

    def select_rows(self, after: int, limit: int, stop: int | None = None,
                    topics: Sequence[str] = ()) -> list[Row]:
        """Up to `limit` stored entries after position `after` (up to `stop`), of the given
        topics, in log order: plain tuples, no object an entry."""
        statement = ("SELECT rowid, originator_id, originator_version, topic, state "
                     f"FROM {self.events_table_name} WHERE rowid>?")
        params: list[object] = [after]
        if stop is not None:
            statement += " AND rowid<=?"
            params.append(stop)
        if topics:
            statement += f" AND topic IN ({','.join('?' * len(topics))})"
            params.extend(topics)
        params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None  # tuples, not sqlite3.Row objects
            rows: list[Row] = cursor.execute(statement + " ORDER BY rowid LIMIT ?",
                                             params).fetchall()
        return rows

    def select_streams(self, stream_ids: Sequence[str]) -> list[StoredEvent]:
        """Every stored event of the given streams, ordered by stream and version."""
        events: list[StoredEvent] = []
        for i in range(0, len(stream_ids), 500):
            chunk = stream_ids[i:i + 500]
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    "SELECT originator_id, originator_version, topic, state "
                    f"FROM {self.events_table_name} "
                    f"WHERE originator_id IN ({','.join('?' * len(chunk))}) "
                    "ORDER BY originator_id, originator_version",
                    list(chunk),
                )
                events.extend(
                    StoredEvent(row[0], row[1], row[2], row[3]) for row in c.fetchall()
                )
        return events

    def stream_version(self, stream_id: str, upto_position: int) -> int:
        """The version of stream `stream_id` as of position `upto_position` (0: no entry)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT MAX(originator_version) FROM {self.events_table_name} "
                "WHERE originator_id=? AND rowid<=?",
                (stream_id, upto_position),
            )
            row = c.fetchone()
        return int(row[0] or 0)

    def position_of(self, stream_id: str, version: int) -> int | None:
        """The position of the stream's entry at `version`, if stored."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid FROM {self.events_table_name} "
                      "WHERE originator_id=? AND originator_version=?", (stream_id, version))
            row = c.fetchone()
        return int(row[0]) if row is not None else None

    def stream_ids(self, prefix: str) -> list[str]:
        """Every stream whose id starts with `prefix` (such as 'network:')."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id FROM {self.events_table_name} "
                      f"INDEXED BY {FIRST_ENTRIES_INDEX} WHERE originator_version = 1 "
                      "AND lower(originator_id) >= ? AND lower(originator_id) < ?",
                      (prefix.lower(), prefix.lower()[:-1] + chr(ord(prefix[-1]) + 1)))
            return [str(row[0]) for row in c.fetchall() if str(row[0]).startswith(prefix)]

    def same_but_case(self, stream_id: str) -> list[str]:
        """The streams whose ids equal `stream_id` but for case (it, too, if stored)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id FROM {self.events_table_name} "
                      f"INDEXED BY {FIRST_ENTRIES_INDEX} WHERE originator_version = 1 "
                      "AND lower(originator_id) = ?", (stream_id.lower(),))
            return [str(row[0]) for row in c.fetchall()]

    def find_prior_results(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], PriorResult]:
        """The keys among `keys` already used, with what they were used for."""
        found: dict[tuple[str, str], PriorResult] = {}
        wanted = list(keys)
        if not wanted:
            return found
        with self.datastore.transaction(commit=False) as c:
            for scope, key in wanted:
                c.execute(
                    f"SELECT fingerprint, positions FROM {IDEMPOTENCY_TABLE} "
                    "WHERE scope=? AND key=?",
                    (scope, key),
                )
                row = c.fetchone()
                if row is not None:
                    found[(scope, key)] = PriorResult(row[0], json.loads(row[1]))
        return found
