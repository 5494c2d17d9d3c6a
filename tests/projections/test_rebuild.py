"""Rebuild on request: beside the live copy, equal to it, swapped in without a failed read."""

from __future__ import annotations

import threading
from collections.abc import Callable

from concord.api.scenario import founding_scenario
from concord.log.application import CoordinationLog
from concord.projections.db import Reader
from concord.projections.membership import Member, members
from concord.projections.rebuild import rebuild
from concord.projections.registry import PROJECTIONS, live
from concord.projections.runner import ProjectionRunner
from concord.projections.store import ProjectionStore
from tests.conftest import RECORDER
from tests.projections.conftest import rows


def test_a_rebuild_equals_the_incremental_copy_and_goes_live(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    log.submit_batch(founding_scenario().submissions, recorded_by="concord-demo")
    runner = ProjectionRunner(log, store, [live(store, n) for n in PROJECTIONS])
    runner.start()
    try:
        end = log.last_position()
        assert runner.wait_for("membership", end, 10) and runner.wait_for("history", end, 10)
        progress: list[tuple[int, int]] = []
        for name in PROJECTIONS:
            assert rebuild(log, store, name, lambda p, e: progress.append((p, e))) == end
        assert progress[-1] == (end, end)
        # Check the live copies are now the rebuilt ones, row for row equal to the old ones.
        for name, tables in (("membership", ("membership", "membership_changes")),
                             ("history", ("history", "history_names"))):
            suffix = store.suffix(name)
            assert suffix
            for table in tables:
                assert rows(store, table + suffix) == rows(store, table)
        # Check the runner follows the swap and keeps the new copies up to date.
        joined = log.submit({"type": "StateJoinedNetwork", "data": {
            "network": "RELACOPAZ", "state": "CHL", "role": "observer"}}, recorded_by=RECORDER)
        assert runner.wait_for("membership", joined["position"], 10)
        suffix, position = runner.view("membership")
        assert suffix == store.suffix("membership") and position == joined["position"]
        found = members(store.reader(), "RELACOPAZ", "2099-01-01", position, "observer",
                        suffix)
        assert [m.state for m in found] == ["CHL"]
    finally:
        runner.stop()
        store.close()


def test_reads_and_writes_go_on_during_a_rebuild(
    log: CoordinationLog, open_store: Callable[[], ProjectionStore]
) -> None:
    log.submit({"type": "NetworkEstablished", "data": {"network": "N", "name": "N"},
                "effective_date": "1970-01-01"}, recorded_by=RECORDER)
    store = open_store()
    runner = ProjectionRunner(log, store, [live(store, n) for n in PROJECTIONS])
    runner.start()
    states = ["ARG", "BRA", "URY", "PRY", "PER", "BOL", "CHL", "ECU", "COL", "MEX"]
    stop = threading.Event()
    failures: list[BaseException] = []
    seen: list[int] = []

    def writer() -> None:
        try:
            for i, state in enumerate(states * 30):
                if stop.is_set():
                    return
                kind = "StateJoinedNetwork" if (i // len(states)) % 2 == 0 else (
                    "StateLeftNetwork")
                data = {"network": "N", "state": state}
                if kind == "StateJoinedNetwork":
                    data["role"] = "member"
                log.submit({"type": kind, "data": data,
                            "effective_date": f"{1971 + i // len(states)}-01-01"},
                           recorded_by=RECORDER)
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    def reader() -> None:
        try:
            while not stop.is_set():
                suffix, position = runner.view("membership")

                def query(reader: Reader, live: str, at: int = position) -> list[Member]:
                    return members(reader, "N", "2099-01-01", at, None, live)

                store.read("membership", suffix, query)
                seen.append(position)
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            runner.start_rebuild("membership")
            while runner.rebuilds["membership"].state == "running":
                stop.wait(0.01)
            assert runner.rebuilds["membership"].state == "done"
    finally:
        threads[0].join(60)
        stop.set()
        threads[1].join(10)
    end = log.last_position()
    try:
        assert failures == []
        assert seen == sorted(seen), "a read went backwards"
        assert runner.wait_for("membership", end, 10)
        suffix, _ = runner.view("membership")
        fresh = open_store()
        rebuild(log, fresh, "membership")
        final = fresh.suffix("membership")
        for table in ("membership", "membership_changes"):
            assert rows(fresh, table + suffix) == rows(fresh, table + final)
    finally:
        runner.stop()
        store.close()
