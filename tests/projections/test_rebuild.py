"""Rebuild on request: beside the live copy, equal to it, swapped in without a failed read."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from concord.api.scenario import founding_scenario
from concord.log.application import CoordinationLog
from concord.projections.db import Reader
from concord.projections.membership import Member, members
from concord.projections.projection import Projection
from concord.projections.rebuild import load, rebuild
from concord.projections.registry import PROJECTIONS, live
from concord.projections.runner import ProjectionRunner
from concord.projections.store import ProjectionStore
from tests.conftest import RECORDER
from tests.projections.conftest import catch_up, rows


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


def script() -> list[dict[str, object]]:
    """Entries that take every path of the rebuild's loaders: each pair changing again after
    a back-dated change, a retraction and a correction (its state read back), a founding
    retracted, signatures after a withdrawal, delegations and sessions around a rescheduling,
    names corrected, suspensions ended by a change of role, lifted, retracted and
    corrected, an office's terms relinquished, retracted and corrected, withdrawals
    given with notice, revoked, put back and revoked again, and an instrument's consents,
    entries into force and denunciation, retracted and corrected."""
    def entry(type_: str, day: str | None = None, **data: object) -> dict[str, object]:
        return {"type": type_, "data": data,
                **({"effective_date": day} if day is not None else {})}

    joined, left = "StateJoinedNetwork", "StateLeftNetwork"
    return [
        entry("NetworkEstablished", "2000-01-01", network="N1", name="One"),
        entry("NetworkEstablished", "2000-01-01", network="N2", name="Two"),
        entry(joined, "2001-01-01", network="N1", state="ARG", role="member"),
        entry(joined, "2001-01-01", network="N1", state="BRA", role="observer"),
        entry(joined, "2001-01-01", network="N2", state="ARG", role="member"),
        entry(left, "2005-01-01", network="N1", state="ARG"),
        entry(joined, "2003-01-01", network="N1", state="ARG", role="observer"),  # back-dated
        entry(joined, "2006-01-01", network="N1", state="ARG", role="observer"),
        entry(joined, "2004-01-01", network="N1", state="BRA", role="member"),
        entry("EntryRetracted", position=9, reason="recorded in error"),
        entry(left, "2007-01-01", network="N1", state="BRA"),
        entry(joined, "2008-01-01", network="N1", state="BRA", role="member"),
        entry("EntryCorrected", position=12, reason="the wrong role",
              replacement={"type": joined,
                           "data": {"network": "N1", "state": "BRA", "role": "observer"}}),
        entry(left, "2009-01-01", network="N1", state="BRA"),
        entry("EntryRetracted", position=2, reason="never founded"),
        entry("DeclarationAdopted", "2010-01-01", declaration="D1", title="Decl"),
        entry("DeclarationSigned", "2010-02-01", declaration="D1", state="ARG"),
        entry("DeclarationSigned", "2010-02-01", declaration="D1", state="BRA"),
        entry("SignatureWithdrawn", "2011-01-01", declaration="D1", state="ARG",
              reason="changed its mind"),
        entry("DeclarationSigned", "2012-01-01", declaration="D1", state="ARG"),
        entry("EntryRetracted", position=18, reason="signed elsewhere"),
        entry("DeclarationSigned", "2012-02-01", declaration="D1", state="BRA"),
        entry("ConferenceScheduled", "2013-01-01", conference="C1", title="Conf",
              host_state="ARG", starts_on="2013-07-01", ends_on="2013-07-02"),
        entry("ConferenceRescheduled", "2013-02-01", conference="C1", starts_on="2013-07-01",
              ends_on="2013-07-03"),
        entry("ConferenceHeld", "2013-07-03", conference="C1"),
        entry("DelegationAttended", "2013-07-01", conference="C1", state="ARG",
              role="participant", head={"name": "A. Head", "title": "Minister"}),
        entry("SessionHeld", "2013-07-01", conference="C1", title="Opening",
              speakers=[{"name": "A. Speaker", "title": "Chair"}]),
        entry("EntryRetracted", position=24, reason="not rescheduled"),
        entry("DelegationAttended", "2013-07-02", conference="C1", state="BRA",
              role="observer"),
        entry("EntryCorrected", position=1, reason="the name",
              replacement={"type": "NetworkEstablished",
                           "data": {"network": "N1", "name": "Network One"}}),
        entry(joined, "2014-01-01", network="N1", state="CHL", role="member"),
        entry("StatuteApproved", "2014-02-01", network="N1", title="Statute"),
        entry("StateRegistered", "2014-03-01", state="XKX", name="Kosovo"),
        entry(joined, "2014-01-01", network="N1", state="PER", role="member"),
        entry("MembershipSuspended", "2014-06-01", network="N1", state="PER"),
        entry(joined, "2014-09-01", network="N1", state="PER", role="observer"),  # ends it
        entry("MembershipSuspended", "2014-05-01", network="N1", state="CHL"),
        entry("SuspensionLifted", "2014-08-01", network="N1", state="CHL"),
        entry("EntryRetracted", position=38, reason="not lifted then"),
        entry("EntryCorrected", "2014-07-01", position=37, reason="the date",
              replacement={"type": "MembershipSuspended",
                           "data": {"network": "N1", "state": "CHL"}}),
        entry("OfficeAssumed", "2014-02-01", network="N1", office="presidency", state="CHL",
              term_ends_on="2014-08-01"),
        entry("OfficeAssumed", "2014-08-01", network="N1", office="presidency", state="CHL"),
        entry("OfficeRelinquished", "2014-10-01", network="N1", office="presidency",
              state="CHL"),
        entry("EntryRetracted", position=43, reason="not relinquished"),
        entry("EntryCorrected", "2014-03-01", position=41, reason="the date",
              replacement={"type": "OfficeAssumed", "data": {
                  "network": "N1", "office": "presidency", "state": "CHL",
                  "term_ends_on": "2014-08-01"}}),
        entry(joined, "2014-01-01", network="N1", state="ECU", role="member"),
        entry(left, "2016-01-01", network="N1", state="ECU", notified_on="2014-06-01"),
        entry("WithdrawalRevoked", "2015-01-01", network="N1", state="ECU"),
        entry(joined, "2014-01-01", network="N1", state="BOL", role="member"),
        entry(left, "2017-01-01", network="N1", state="BOL", notified_on="2014-02-01"),
        entry("WithdrawalRevoked", "2014-03-01", network="N1", state="BOL"),
        entry("EntryRetracted", position=51, reason="not revoked"),
        entry("EntryCorrected", "2015-06-01", position=48, reason="the date",
              replacement={"type": "WithdrawalRevoked",
                           "data": {"network": "N1", "state": "ECU"}}),
        entry("InstrumentAdopted", "2015-01-01", instrument="I1", title="Pact",
              kind="agreement", network="N1", entry_into_force={"consents_required": 1}),
        entry("ConsentExpressed", "2015-02-01", instrument="I1", state="ARG",
              form="signature"),
        entry("ConsentExpressed", "2015-03-01", instrument="I1", state="ARG",
              form="ratification"),
        entry("InstrumentEnteredIntoForce", "2015-04-01", instrument="I1"),
        entry("ConsentExpressed", "2015-05-01", instrument="I1", state="BRA",
              form="accession"),
        entry("InstrumentEnteredIntoForce", "2015-06-01", instrument="I1", state="BRA"),
        entry("Denunciation", "2016-01-01", instrument="I1", state="ARG",
              notified_on="2015-07-01"),
        entry("EntryRetracted", position=59, reason="not stated"),
        entry("EntryCorrected", "2015-05-02", position=58, reason="the date",
              replacement={"type": "ConsentExpressed",
                           "data": {"instrument": "I1", "state": "BRA",
                                    "form": "definitive-signature"}}),
        entry("InstrumentAdopted", "2015-01-01", instrument="I2", title="Protocol",
              kind="protocol"),
        entry("EntryCorrected", position=63, reason="the title",
              replacement={"type": "InstrumentAdopted",
                           "data": {"instrument": "I2", "title": "Protocol One",
                                    "kind": "protocol"}}),
    ]


@pytest.mark.parametrize("page", [1, 2, 5, 1_000])
def test_a_bulk_load_equals_the_handlers_page_by_page(
        log: CoordinationLog, store: ProjectionStore, page: int) -> None:
    for raw in script():
        log.submit(raw, recorded_by=RECORDER)
    assert log.last_position() == 64
    for kind in PROJECTIONS.values():
        catch_up(log, store, kind(), page=1)
    load(log, store, [kind(suffix="_bulk") for kind in PROJECTIONS.values()], page=page)
    for kind in PROJECTIONS.values():
        tables = table_names(store, kind())
        assert tables, kind.name
        for table in tables:
            assert rows(store, table) == rows(store, table + "_bulk"), table
            assert rows(store, table), table
    # The bulk copy goes on like any other: the next entries through the handlers.
    log.submit({"type": "StateJoinedNetwork", "effective_date": "2015-01-01",
                "data": {"network": "N1", "state": "URY", "role": "member"}},
               recorded_by=RECORDER)
    for kind in PROJECTIONS.values():
        catch_up(log, store, kind(), page=1)
        catch_up(log, store, kind(suffix="_bulk"), page=1)
    for table in table_names(store, PROJECTIONS["membership"]()):
        assert rows(store, table) == rows(store, table + "_bulk"), table


def table_names(store: ProjectionStore, projection: Projection) -> list[str]:
    """The tables of a projection (without a suffix), from its drop statements."""
    names: list[str] = []

    class Recorder:
        def execute(self, sql: str, parameters: object = ()) -> None:
            names.append(sql.split()[-1])

    projection.drop_tables(Recorder())  # type: ignore[arg-type]
    return names
