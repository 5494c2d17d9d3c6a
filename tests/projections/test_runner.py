"""The projection runner: woken by commits, resumes from its position, isolates failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from concord.domain.envelope import Envelope
from concord.log.application import CoordinationLog
from concord.projections.db import Cursor
from concord.projections.membership import Membership, members
from concord.projections.projection import Projection, handles
from concord.projections.runner import ProjectionRunner
from concord.projections.store import ProjectionStore
from tests.conftest import RECORDER, submit
from tests.projections.conftest import catch_up


class Counting(Projection):
    """Counts the entries it sees, to catch any entry applied twice or skipped."""

    name = "counting"

    def create_tables(self, cursor: Cursor) -> None:
        cursor.execute("CREATE TABLE IF NOT EXISTS counted (position INTEGER PRIMARY KEY)")

    @handles("DeclarationAdopted", "NetworkEstablished", "StateJoinedNetwork")
    def _count(self, cursor: Cursor, e: Envelope) -> None:
        cursor.execute("INSERT INTO counted VALUES (?)", (e["position"],))


class Failing(Projection):
    """Fails on every declaration, once it has written a row for it."""

    name = "failing"

    def create_tables(self, cursor: Cursor) -> None:
        cursor.execute("CREATE TABLE IF NOT EXISTS half_done (position INTEGER PRIMARY KEY)")

    @handles("DeclarationAdopted")
    def _fail(self, cursor: Cursor, e: Envelope) -> None:
        cursor.execute("INSERT INTO half_done VALUES (?)", (e["position"],))
        raise RuntimeError("this projection cannot take declarations")


def adopt(log: CoordinationLog, code: str) -> Envelope:
    return submit(log, "DeclarationAdopted", declaration=code, title=code)


def test_the_runner_follows_commits_and_resumes_where_it_stopped(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    runner = ProjectionRunner(log, store, [Counting(), Membership()])
    runner.start()
    try:
        for i in range(50):
            last = adopt(log, f"D{i}")
        assert runner.wait_for("counting", last["position"], timeout=10)
        network = submit(log, "NetworkEstablished", "2020-01-01", network="N", name="N")
        joined = submit(log, "StateJoinedNetwork", "2020-01-01", network="N", state="ARG",
                        role="member")
        assert runner.wait_for("membership", joined["position"], timeout=10)
        assert [m.state for m in members(store.reader(), "N", "2021-01-01",
                                          joined["position"])] == ["ARG"]
    finally:
        runner.stop()
    # Entries recorded while no runner runs are picked up from the stored position.
    for i in range(50, 70):
        last = adopt(log, f"D{i}")
    again = ProjectionRunner(log, store, [Counting(), Membership()])
    assert again.status["counting"].position == joined["position"]
    again.start()
    try:
        assert again.wait_for("counting", last["position"], timeout=10)
    finally:
        again.stop()
    counted = [row[0] for row in store.reader().execute(
        "SELECT position FROM counted ORDER BY 1").fetchall()]
    assert counted == list(range(1, last["position"] + 1))
    assert network["position"] in counted


def test_a_failing_projection_is_reported_and_the_others_go_on(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    runner = ProjectionRunner(log, store, [Failing(), Counting()])
    runner.start()
    try:
        first = adopt(log, "D1")
        assert runner.wait_for("counting", first["position"], timeout=10)
        assert not runner.wait_for("failing", first["position"], timeout=0.5)
        failure = runner.status["failing"].failure
        assert failure is not None and "cannot take declarations" in failure
        # Check the log goes on taking entries, and the other projection follows them.
        second = adopt(log, "D2")
        assert second["position"] == 2
        assert runner.wait_for("counting", 2, timeout=10)
        assert runner.status["failing"].position == 0
        # The failing projection's half-done work was taken back, the other's stands.
        reader = store.reader()
        assert reader.execute("SELECT COUNT(*) FROM half_done").fetchone()[0] == 0
        assert reader.execute("SELECT COUNT(*) FROM counted").fetchone()[0] == 2
    finally:
        runner.stop()
        store.close()


def test_the_runner_sees_entries_written_by_another_process(
    log: CoordinationLog, db_path: Path, open_log: Callable[[], CoordinationLog]
) -> None:
    store = ProjectionStore(db_path)
    runner = ProjectionRunner(log, store, [Counting()])
    runner.start()
    try:
        other = open_log()  # another writer on the same file: no commit reaches this runner
        entry = other.submit({"type": "DeclarationAdopted", "data": {
            "declaration": "ELSEWHERE", "title": "T"}}, recorded_by=RECORDER)
        assert runner.wait_for("counting", entry["position"], timeout=10)
    finally:
        runner.stop()
        store.close()


def test_a_projection_built_with_another_layout_version_is_built_again_from_0(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    from concord.projections.history import History
    from concord.projections.store import VERSIONS_TABLE

    for code in ("A", "B", "C"):
        submit(log, "DeclarationAdopted", declaration=code, title=code)
    catch_up(log, store, History())
    reader = store.reader()
    before = reader.execute("SELECT * FROM history ORDER BY position").fetchall()
    assert store.position("history") == 3

    class NextHistory(History):
        version = History.version + 1

    with store.transaction() as cursor:
        cursor.execute("UPDATE history SET summary='stale'")
        NextHistory().prepare(cursor)
    assert store.position("history") == 0
    assert reader.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 0
    catch_up(log, store, NextHistory())
    assert reader.execute("SELECT * FROM history ORDER BY position").fetchall() == before
    # Tables from before versions were kept (a position, no version) count as version 1.
    with store.transaction() as cursor:
        cursor.execute(f"DELETE FROM {VERSIONS_TABLE}")
        History().prepare(cursor)
    assert store.position("history") == 0
    # The same version again keeps the tables and the position.
    catch_up(log, store, History())
    with store.transaction() as cursor:
        History().prepare(cursor)
    assert store.position("history") == 3
