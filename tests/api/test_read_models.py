"""Networks, conferences and states over HTTP, with read-your-writes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from concord.api.http.app import create_app
from concord.api.scenario import founding_scenario
from concord.api.settings import Settings
from concord.projections.remote import RemoteProjections
from concord.projections.runner import ProjectionRunner
from tests.api.conftest import RECORDER, bearer


@pytest.fixture
def founded(client: TestClient) -> int:
    """The founding scenario recorded; the position of its last entry."""
    answer = client.post("/v1/events/batch",
                         json={"events": list(founding_scenario().submissions)})
    assert answer.status_code == 201, answer.text
    last: int = answer.json()["events"][-1]["position"]
    return last


def test_networks_with_founding_and_statutes(client: TestClient, founded: int) -> None:
    listed = client.get("/v1/networks", params={"min_position": founded}).json()
    assert [n["code"] for n in listed] == ["RELACOPAZ"]
    one = client.get("/v1/networks/RELACOPAZ").json()
    assert one == listed[0]
    assert one["established_on"] == "2023-09-12"
    assert one["statutes"][0]["title"] == "Constitutive Statute of RELACOPAZ"
    # Each read model catches up on its own: the members are asked for at the same position.
    assert client.get(one["members_href"], params={"min_position": founded}).json()["count"] == 18
    missing = client.get("/v1/networks/NOPE")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_conferences_schedule_delegations_and_sessions(client: TestClient, founded: int
                                                       ) -> None:
    listed = client.get("/v1/conferences", params={"min_position": founded}).json()
    assert [c["code"] for c in listed] == ["ALCONU-I", "ALCONU-II", "ALCONU-III"]
    assert [c["code"] for c in client.get("/v1/conferences",
                                          params={"host_state": "ARG"}).json()] == ["ALCONU-II"]
    assert client.get("/v1/conferences", params={"status": "cancelled"}).json() == []
    second = client.get("/v1/conferences/ALCONU-II").json()
    assert second["host_name"] == "Argentina" and second["status"] == "held"
    delegations = second["delegations"]
    assert len(delegations["participants"]) + len(delegations["observers"]) == 22
    assert {d["name"] for d in delegations["participants"]} >= {"Argentina", "Uruguay"}
    assert len(second["sessions"]) == 5
    assert client.get("/v1/conferences/NOPE").status_code == 404
    for params in ({"status": "postponed"}, {"host_state": "ar"}, {"network": "-x"}):
        bad = client.get("/v1/conferences", params=params)
        assert bad.status_code == 422, params
        assert bad.json()["errors"][0]["field"] == next(iter(params))


def test_a_conference_scheduled_to_the_month_keeps_its_precision(client: TestClient) -> None:
    scheduled = client.post("/v1/events", json={
        "type": "ConferenceScheduled", "data": {"conference": "ALCONU-IV", "title": "IV",
                                                "host_state": "URY", "starts_on": "2027-10"}})
    position = scheduled.json()["position"]
    found = client.get("/v1/conferences/ALCONU-IV", params={"min_position": position}).json()
    assert (found["starts_on"], found["ends_on"], found["status"]) == (
        "2027-10", None, "scheduled")
    moved = client.post("/v1/events", json={
        "type": "ConferenceRescheduled",
        "data": {"conference": "ALCONU-IV", "starts_on": "2027-11-03",
                 "ends_on": "2027-11-04"}}).json()["position"]
    found = client.get("/v1/conferences/ALCONU-IV", params={"min_position": moved}).json()
    assert (found["starts_on"], found["ends_on"]) == ("2027-11-03", "2027-11-04")
    assert [c["position"] for c in found["schedule"]] == [position, moved]


def test_a_states_dossier(client: TestClient, founded: int) -> None:
    argentina = client.get("/v1/states/ARG", params={"min_position": founded}).json()
    assert argentina["name"] == "Argentina" and argentina["registered"] is None
    assert argentina["memberships"] == [{"network": "RELACOPAZ", "role": "member",
                                         "valid_from": "2023-09-12", "valid_to": None}]
    assert [s["declaration"] for s in argentina["signatures"]] == ["BUENOS-AIRES-2023"]
    assert [a["conference"] for a in argentina["attendances"]] == ["ALCONU-II", "ALCONU-III"]
    assert [h["code"] for h in argentina["hosted"]] == ["ALCONU-II"]
    assert all(p >= founded for p in argentina["positions"].values())
    # A state with an ISO code and nothing on record has an empty dossier.
    iceland = client.get("/v1/states/ISL").json()
    assert iceland["name"] == "Iceland" and iceland["memberships"] == []


def test_a_registered_state_and_a_code_nobody_has(client: TestClient) -> None:
    unknown = client.get("/v1/states/XKX")
    assert unknown.status_code == 404
    assert "not registered" in unknown.json()["detail"]
    registered = client.post("/v1/events", json={
        "type": "StateRegistered", "data": {"state": "XKX", "name": "Kosovo"}}).json()
    found: dict[str, Any] = client.get(
        "/v1/states/XKX", params={"min_position": registered["position"]}).json()
    assert found["name"] == "Kosovo"
    assert found["registered"]["registered_at"] == registered["position"]
    wrong = client.get("/v1/states/AR")
    assert wrong.status_code == 422 and "'ARG'" in wrong.json()["detail"]


def test_a_second_app_on_the_same_log_reads_what_the_first_one_projects(
    settings: Settings, tokens: dict[str, str]
) -> None:
    with TestClient(create_app(settings), headers=bearer(tokens[RECORDER])) as first, \
            TestClient(create_app(settings), headers=bearer(tokens[RECORDER])) as second:
        assert isinstance(first.app.state.projections, ProjectionRunner)  # type: ignore[attr-defined]
        assert isinstance(second.app.state.projections, RemoteProjections)  # type: ignore[attr-defined]
        position = second.post("/v1/events", json={
            "type": "NetworkEstablished", "data": {"network": "N", "name": "Network"}}
        ).json()["position"]
        found = second.get("/v1/networks/N", params={"min_position": position})
        assert found.status_code == 200 and found.json()["name"] == "Network"
        ready = second.get("/readyz").json()
        assert set(ready["projections"].values()) == {"ok"}
