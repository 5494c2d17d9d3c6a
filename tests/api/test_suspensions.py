"""Suspensions recorded through the API, on both backends: the OAS's cases of Honduras
(suspended on 4 July 2009, readmitted on 1 June 2011) and of Cuba (its government excluded
from participation on 31 January 1962, the exclusion lifted on 3 June 2009), members on
dates before, during and after, as of positions before and after the entries."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

OAS = {"type": "NetworkEstablished", "effective_date": "1948-04-30",
       "data": {"network": "OAS", "name": "Organization of American States"}}


def post(client: TestClient, type_: str, day: str, network: str = "OAS", **data: Any) -> Any:
    answer = client.post("/v1/events", json={
        "type": type_, "effective_date": day, "data": {"network": network, **data}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def members(client: TestClient, on: str, as_of: int | None = None, network: str = "OAS",
            **params: Any) -> dict[str, bool]:
    """State -> suspended, for `network` on `on` as of `as_of`, once the read model has
    caught up with the whole log."""
    asked = {"on": on, "min_position": last(client), **params,
             **({"as_of": as_of} if as_of is not None else {})}
    answer = client.get(f"/v1/networks/{network}/members", params=asked)
    assert answer.status_code == 200, answer.text
    return {m["state"]: m["suspended"] for m in answer.json()["members"]}


def last(client: TestClient) -> int:
    """The log's last position."""
    found: int = client.get("/v1/events", params={"limit": 1000}).json()["events"][-1][
        "position"]
    return found


def dossier(client: TestClient, state: str) -> dict[str, Any]:
    answer = client.get(f"/v1/states/{state}", params={"min_position": last(client)})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def refused(client: TestClient, type_: str, day: str, **data: Any) -> dict[str, Any]:
    """The problem a refused submission gets; checks that nothing was appended."""
    end = last(client)
    answer = client.post("/v1/events", json={
        "type": type_, "effective_date": day, "data": {"network": "OAS", **data}})
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert last(client) == end
    problem: dict[str, Any] = answer.json()
    return problem


def test_honduras_suspended_and_readmitted(client: TestClient) -> None:
    client.post("/v1/events", json=OAS)
    joined = post(client, "StateJoinedNetwork", "1948-04-30", state="HND", role="member")
    post(client, "StateJoinedNetwork", "1948-04-30", state="ARG", role="member")
    suspended = post(client, "MembershipSuspended", "2009-07-04", state="HND",
                     reason="The coup d'état of 28 June 2009",
                     authority="OAS General Assembly")
    lifted = post(client, "SuspensionLifted", "2011-06-01", state="HND")

    # Before, during and after, as the record stands now.
    assert members(client, "2009-07-03") == {"ARG": False, "HND": False}
    assert members(client, "2009-07-04") == {"ARG": False, "HND": True}
    assert members(client, "2011-05-31") == {"ARG": False, "HND": True}
    assert members(client, "2011-06-01") == {"ARG": False, "HND": False}
    # As the record stood before the suspension was recorded, and before its lift was.
    assert members(client, "2010-01-01", suspended["position"] - 1)["HND"] is False
    assert members(client, "2010-01-01", suspended["position"])["HND"] is True
    assert members(client, "2012-01-01", lifted["position"] - 1)["HND"] is True
    assert members(client, "2012-01-01", lifted["position"])["HND"] is False
    # A suspended member stays a member, and the filter leaves it out or keeps it alone.
    assert members(client, "2010-01-01", suspended="false") == {"ARG": False}
    assert members(client, "2010-01-01", suspended="true") == {"HND": True}
    csv = client.get("/v1/networks/OAS/members", params={"on": "2010-01-01",
                                                         "format": "csv"}).text
    assert csv.splitlines()[0] == "state,name,role,since,suspended"
    assert "HND,Honduras,member,1948-04-30,true" in csv.splitlines()

    found = dossier(client, "HND")
    assert found["memberships"] == [{"network": "OAS", "role": "member",
                                       "valid_from": "1948-04-30", "valid_to": None}]
    assert found["suspensions"] == [{"network": "OAS", "valid_from": "2009-07-04",
                                       "valid_to": "2011-06-01"}]
    history = client.get("/v1/history", params={"state": "HND",
                                                "min_position": last(client)}).json()["entries"]
    assert [e["summary"] for e in history] == [
        "Honduras joined Organization of American States (OAS) as member",
        "Honduras suspended from Organization of American States (OAS) by OAS General "
        "Assembly",
        "Honduras's suspension from Organization of American States (OAS) lifted"]
    assert history[0]["position"] == joined["position"]

    # The console says so too: in the member list of a date, and in the state's page.
    page = client.get("/networks/OAS", params={"on": "2010-01-01"}).text
    assert '<td class="code">HND</td><td>member, suspended</td>' in page
    assert '<td class="code">ARG</td><td>member</td>' in page
    state_page = client.get("/states/HND").text
    assert 'id="suspensions-heading"' in state_page
    assert "<td>4 Jul 2009</td><td>1 Jun 2011</td>" in state_page
    assert 'id="suspensions-heading"' not in client.get("/states/ARG").text


