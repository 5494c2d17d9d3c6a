"""Conferences and networks: schedules, status, delegations, sessions, statutes, retractions."""

from __future__ import annotations

import pytest

from concord.api.scenario import founding_scenario
from concord.domain.errors import RuleViolation
from concord.log.application import CoordinationLog
from concord.projections.conferences import Conferences, attendances, conference, list_conferences
from concord.projections.networks import Networks, list_networks, network, registered_state
from concord.projections.store import ProjectionStore
from tests.conftest import RECORDER, submit
from tests.projections.conftest import catch_up


def test_the_founding_conferences(log: CoordinationLog, store: ProjectionStore) -> None:
    log.submit_batch(founding_scenario().submissions, recorded_by="concord-demo")
    catch_up(log, store, Conferences(), page=7)
    listed = {c["code"]: c for c in list_conferences(store.reader())}
    assert list(listed) == ["ALCONU-I", "ALCONU-II", "ALCONU-III"]
    assert listed["ALCONU-II"]["host_state"] == "ARG" and listed["ALCONU-II"]["status"] == "held"
    second = conference(store.reader(), "ALCONU-II")
    assert second is not None
    participants = second["delegations"]["participants"]
    assert len(participants) + len(second["delegations"]["observers"]) == 22
    assert len(second["sessions"]) == 5
    assert all(s["held_on"] == "2023-09-12" for s in second["sessions"])
    assert [a["conference"] for a in attendances(store.reader(), "ARG")] == [
        "ALCONU-II", "ALCONU-III"]
    assert list_conferences(store.reader(), host_state="PRY")[0]["code"] == "ALCONU-III"
    assert conference(store.reader(), "NOPE") is None


def test_retracting_a_rescheduling_brings_back_the_dates_before_it(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    submit(log, "ConferenceScheduled", "2024-01-01", conference="C", title="C",
           host_state="PRY", starts_on="2025")
    moved = submit(log, "ConferenceRescheduled", "2024-06-01", conference="C",
                   starts_on="2025-10-08", ends_on="2025-10-09")
    catch_up(log, store, Conferences())
    found = conference(store.reader(), "C")
    assert found is not None
    assert (found["starts_on"], found["ends_on"], found["status"]) == (
        "2025-10-08", "2025-10-09", "scheduled")
    assert [c["type"] for c in found["schedule"]] == ["ConferenceScheduled",
                                                     "ConferenceRescheduled"]
    submit(log, "EntryRetracted", position=moved["position"], reason="wrong dates")
    catch_up(log, store, Conferences())
    found = conference(store.reader(), "C")
    assert found is not None
    assert (found["starts_on"], found["ends_on"]) == ("2025", None)
    assert [c["type"] for c in found["schedule"]] == ["ConferenceScheduled"]


def test_status_delegations_and_sessions_follow_retractions(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    submit(log, "ConferenceScheduled", "2024-01-01", conference="C", title="C",
           host_state="PRY", starts_on="2025-10-08", ends_on="2025-10-09")
    submit(log, "DelegationAttended", "2025-10-08", conference="C", state="ARG",
           role="participant", head={"name": "A. Person", "title": "Minister"})
    observer = submit(log, "DelegationAttended", "2025-10-09", conference="C", state="ARG",
                      role="observer")
    held = submit(log, "ConferenceHeld", "2025-10-09", conference="C")
    session = submit(log, "SessionHeld", "2025-10-09", conference="C", title="Opening",
                     speakers=[{"name": "B. Person", "title": "Chair", "state": "PRY"}])
    catch_up(log, store, Conferences())
    found = conference(store.reader(), "C")
    assert found is not None and found["status"] == "held" and found["status_on"] == "2025-10-09"
    assert [d["state"] for d in found["delegations"]["observers"]] == ["ARG"]
    assert found["delegations"]["participants"] == []
    assert found["sessions"] == [{"title": "Opening", "held_on": "2025-10-09",
                                  "position": session["position"],
                                  "speakers": [{"name": "B. Person", "title": "Chair",
                                                "state": "PRY"}]}]
    submit(log, "EntryRetracted", position=session["position"], reason="no such session")
    submit(log, "EntryRetracted", position=held["position"], reason="not yet held")
    submit(log, "EntryRetracted", position=observer["position"], reason="was a participant")
    catch_up(log, store, Conferences())
    found = conference(store.reader(), "C")
    assert found is not None and found["status"] == "scheduled" and found["status_on"] is None
    assert found["sessions"] == []
    assert [(d["state"], d["head"]) for d in found["delegations"]["participants"]] == [
        ("ARG", {"name": "A. Person", "title": "Minister"})]
    # A conference that was attended cannot be cancelled: the delegation goes with it.
    with pytest.raises(RuleViolation, match="cannot have taken place"):
        submit(log, "ConferenceCancelled", "2025-11-01", conference="C", reason="no quorum")
    _, cancelled = log.submit_batch([
        {"type": "EntryRetracted", "data": {"position": 2, "reason": "did not take place"}},
        {"type": "ConferenceCancelled", "data": {"conference": "C", "reason": "no quorum"},
         "effective_date": "2025-11-01"}], recorded_by=RECORDER)
    catch_up(log, store, Conferences())
    found = conference(store.reader(), "C")
    assert found is not None
    assert (found["status"], found["status_reason"]) == ("cancelled", "no quorum")
    assert list_conferences(store.reader(), status="cancelled")[0]["delegations"] == 0
    submit(log, "EntryRetracted", position=cancelled["position"], reason="it goes ahead")
    submit(log, "EntryRetracted", position=1, reason="never scheduled")
    catch_up(log, store, Conferences())
    assert conference(store.reader(), "C") is None
    assert list_conferences(store.reader()) == []
    assert attendances(store.reader(), "ARG") == []


def test_networks_statutes_and_registered_states(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    submit(log, "NetworkEstablished", "2020-01-01", network="N", name="Network",
           acronym="NET")
    statute = submit(log, "StatuteApproved", "2020-02-01", network="N", title="Statute")
    registered = submit(log, "StateRegistered", state="XKX", name="Kosovo")
    catch_up(log, store, Networks())
    found = network(store.reader(), "N")
    assert found is not None and found["acronym"] == "NET" and found["established_on"] == (
        "2020-01-01")
    assert found["statutes"] == [{"title": "Statute", "conference": None,
                                  "approved_on": "2020-02-01",
                                  "position": statute["position"]}]
    state = registered_state(store.reader(), "XKX")
    assert state is not None and state["name"] == "Kosovo"
    submit(log, "EntryRetracted", position=statute["position"], reason="not approved")
    submit(log, "EntryRetracted", position=registered["position"], reason="duplicate")
    catch_up(log, store, Networks())
    assert list_networks(store.reader())[0]["statutes"] == []
    assert registered_state(store.reader(), "XKX") is None
    submit(log, "EntryRetracted", position=1, reason="never established")
    catch_up(log, store, Networks())
    assert network(store.reader(), "N") is None and list_networks(store.reader()) == []
