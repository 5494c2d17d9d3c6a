"""The composition root: builds the parts of a Concord process from Settings (the log, its
database, the keys, the read side) and closes them in order. The HTTP service, the commands
of the command line and the projection process open what they use here; only the auditor's
read-only opening of a data directory is apart (concord.api.audit.readonly)."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from concord.api.checkpoints import Checkpoints
from concord.api.collector import Collector
from concord.api.keyfile import load_or_create_signer
from concord.api.keys import KeyStore
from concord.api.settings import Settings
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.db import Database, PostgresDatabase, listen
from concord.projections.locks import claim_projections, still_claimed
from concord.projections.registry import PROJECTIONS, live
from concord.projections.remote import RemoteProjections
from concord.projections.runner import ProjectionRunner
from concord.projections.store import ProjectionStore
from concord.projections.tree import Transparency


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


def open_keys(settings: Settings) -> KeyStore:
    """The API keys alone, on connections of their own to the log's database."""
    return KeyStore(open_database(settings))


class Concord:
    """One process's Concord, opened from its settings: the log; the database, whose
    connections the keys and the read side share; the key store (unless `keys` is False);
    the projection store; and the projections, read from the tables another process keeps
    up, until this one keeps them up itself (`keep_projections_up`, or `claim_projections`
    then `run_projections`).

    Closing (`close`, `aclose`, or the end of a `with`) stops collecting cosignatures, stops
    listening for commits, stops the projections, gives up the right to run them, closes
    the projection store, the keys and the log, in that order; `close_read_side` does the
    first five alone, for a caller with parts of its own to close between the read side and
    the rest.
    """

    def __init__(self, settings: Settings, *, keys: bool = True) -> None:
        self.settings = settings
        self.log = open_log(settings)
        try:
            self.database = open_database(settings)
        except BaseException:
            self.log.close()
            raise
        try:
            self.keys = KeyStore(self.database) if keys else None
            self.store = ProjectionStore(self.database)
        except BaseException:
            self.database.close()
            self.log.close()
            raise
        self.projections: ProjectionRunner | RemoteProjections = RemoteProjections(
            self.log, self.store)
        self._claim: Any | None = None
        self.collector: Collector | None = None
        self._stop_listening = threading.Event()
        self._read_side_closed = False

    def claim_projections(self) -> bool:
        """Whether this process holds the right to keep the read models up, claimed now if
        no other process holds it (`claim_projections`)."""
        if self._claim is None:
            self._claim = claim_projections(self.database)
        return self._claim is not None

    def still_claimed(self) -> bool:
        """Whether the right claimed still holds (`still_claimed`): on PostgreSQL it is lost
        with the database session that holds it."""
        return self._claim is not None and still_claimed(self._claim)

    def run_projections(self) -> ProjectionRunner:
        """Keep the read models up in this process, until closed: a runner over every
        projection, woken by this process's commits and, on PostgreSQL, by every other
        process's too. Needs the right to (`claim_projections`)."""
        if self._claim is None:
            raise RuntimeError("the right to keep the read models up is not claimed")
        runner = ProjectionRunner(self.log, self.store,
                                  [live(self.store, name) for name in PROJECTIONS])
        self.projections = runner  # stopped on closing, whatever happens next
        runner.start()
        # Entries other processes commit wake the runner too (PostgreSQL only).
        listen(self.database, self.log.commit_channel, runner.wake, self._stop_listening)
        return runner

    def keep_projections_up(self) -> bool:
        """Keep the read models up in this process if no other process does; False if one
        does, whose tables this one then reads."""
        if not self.claim_projections():
            return False
        self.run_projections()
        return True

    def checkpoints(self) -> Checkpoints:
        """The log's signed checkpoints, signed with the key in `settings.signing_key_path`
        (created at the first start)."""
        signer = load_or_create_signer(self.settings.signing_key_path, self.settings.log_origin)
        return Checkpoints(self.store, signer, self.settings.log_origin,
                           witnessed=bool(self.settings.witness_list))

    def cosign(self, checkpoints: Checkpoints) -> Collector | None:
        """Collect the witnesses' cosignatures of `checkpoints` in this process, until
        closed, woken each time the tree grows here; None if the log has no witnesses.
        Only the process that keeps the read models up does this."""
        witnesses = self.settings.witness_list
        if not witnesses:
            return None
        if not isinstance(self.projections, ProjectionRunner):
            raise RuntimeError("only the process that keeps the read models up collects "
                               "cosignatures")
        collector = Collector(witnesses, checkpoints, self.store,
                              self.settings.witness_interval_seconds,
                              self.settings.witness_timeout_seconds,
                              self.settings.witness_quorum)
        self.collector = collector  # stopped on closing
        self.projections.add_listener(
            lambda name, _: collector.wake() if name == Transparency.name else None)
        collector.start()
        return collector

    def close_read_side(self) -> None:
        """Stop listening for commits, stop the projections, give up the right to run them
        and close the projection store; once (closing does it if it is not done)."""
        if self._read_side_closed:
            return
        self._read_side_closed = True
        if self.collector is not None:
            self.collector.stop()
        self._stop_listening.set()
        self.projections.stop()
        if self._claim is not None:
            self._claim.close()
        self.store.close()

    def close(self) -> None:
        """Close the read side, then the keys, then the log."""
        self.close_read_side()
        if self.keys is not None:
            self.keys.close()
        self.log.close()

    async def aclose(self) -> None:
        """Close the read side, then the keys (their awaited connections too), then the log,
        off the event loop (its writer finishes the round under way first)."""
        self.close_read_side()
        if self.keys is not None:
            await self.keys.aclose()
        await asyncio.to_thread(self.log.close)

    def __enter__(self) -> Concord:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