def test_cuba_excluded_in_1962_recorded_after_later_entries(client: TestClient) -> None:
    client.post("/v1/events", json=OAS)
    post(client, "StateJoinedNetwork", "1948-04-30", state="CUB", role="member")
    # The lift's later neighbours are recorded first; the 1962 exclusion comes in after.
    post(client, "StateJoinedNetwork", "1948-04-30", state="HND", role="member")
    post(client, "MembershipSuspended", "2009-07-04", state="HND")
    excluded = post(client, "MembershipSuspended", "1962-01-31", state="CUB",
                    reason="Exclusion of the present Government of Cuba from participation")
    lifted = post(client, "SuspensionLifted", "2009-06-03", state="CUB")

    assert members(client, "1962-01-30") == {"CUB": False, "HND": False}
    assert members(client, "1980-01-01") == {"CUB": True, "HND": False}
    assert members(client, "2009-06-03") == {"CUB": False, "HND": False}
    assert members(client, "2010-01-01") == {"CUB": False, "HND": True}
    assert members(client, "1980-01-01", excluded["position"] - 1)["CUB"] is False
    assert members(client, "2010-01-01", lifted["position"] - 1) == {"CUB": True,
                                                                      "HND": True}
    assert dossier(client, "CUB")["suspensions"] == [
        {"network": "OAS", "valid_from": "1962-01-31", "valid_to": "2009-06-03"}]


def test_suspensions_that_change_nothing_are_refused_and_append_nothing(
    client: TestClient,
) -> None:
    client.post("/v1/events", json=OAS)
    post(client, "StateJoinedNetwork", "1948-04-30", state="HND", role="member")
    post(client, "StateJoinedNetwork", "1990-01-01", state="CAN", role="observer")
    first = post(client, "MembershipSuspended", "2009-07-04", state="HND")
    lifted = post(client, "SuspensionLifted", "2011-06-01", state="HND")

    again = refused(client, "MembershipSuspended", "2010-01-01", state="HND")
    assert "already suspended from OAS since 2009-07-04" in again["detail"]
    assert again["contradicts"] == [{"position": first["position"],
                                     "effective_date": "2009-07-04"}]
    twice = refused(client, "SuspensionLifted", "2012-01-01", state="HND")
    assert "was lifted on 2011-06-01" in twice["detail"]
    assert twice["contradicts"][0]["position"] == lifted["position"]
    assert "not suspended" in refused(client, "SuspensionLifted", "2000-01-01",
                                      state="HND")["detail"]
    # Only a member can be suspended: not an observer, not a state outside the network.
    assert "an observer of OAS" in refused(client, "MembershipSuspended", "2000-01-01",
                                           state="CAN")["detail"]
    assert "not a member of OAS on 1940-01-01" in refused(
        client, "MembershipSuspended", "1940-01-01", state="HND")["detail"]
    assert "not a member" in refused(client, "MembershipSuspended", "2000-01-01",
                                     state="BRA")["detail"]
    # A back-dated leave would end the suspension before its lift: the lift would then
    # change nothing, so the leave is refused, naming the lift.
    leave = refused(client, "StateLeftNetwork", "2010-01-01", state="HND")
    assert "cannot be lifted on 2011-06-01" in leave["detail"]
    assert leave["contradicts"][0]["position"] == lifted["position"]
    unknown = client.post("/v1/events", json={
        "type": "MembershipSuspended", "data": {"network": "OAS", "state": "HN"}})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "data.state"


