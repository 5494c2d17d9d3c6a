"""The history of decisions: filters, both orders, summaries, retractions."""

from __future__ import annotations

from concord.api.scenario import founding_scenario
from concord.domain.envelope import Envelope
from concord.log.application import CoordinationLog
from concord.projections.history import History, Query, history, position_at
from concord.projections.store import ProjectionStore
from tests.conftest import submit
from tests.projections.conftest import catch_up


def founded(log: CoordinationLog, store: ProjectionStore) -> int:
    log.submit_batch(founding_scenario().submissions, recorded_by="concord-demo")
    catch_up(log, store, History(), page=13)
    return log.last_position()


def test_a_declarations_history_reads_as_sentences(log: CoordinationLog,
                                                   store: ProjectionStore) -> None:
    end = founded(log, store)
    entries = history(store.reader(), Query(declaration="BUENOS-AIRES-2023", limit=50), end)
    assert [e["type"] for e in entries[:2]] == ["DeclarationAdopted", "DeclarationSigned"]
    assert len(entries) == 19
    assert entries[1]["summary"] == (
        "Argentina signed Buenos Aires Declaration (BUENOS-AIRES-2023)")
    assert entries[0]["retracted_by"] is None
    assert list(entries[0])[:9] == ["position", "type", "stream", "version", "effective_date",
                                    "recorded_at", "recorded_by", "source", "data"]


def test_filters_by_state_type_and_dates(log: CoordinationLog, store: ProjectionStore) -> None:
    end = founded(log, store)
    argentina = history(store.reader(), Query(state="ARG", limit=100), end)
    assert {e["type"] for e in argentina} == {
        "ConferenceScheduled", "DelegationAttended", "DeclarationSigned", "StateJoinedNetwork",
        "OfficeAssumed"}
    held = history(store.reader(), Query(types=("ConferenceHeld",)), end)
    assert [e["data"]["conference"] for e in held] == ["ALCONU-I", "ALCONU-II", "ALCONU-III"]
    in_2025 = history(store.reader(), Query(date_from="2025-01-01", date_to="2025-12-31",
                                            limit=100), end)
    assert in_2025 and all(e["effective_date"].startswith("2025") for e in in_2025)


def test_both_orders_page_through_everything_once(log: CoordinationLog,
                                                  store: ProjectionStore) -> None:
    end = founded(log, store)
    for order in ("position", "effective_date"):
        seen, after = [], 0 if order == "position" else ("", 0)
        while True:
            page = history(store.reader(), Query(order=order, after=after, limit=7), end)
            if not page:
                break
            seen += page
            last = page[-1]
            after = (last["position"] if order == "position"
                     else (last["effective_date"], last["position"]))
        assert sorted(e["position"] for e in seen) == list(range(1, end + 1))
        keys = [e["position"] if order == "position" else (e["effective_date"], e["position"])
                for e in seen]
        assert keys == sorted(keys)


def test_a_retracted_entry_is_marked_and_its_retraction_filed_with_it(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    submit(log, "NetworkEstablished", "2020-01-01", network="N", name="Network of N")
    wrong = submit(log, "StateJoinedNetwork", "2020-01-01", network="N", state="ARG",
                   role="member")
    retraction = submit(log, "EntryRetracted", position=wrong["position"], reason="a typo")
    catch_up(log, store, History())
    entries = history(store.reader(), Query(network="N"), retraction["position"])
    assert [(e["position"], e["retracted_by"]) for e in entries] == [
        (1, None), (2, 3), (3, None)]
    assert entries[1]["summary"] == "Argentina joined Network of N (N) as member"
    assert entries[2]["summary"] == "entry 2 retracted: a typo"
    assert history(store.reader(), Query(network="N"), 2)[-1]["position"] == 2


def test_the_record_at_a_moment_is_the_stretch_of_the_log_all_recorded_by_then(
    store: ProjectionStore,
) -> None:
    # Writers in several processes stamp entries with their own clocks: position 3 was
    # stamped before position 2, and 5 before 4.
    stamps = ["2026-11-28T10:00:00.000Z", "2026-11-28T10:00:02.000Z",
              "2026-11-28T10:00:01.000Z", "2026-11-28T10:00:04.000Z",
              "2026-11-28T10:00:03.000Z", "2026-11-28T10:00:05.000Z"]
    envelopes: list[Envelope] = [
        {"position": i, "type": "StateRegistered", "stream": f"state:X{i:02}", "version": 1,
         "effective_date": "2026-11-28", "recorded_at": stamp, "recorded_by": "test",
         "source": None, "data": {"state": f"X{i:02}", "name": f"State {i}"},
         "leaf_index": i - 1} for i, stamp in enumerate(stamps, start=1)]
    projection = History()
    with store.transaction() as cursor:
        projection.prepare(cursor)
        projection.apply(cursor, envelopes[:3])
    with store.transaction() as cursor:
        projection.apply(cursor, envelopes[3:])
    reader = store.reader()
    expected = {"2026-11-28T09:59:59.999Z": 0, "2026-11-28T10:00:00.000Z": 1,
                "2026-11-28T10:00:01.000Z": 1, "2026-11-28T10:00:01.500Z": 1,
                "2026-11-28T10:00:02.000Z": 3, "2026-11-28T10:00:03.000Z": 3,
                "2026-11-28T10:00:04.000Z": 5, "2026-11-28T10:00:05.000Z": 6,
                "2027-01-01T00:00:00.000Z": 6}
    assert {moment: position_at(reader, moment) for moment in expected} == expected
