"""The offices of a network recorded through the API, on both backends: terms that rotate
(as a pro tempore presidency does), one holder at a time, a member alone, recorded out of
date order and read as the record stood at any position."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.test_suspensions import dossier, last

PRESIDENCY = "pro-tempore-presidency"


def record(client: TestClient, type_: str, day: str, **data: Any) -> dict[str, Any]:
    answer = client.post("/v1/events", json={"type": type_, "effective_date": day,
                                             "data": {"network": "N", **data}})
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def assume(client: TestClient, day: str, state: str, ends: str | None = None,
           office: str = PRESIDENCY) -> dict[str, Any]:
    return record(client, "OfficeAssumed", day, office=office, state=state,
                  **({"term_ends_on": ends} if ends else {}))


def held(client: TestClient, on: str, as_of: int | None = None) -> dict[str, Any]:
    """Office -> (state, since, until) on `on`, as of `as_of`, the read model caught up."""
    answer = client.get("/v1/networks/N/offices", params={
        "on": on, "min_position": last(client), **({"as_of": as_of} if as_of else {})})
    assert answer.status_code == 200, answer.text
    return {o["office"]: (o["state"], o["since"], o["until"])
            for o in answer.json()["offices"]}


def refused(client: TestClient, status: int, type_: str, day: str,
            **data: Any) -> dict[str, Any]:
    """The problem a refused submission gets; checks that nothing was appended."""
    end = last(client)
    answer = client.post("/v1/events", json={"type": type_, "effective_date": day,
                                             "data": {"network": "N", **data}})
    assert answer.status_code == status, answer.text
    assert last(client) == end
    problem: dict[str, Any] = answer.json()
    return problem


def founded(client: TestClient) -> None:
    """An invented network of four members, and one observer."""
    assert client.post("/v1/events", json={
        "type": "NetworkEstablished", "effective_date": "2000-01-01",
        "data": {"network": "N", "name": "A network"}}).status_code == 201
    for state in ("ARG", "BRA", "PRY", "URY"):
        record(client, "StateJoinedNetwork", "2000-01-01", state=state, role="member")
    record(client, "StateJoinedNetwork", "2000-01-01", state="CHL", role="observer")


def test_a_presidency_rotating_every_six_months(client: TestClient) -> None:
    founded(client)
    argentina = assume(client, "2020-01-01", "ARG", "2020-07-01")
    brazil = assume(client, "2020-07-01", "BRA", "2021-01-01")
    assume(client, "2021-01-01", "PRY")
    assume(client, "2021-01-01", "URY", office="secretariat")

    assert held(client, "2019-12-31") == {}
    assert held(client, "2020-03-01") == {PRESIDENCY: ("ARG", "2020-01-01", "2020-07-01")}
    assert held(client, "2020-07-01") == {PRESIDENCY: ("BRA", "2020-07-01", "2021-01-01")}
    assert held(client, "2022-01-01") == {PRESIDENCY: ("PRY", "2021-01-01", None),
                                          "secretariat": ("URY", "2021-01-01", None)}
    # As the record stood before Brazil's term was recorded: nobody after Argentina's.
    assert held(client, "2020-08-01", brazil["position"] - 1) == {}
    assert held(client, "2020-08-01", brazil["position"])[PRESIDENCY][0] == "BRA"
    # Paraguay hands over early; Uruguay takes over the day it does.
    handed = record(client, "OfficeRelinquished", "2021-05-01", office=PRESIDENCY,
                    state="PRY", reason="Handed over")
    assume(client, "2021-05-01", "URY", "2021-07-01")
    assert held(client, "2021-04-30")[PRESIDENCY] == ("PRY", "2021-01-01", "2021-05-01")
    assert held(client, "2021-04-30", handed["position"] - 1)[PRESIDENCY] == (
        "PRY", "2021-01-01", None)
    assert held(client, "2021-05-01")[PRESIDENCY] == ("URY", "2021-05-01", "2021-07-01")
    assert held(client, "2021-07-01") == {"secretariat": ("URY", "2021-01-01", None)}

    # Out of date order: a term of 2019, recorded last, fits before Argentina's.
    late = assume(client, "2019-07-01", "URY", "2020-01-01")
    assert held(client, "2019-08-01") == {PRESIDENCY: ("URY", "2019-07-01", "2020-01-01")}
    assert held(client, "2019-08-01", late["position"] - 1) == {}

    found = dossier(client, "URY")["offices"]
    assert found == [
        {"network": "N", "office": PRESIDENCY, "valid_from": "2019-07-01",
         "valid_to": "2020-01-01"},
        {"network": "N", "office": "secretariat", "valid_from": "2021-01-01",
         "valid_to": None},
        {"network": "N", "office": PRESIDENCY, "valid_from": "2021-05-01",
         "valid_to": "2021-07-01"}]
    history = client.get("/v1/history", params={
        "state": "ARG", "type": "OfficeAssumed", "min_position": last(client)}).json()
    assert [e["summary"] for e in history["entries"]] == [
        f"Argentina assumed the office {PRESIDENCY} of A network (N) until 2020-07-01"]
    assert history["entries"][0]["position"] == argentina["position"]

    # The console: the network's offices on a date, and the offices a state held.
    page = client.get("/networks/N", params={"on": "2020-03-01"}).text
    assert f'<td class="code">{PRESIDENCY}</td><td><a href="/states/ARG">Argentina</a>' in page
    assert 'id="offices-heading"' in client.get("/states/URY").text
    csv = client.get("/v1/networks/N/offices", params={"on": "2020-03-01", "format": "csv"})
    assert csv.text.splitlines() == ["office,state,name,since,until",
                                     f"{PRESIDENCY},ARG,Argentina,2020-01-01,2020-07-01"]


def test_one_holder_at_a_time_and_a_member_alone(client: TestClient) -> None:
    founded(client)
    paraguay = assume(client, "2021-01-01", "PRY")
    argentina = assume(client, "2020-01-01", "ARG", "2020-07-01")

    problem = refused(client, 409, "OfficeAssumed", "2022-01-01", office=PRESIDENCY,
                      state="BRA")
    assert "held by PRY from 2021-01-01" in problem["detail"]
    assert problem["contradicts"] == [{"position": paraguay["position"],
                                       "effective_date": "2021-01-01"}]
    # Back-dated into Argentina's term.
    problem = refused(client, 409, "OfficeAssumed", "2020-03-01", office=PRESIDENCY,
                      state="BRA", term_ends_on="2020-06-01")
    assert problem["contradicts"][0]["position"] == argentina["position"]
    # A term with no end, before Paraguay's: Paraguay could then not have taken over.
    problem = refused(client, 409, "OfficeAssumed", "2020-08-01", office=PRESIDENCY,
                      state="BRA")
    assert "held by BRA from 2020-08-01 (this entry) with no end of term recorded, so PRY " \
        "cannot assume it on 2021-01-01" in problem["detail"]
    assert problem["contradicts"][0]["position"] == paraguay["position"]
    # Only members: not an observer, not a state outside the network.
    assert "an observer of N" in refused(client, 409, "OfficeAssumed", "2020-08-01",
                                         office="secretariat", state="CHL")["detail"]
    assert "not a member of N" in refused(client, 409, "OfficeAssumed", "2020-08-01",
                                          office="secretariat", state="MEX")["detail"]
    # Only the holder relinquishes, during its term.
    assert "ARG does not hold" in refused(client, 409, "OfficeRelinquished", "2021-06-01",
                                          office=PRESIDENCY, state="ARG")["detail"]
    assert "does not hold" in refused(client, 409, "OfficeRelinquished", "2020-09-01",
                                      office=PRESIDENCY, state="ARG")["detail"]
    # A holder cannot be recorded as having left while it held the office.
    problem = refused(client, 409, "StateLeftNetwork", "2020-12-01", state="PRY")
    assert "left N on 2020-12-01" in problem["detail"]
    assert problem["contradicts"][0]["position"] == paraguay["position"]
    bad = refused(client, 422, "OfficeAssumed", "2020-08-01", office=PRESIDENCY,
                  state="BRA", term_ends_on="2020-08-01")
    assert bad["errors"][0]["field"] == "data.term_ends_on"
    bad = refused(client, 422, "OfficeAssumed", "2020-08-01", office="a b", state="BRA")
    assert bad["errors"][0]["field"] == "data.office"


def test_a_retracted_or_corrected_term_is_redrawn(client: TestClient) -> None:
    founded(client)
    first = assume(client, "2020-01-01", "ARG", "2020-07-01")
    corrected = client.post("/v1/events", json={
        "type": "EntryCorrected", "effective_date": "2020-02-01", "data": {
            "position": first["position"], "reason": "The handover was in February",
            "replacement": {"type": "OfficeAssumed", "data": {
                "network": "N", "office": PRESIDENCY, "state": "ARG",
                "term_ends_on": "2020-08-01"}}}})
    assert corrected.status_code == 201, corrected.text
    assert held(client, "2020-01-15") == {}
    assert held(client, "2020-07-15")[PRESIDENCY] == ("ARG", "2020-02-01", "2020-08-01")
    assert held(client, "2020-01-15", corrected.json()["position"] - 1)[PRESIDENCY][0] == "ARG"
    retracted = client.post("/v1/events", json={"type": "EntryRetracted", "data": {
        "position": corrected.json()["position"], "reason": "No such term"}})
    assert retracted.status_code == 201, retracted.text
    assert held(client, "2020-07-15") == {}
    assert dossier(client, "ARG")["offices"] == []
    # The office is free again: another member may take it then.
    assume(client, "2020-03-01", "BRA")
    assert held(client, "2020-07-15")[PRESIDENCY][0] == "BRA"


def test_a_corrected_founding_keeps_the_network_s_offices(client: TestClient) -> None:
    founded(client)
    argentina = assume(client, "2020-01-01", "ARG")
    corrected = client.post("/v1/events", json={"type": "EntryCorrected", "data": {
        "position": 1, "reason": "The name", "replacement": {
            "type": "NetworkEstablished", "data": {"network": "N", "name": "The network"}}}})
    assert corrected.status_code == 201, corrected.text
    assert held(client, "2021-01-01") == {PRESIDENCY: ("ARG", "2020-01-01", None)}
    assert held(client, "2021-01-01", argentina["position"]) == {
        PRESIDENCY: ("ARG", "2020-01-01", None)}
    assert dossier(client, "ARG")["offices"][0]["office"] == PRESIDENCY
    # As of a position before a network was founded, it was not on record (as for members).
    other = client.post("/v1/events", json={"type": "NetworkEstablished", "effective_date":
                                            "2001-01-01", "data": {"network": "M", "name": "M"}})
    for path in ("offices", "members"):
        answer = client.get(f"/v1/networks/M/{path}", params={
            "as_of": other.json()["position"] - 1, "min_position": last(client)})
        assert answer.status_code == 404, (path, answer.text)
    # A corrected term is checked as a new one is.
    wrong = client.post("/v1/events", json={"type": "EntryCorrected", "data": {
        "position": argentina["position"], "reason": "The end", "replacement": {
            "type": "OfficeAssumed", "data": {"network": "N", "office": PRESIDENCY,
                                              "state": "ARG", "term_ends_on": "2019-01-01"}}}})
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["errors"][0]["field"] == "data.replacement.data.term_ends_on"