def test_leaving_ends_a_suspension_and_a_retraction_or_correction_redraws_it(
    client: TestClient,
) -> None:
    # An invented network, and invented decisions of it.
    client.post("/v1/events", json={"type": "NetworkEstablished", "effective_date": "2000-01-01",
                                    "data": {"network": "N", "name": "A network"}})

    def n(type_: str, day: str, state: str, **data: Any) -> Any:
        return post(client, type_, day, network="N", state=state, **data)

    def on(day: str, as_of: int | None = None) -> dict[str, bool]:
        return members(client, day, as_of, network="N")

    n("StateJoinedNetwork", "2000-01-01", "VEN", role="member")
    n("StateJoinedNetwork", "2000-01-01", "PAN", role="member")
    n("MembershipSuspended", "2010-01-01", "PAN")
    # Becoming an observer ends a suspension: an observer is not suspended.
    n("StateJoinedNetwork", "2012-01-01", "PAN", role="observer")
    assert on("2011-01-01")["PAN"] is True and on("2012-01-01")["PAN"] is False
    assert client.post("/v1/events", json={
        "type": "SuspensionLifted", "effective_date": "2013-01-01",
        "data": {"network": "N", "state": "PAN"}}).status_code == 409

    suspended = n("MembershipSuspended", "2016-06-01", "VEN")
    n("StateLeftNetwork", "2019-04-27", "VEN")
    assert on("2019-04-26")["VEN"] is True
    assert "VEN" not in on("2019-04-27")
    assert dossier(client, "VEN")["suspensions"] == [
        {"network": "N", "valid_from": "2016-06-01", "valid_to": "2019-04-27"}]
    # Joining again starts clean.
    n("StateJoinedNetwork", "2024-01-01", "VEN", role="member")
    assert on("2024-01-01")["VEN"] is False

    corrected = client.post("/v1/events", json={
        "type": "EntryCorrected", "data": {
            "position": suspended["position"], "reason": "Wrong date",
            "replacement": {"type": "MembershipSuspended",
                            "data": {"network": "N", "state": "VEN"}}},
        "effective_date": "2017-06-01"})
    assert corrected.status_code == 201, corrected.text
    assert on("2016-12-01")["VEN"] is False
    assert on("2016-12-01", corrected.json()["position"] - 1)["VEN"] is True
    assert on("2018-01-01")["VEN"] is True

    retracted = client.post("/v1/events", json={
        "type": "EntryRetracted", "data": {"position": corrected.json()["position"],
                                           "reason": "No such decision"}})
    assert retracted.status_code == 201, retracted.text
    assert on("2018-01-01")["VEN"] is False
    assert dossier(client, "VEN")["suspensions"] == []
    assert dossier(client, "PAN")["suspensions"] == [
        {"network": "N", "valid_from": "2010-01-01", "valid_to": "2012-01-01"}]


def test_retracting_the_correction_of_a_founding_withdraws_the_network(
    client: TestClient,
) -> None:
    client.post("/v1/events", json=OAS)
    post(client, "StateJoinedNetwork", "1948-04-30", state="HND", role="member")
    post(client, "MembershipSuspended", "2009-07-04", state="HND")
    corrected = client.post("/v1/events", json={"type": "EntryCorrected", "data": {
        "position": 1, "reason": "The name", "replacement": {
            "type": "NetworkEstablished", "data": {
                "network": "OAS", "name": "Organization of American States (OAS)"}}}})
    assert corrected.status_code == 201, corrected.text
    assert members(client, "2010-01-01") == {"HND": True}
    retracted = client.post("/v1/events", json={"type": "EntryRetracted", "data": {
        "position": corrected.json()["position"], "reason": "No such network"}})
    assert retracted.status_code == 201, retracted.text
    # The correction was the founding fact in force: without it, nobody was ever in.
    assert members(client, "2010-01-01") == {}
    assert members(client, "2010-01-01", retracted.json()["position"] - 1) == {"HND": True}
    assert dossier(client, "HND")["suspensions"] == []
