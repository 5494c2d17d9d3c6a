"""Corrections in the read models: the replacement counts in place of the corrected entry,
the entity keeps its code, and history shows both."""

from __future__ import annotations

from concord.log.application import CoordinationLog
from concord.projections.conferences import Conferences, conference
from concord.projections.declarations import Declarations, declaration
from concord.projections.history import History, Query, history
from concord.projections.membership import Membership, members
from concord.projections.networks import Networks, network
from concord.projections.store import ProjectionStore
from tests.conftest import RECORDER, submit
from tests.projections.conftest import catch_up


def correct(log: CoordinationLog, position: int, type_: str, reason: str,
            effective_date: str | None = None, **data: object) -> int:
    raw: dict[str, object] = {"type": "EntryCorrected", "data": {
        "position": position, "reason": reason,
        "replacement": {"type": type_, "data": data}}}
    if effective_date is not None:
        raw["effective_date"] = effective_date
    return log.submit(raw, recorded_by=RECORDER)["position"]


def test_a_corrected_scheduling_gives_the_conference_its_city_and_keeps_its_delegations(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    scheduled = submit(log, "ConferenceScheduled", "2023-09-01", conference="ALCONU-II",
                       title="II ALCONU", host_state="PER", starts_on="2023-09-12")
    submit(log, "ConferenceHeld", "2023-09-12", conference="ALCONU-II")
    submit(log, "DelegationAttended", "2023-09-12", conference="ALCONU-II", state="ARG",
           role="participant")
    at = correct(log, scheduled["position"], "ConferenceScheduled", "wrong host, no city",
                 conference="ALCONU-II", title="II ALCONU", host_state="ARG",
                 city="Buenos Aires", starts_on="2023-09-12")
    catch_up(log, store, Conferences())
    catch_up(log, store, History())
    found = conference(store.reader(), "ALCONU-II")
    assert found is not None
    assert (found["host_state"], found["city"], found["status"]) == (
        "ARG", "Buenos Aires", "held")
    assert [d["state"] for d in found["delegations"]["participants"]] == ["ARG"]
    # Check history shows the original, marked as corrected, and the correction.
    entries = history(store.reader(), Query(conference="ALCONU-II"), log.last_position())
    assert entries[0]["retracted_by"] == at
    assert entries[-1]["summary"] == (
        f"entry {scheduled['position']} corrected (wrong host, no city): ALCONU-II scheduled: "
        "II ALCONU, Buenos Aires, Argentina, 2023-09-12")
    # Check the correction is filed under the corrected host too.
    hosted = history(store.reader(), Query(state="ARG"), log.last_position())
    assert at in [e["position"] for e in hosted]


def test_a_corrected_join_moves_the_membership_and_a_corrected_founding_keeps_the_members(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    founded = submit(log, "NetworkEstablished", "2023-09-12", network="N", name="Nw")
    joined = submit(log, "StateJoinedNetwork", "2023-09-12", network="N", state="ARG",
                    role="member")
    before = log.last_position()
    correct(log, joined["position"], "StateJoinedNetwork", "joined later", "2023-10-01",
            network="N", state="ARG", role="observer")
    correct(log, founded["position"], "NetworkEstablished", "its name", network="N",
            name="The Network")
    catch_up(log, store, Membership())
    catch_up(log, store, Networks())
    reader = store.reader()
    end = log.last_position()
    assert [(m.state, m.role, m.since) for m in members(reader, "N", "2023-10-01", end)] == [
        ("ARG", "observer", "2023-10-01")]
    assert members(reader, "N", "2023-09-20", end) == []
    # Check the record as it stood before the corrections still says what it said then.
    assert [(m.state, m.role) for m in members(reader, "N", "2023-09-20", before)] == [
        ("ARG", "member")]
    found = network(reader, "N")
    assert found is not None and found["name"] == "The Network"


def test_a_corrected_adoption_and_signature(log: CoordinationLog,
                                            store: ProjectionStore) -> None:
    adopted = submit(log, "DeclarationAdopted", "2023-09-12", declaration="D", title="Dcl")
    signed = submit(log, "DeclarationSigned", "2023-09-12", declaration="D", state="ARG")
    correct(log, adopted["position"], "DeclarationAdopted", "its title", declaration="D",
            title="The Declaration")
    correct(log, signed["position"], "DeclarationSigned", "signed by Brazil", declaration="D",
            state="BRA")
    catch_up(log, store, Declarations())
    found = declaration(store.reader(), "D")
    assert found is not None and found["title"] == "The Declaration"
    assert [s["state"] for s in found["signed"]] == ["BRA"]


def test_withdrawals_pair_with_signatures_in_effective_date_order(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    submit(log, "DeclarationAdopted", "2019-01-01", declaration="BA", title="BA")
    signed = submit(log, "DeclarationSigned", "2020-01-01", declaration="BA", state="ARG")
    submit(log, "SignatureWithdrawn", "2022-01-01", declaration="BA", state="ARG")
    # Check a corrected signature keeps the withdrawal that ends it.
    correct(log, signed["position"], "DeclarationSigned", "signatory named",
            declaration="BA", state="ARG", signatory={"name": "A. Person", "title": "Min"})
    # Check a withdrawal and a signature inserted into the past, as one batch, pair as
    # their dates say: BRA signed 2020, withdrew 2021, signed 2022, withdrew 2024.
    submit(log, "DeclarationSigned", "2020-01-01", declaration="BA", state="BRA")
    submit(log, "SignatureWithdrawn", "2024-01-01", declaration="BA", state="BRA")
    log.submit_batch([
        {"type": "SignatureWithdrawn", "effective_date": "2021-01-01",
         "data": {"declaration": "BA", "state": "BRA"}},
        {"type": "DeclarationSigned", "effective_date": "2022-01-01",
         "data": {"declaration": "BA", "state": "BRA"}}], recorded_by=RECORDER)
    catch_up(log, store, Declarations())
    found = declaration(store.reader(), "BA")
    assert found is not None
    assert found["signed"] == []
    assert sorted((w["state"], w["signed_on"], w["withdrawn_on"]) for w in found["withdrawn"]) == [
        ("ARG", "2020-01-01", "2022-01-01"), ("BRA", "2020-01-01", "2021-01-01"),
        ("BRA", "2022-01-01", "2024-01-01")]


def test_a_correction_takes_the_place_of_the_entry_it_corrects_among_same_day_entries(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    submit(log, "NetworkEstablished", "2024-01-01", network="N", name="N")
    joined = submit(log, "StateJoinedNetwork", "2024-01-01", network="N", state="ECU",
                    role="member")
    submit(log, "StateLeftNetwork", "2024-01-01", network="N", state="ECU")
    member = submit(log, "StateJoinedNetwork", "2024-02-01", network="N", state="BRA",
                    role="member")
    submit(log, "StateJoinedNetwork", "2024-02-01", network="N", state="BRA", role="observer")
    # Check correcting an entry with a day's later entries keeps it before them: the join
    # before the leave of the same day, the member before the observer.
    for entry in (joined, member):
        log.submit({"type": "EntryCorrected", "source": "cited now", "data": {
            "position": entry["position"], "reason": "its source",
            "replacement": {"type": "StateJoinedNetwork", "data": entry["data"]}}},
            recorded_by=RECORDER)
    catch_up(log, store, Membership())
    found = members(store.reader(), "N", "2024-02-01", log.last_position())
    assert [(m.state, m.role) for m in found] == [("BRA", "observer")]
