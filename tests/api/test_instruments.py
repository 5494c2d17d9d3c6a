"""Instruments that bind only the states that consent to them, through the API, on both
backends: the consent rules, entry into force (generally, for each state, with the consents
it needs), denunciation with notice, and parties and signatories on a date as the record
stood at a position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.api.test_suspensions import dossier, last

ADOPTED: dict[str, Any] = {"type": "InstrumentAdopted", "effective_date": "2000-01-01", "data": {
    "instrument": "T", "title": "Treaty of Cooperation", "kind": "agreement",
    "entry_into_force": {"consents_required": 2}}}


def step(client: TestClient, type_: str, day: str, **data: Any) -> dict[str, Any]:
    answer = client.post("/v1/events", json={
        "type": type_, "effective_date": day, "data": {"instrument": "T", **data}})
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def consent(client: TestClient, day: str, state: str, form: str) -> dict[str, Any]:
    return step(client, "ConsentExpressed", day, state=state, form=form)


def refused(client: TestClient, type_: str, day: str, status: int = 409, **data: Any
            ) -> dict[str, Any]:
    """The problem a refused submission gets; checks that nothing was appended."""
    end = last(client)
    answer = client.post("/v1/events", json={
        "type": type_, "effective_date": day, "data": {"instrument": "T", **data}})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert last(client) == end
    found: dict[str, Any] = answer.json()
    return found


def standing(client: TestClient, on: str, as_of: int | None = None, code: str = "T"
             ) -> dict[str, list[str]]:
    """Parties, contracting states and signatories of `code` on `on`, as of `as_of`."""
    found = read(client, on, as_of, code)
    return {name: [item["state"] for item in found[name]]
            for name in ("parties", "contracting_states", "signatories")}


def read(client: TestClient, on: str, as_of: int | None = None, code: str = "T"
         ) -> dict[str, Any]:
    params: dict[str, Any] = {"on": on, "min_position": last(client)}
    if as_of is not None:
        params["as_of"] = as_of
    answer = client.get(f"/v1/instruments/{code}", params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_consents_entry_into_force_and_parties_on_a_date(client: TestClient) -> None:
    assert client.post("/v1/events", json=ADOPTED).status_code == 201
    consent(client, "2000-02-01", "ARG", "signature")
    consent(client, "2000-03-01", "CHL", "signature")
    consent(client, "2001-01-01", "ARG", "ratification")
    # Not yet in force: ARG is bound (a contracting state), CHL has signed.
    assert standing(client, "2001-02-01") == {
        "parties": [], "contracting_states": ["ARG"], "signatories": ["CHL"]}
    # It needs two consents: one is not enough.
    early = refused(client, "InstrumentEnteredIntoForce", "2001-03-01")
    assert early["detail"] == ("T enters into force once 2 states have consented to be bound "
                               "by it, and on 2001-03-01 (this entry) only 1 was: ARG")
    bra = consent(client, "2001-06-01", "BRA", "accession")
    general = step(client, "InstrumentEnteredIntoForce", "2001-07-01")
    on_the_day = read(client, "2001-07-01")
    assert on_the_day["in_force"] is True and on_the_day["in_force_on"] == "2001-07-01"
    assert [(p["state"], p["form"], p["consented_on"], p["in_force_on"])
            for p in on_the_day["parties"]] == [
        ("ARG", "ratification", "2001-01-01", "2001-07-01"),
        ("BRA", "accession", "2001-06-01", "2001-07-01")]
    assert on_the_day["signatories"][0]["name"] == "Chile"
    assert standing(client, "2001-06-30") == {
        "parties": [], "contracting_states": ["ARG", "BRA"], "signatories": ["CHL"]}
    # As the record stood before the entry into force was recorded, nobody was a party.
    assert standing(client, "2005-01-01", general["position"] - 1)["parties"] == []
    # As it stood before the adoption, the instrument was not on record.
    before = client.get("/v1/instruments/T", params={"as_of": 0})
    assert before.status_code == 404 and before.json()["type"].endswith("no-such-instrument")

    # A state bound after the general entry into force: in force for it from its consent,
    # unless a date of its own is recorded.
    consent(client, "2002-01-01", "URY", "signature")
    ratified = consent(client, "2002-06-01", "URY", "ratification")
    assert "URY" in standing(client, "2002-06-15")["parties"]
    stated = step(client, "InstrumentEnteredIntoForce", "2002-07-01", state="URY")
    assert "URY" in standing(client, "2002-06-15")["contracting_states"]
    assert "URY" in standing(client, "2002-07-01")["parties"]
    assert "URY" in standing(client, "2002-06-15", stated["position"] - 1)["parties"]

    # The consent rules, each refused with nothing appended.
    assert "it cannot sign it: it is bound by it already" in refused(
        client, "ConsentExpressed", "2003-01-01", state="URY", form="signature")["detail"]
    assert refused(client, "ConsentExpressed", "2003-01-01", state="PER",
                   form="ratification")["detail"] == (
        "PER has not signed T by 2003-01-01, so it cannot express its consent by "
        "ratification then (this entry): ratification follows a signature; record "
        "the signature first, or the consent as accession")
    assert refused(client, "ConsentExpressed", "2003-01-01", state="CHL",
                   form="accession")["detail"].endswith(
        "its consent to be bound follows by ratification, acceptance or approval, not by "
        "accession")
    assert "a second signature would change nothing" in refused(
        client, "ConsentExpressed", "2000-06-01", state="CHL", form="signature")["detail"]
    assert "cannot consent again unless it denounces T first" in refused(
        client, "ConsentExpressed", "2003-01-01", state="ARG", form="ratification")["detail"]
    assert "it was adopted on 2000-01-01" in refused(
        client, "ConsentExpressed", "1999-12-31", state="PER", form="signature")["detail"]
    assert "a denunciation cannot be recorded" in refused(
        client, "Denunciation", "2003-01-01", state="CHL", notified_on="2002-01-01")["detail"]
    assert f"T entered into force only on 2001-07-01 (position {general['position']})" in (
        refused(client, "InstrumentEnteredIntoForce", "2001-06-15", state="BRA")["detail"])
    assert "a second entry into force for it would change nothing" in refused(
        client, "InstrumentEnteredIntoForce", "2002-08-01", state="URY")["detail"]
    assert refused(client, "InstrumentEnteredIntoForce", "2004-01-01")["detail"] == (
        f"T would enter into force twice: on 2001-07-01 (position {general['position']}) "
        "and on 2004-01-01 (this entry); retract or correct one of them")
    # A back-dated denunciation that would leave too few consents on the day it entered
    # into force contradicts that entry, and so does retracting a consent it counted.
    back = refused(client, "Denunciation", "2001-06-15", state="ARG", notified_on="2001-02-01")
    assert back["detail"].startswith("T enters into force once 2 states")
    assert f"position {general['position']}" in back["detail"]
    end = last(client)
    retraction = client.post("/v1/events", json={"type": "EntryRetracted", "data": {
        "position": bra["position"], "reason": "Recorded in error"}})
    assert retraction.status_code == 409 and last(client) == end
    # Malformed steps are 422s naming the field.
    bad_form = refused(client, "ConsentExpressed", "2003-01-01", 422, state="PER",
                       form="ratified")
    assert bad_form["errors"][0]["field"] == "data.form"
    unknown = client.post("/v1/events", json={
        "type": "ConsentExpressed", "effective_date": "2003-01-01",
        "data": {"instrument": "PACT", "state": "PER", "form": "signature"}})
    assert unknown.status_code == 409 and unknown.json()["type"].endswith("not-on-record")
    assert "record it first with InstrumentAdopted" in unknown.json()["detail"]

    # A correction changes the form from its place; as of before it, the ratification.
    corrected = client.post("/v1/events", json={"type": "EntryCorrected", "data": {
        "position": ratified["position"], "reason": "URY accepted it", "replacement": {
            "type": "ConsentExpressed",
            "data": {"instrument": "T", "state": "URY", "form": "acceptance"}}}})
    assert corrected.status_code == 201, corrected.text
    forms = {p["state"]: p["form"] for p in read(client, "2003-01-01")["parties"]}
    assert forms["URY"] == "acceptance"
    older = read(client, "2003-01-01", corrected.json()["position"] - 1)["parties"]
    assert {p["state"]: p["form"] for p in older}["URY"] == "ratification"

    # History: summaries, and the instrument filter.
    history = client.get("/v1/history", params={"instrument": "T", "limit": 100,
                                                "min_position": last(client)}).json()
    summaries = [entry["summary"] for entry in history["entries"]]
    assert summaries[:4] == [
        "Treaty of Cooperation (T) adopted",
        "Argentina signed Treaty of Cooperation (T)",
        "Chile signed Treaty of Cooperation (T)",
        "Argentina ratified Treaty of Cooperation (T)"]
    assert "Brazil acceded to Treaty of Cooperation (T)" in summaries
    assert "Treaty of Cooperation (T) entered into force for Uruguay" in summaries
    assert len(summaries) == len({e["position"] for e in history["entries"]}) == 10

    # The list counts each standing on the date.
    listed = client.get("/v1/instruments", params={"on": "2003-01-01"}).json()
    assert [(i["code"], i["parties"], i["contracting_states"], i["signatories"],
             i["in_force_on"]) for i in listed["instruments"]] == [
        ("T", 3, 0, 1, "2001-07-01")]
    table = client.get("/v1/instruments/T", params={"on": "2003-01-01", "format": "csv"})
    assert table.status_code == 200
    assert table.text.splitlines()[0] == (
        "state,name,signed_on,consented_on,form,in_force_on,denounced_on,notified_on,standing")
    assert len(table.text.splitlines()) == 4


def test_a_denunciation_takes_effect_after_its_notice(client: TestClient) -> None:
    today = datetime.now(UTC).date()
    later = (today + timedelta(days=400)).isoformat()
    assert client.post("/v1/events", json={**ADOPTED, "data": {
        **ADOPTED["data"], "entry_into_force": None}}).status_code == 201
    consent(client, "2000-02-01", "VEN", "definitive-signature")
    step(client, "InstrumentEnteredIntoForce", "2000-03-01")
    # Notice in the future, or after the effect, is a 422 on notified_on.
    ahead = refused(client, "Denunciation", later, 422, state="VEN", notified_on=later)
    assert ahead["errors"][0]["field"] == "data.notified_on"
    after = refused(client, "Denunciation", "2010-01-01", 422, state="VEN",
                    notified_on="2010-02-01")
    assert after["errors"][0]["field"] == "data.notified_on"
    # A future effect is only for a denunciation (or a withdrawal) with notice.
    future = refused(client, "ConsentExpressed", later, 422, state="ARG", form="signature")
    assert future["errors"][0]["field"] == "effective_date"
    assert "Denunciation" in future["errors"][0]["reason"]
    # Notice before the state was bound is refused.
    assert "notice is given once bound" in refused(
        client, "Denunciation", "2001-01-01", state="VEN", notified_on="2000-01-15")["detail"]

    denounced = step(client, "Denunciation", later, state="VEN",
                     notified_on=today.isoformat(), reason="Notice of denunciation")
    assert standing(client, today.isoformat())["parties"] == ["VEN"]
    assert standing(client, later) == {"parties": [], "contracting_states": [],
                                       "signatories": []}
    party = read(client, today.isoformat())["parties"][0]
    assert (party["denounced_on"], party["notified_on"], party["form"]) == (
        later, today.isoformat(), "definitive-signature")
    # The state's dossier lists its consents, with the denunciation to come.
    consents = dossier(client, "VEN")["instruments"]
    assert [(c["instrument"], c["title"], c["standing"], c["denounced_on"])
            for c in consents] == [("T", "Treaty of Cooperation", "party", later)]
    # Once denounced, it may consent anew (by accession, not ratification).
    assert "it is not bound by T" not in refused(
        client, "ConsentExpressed", later, 422, state="VEN", form="accession")["detail"]
    # Retracting the denunciation keeps the state bound.
    retracted = client.post("/v1/events", json={"type": "EntryRetracted", "data": {
        "position": denounced["position"], "reason": "Notice withdrawn"}})
    assert retracted.status_code == 201, retracted.text
    assert standing(client, later)["parties"] == ["VEN"]
    assert standing(client, later, denounced["position"])["parties"] == []


def test_an_instrument_not_on_record(client: TestClient) -> None:
    missing = client.get("/v1/instruments/NOPE")
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("instrument NOPE is not on record")
    assert client.get("/v1/instruments").json()["instruments"] == []
    bad = client.get("/v1/instruments/T", params={"on": "12/09/2023"})
    assert bad.status_code == 422


def test_the_console_shows_an_instrument_on_a_date_as_the_record_stood(
    client: TestClient,
) -> None:
    assert client.post("/v1/events", json=ADOPTED).status_code == 201
    consent(client, "2000-02-01", "ARG", "signature")
    consent(client, "2001-01-01", "ARG", "ratification")
    consent(client, "2001-02-01", "BRA", "accession")
    consent(client, "2001-03-01", "CHL", "signature")
    general = step(client, "InstrumentEnteredIntoForce", "2001-06-01")
    listed = client.get("/instruments").text
    assert 'href="/instruments/T"' in listed and "Treaty of Cooperation" in listed
    page = client.get("/instruments/T", params={"on": "2001-07-01"})
    assert page.status_code == 200
    parties = page.text.split('id="parties"')[1].split("</table>")[0]
    assert 'href="/states/ARG"' in parties and 'href="/states/BRA"' in parties
    assert 'href="/states/CHL"' in page.text.split('id="signatories"')[1].split("</table>")[0]
    assert "in force" in page.text and 'href="/history?instrument=T"' in page.text
    # As the record stood before the entry into force, nobody was a party.
    before = client.get("/instruments/T", params={
        "on": "2001-07-01", "as_of": general["position"] - 1}).text
    assert 'id="parties"' not in before and "Parties (0)" in before
    # A position before the adoption is refused beside its field; the record as it stands
    # is shown.
    early = client.get("/instruments/T", params={"as_of": "0"})
    assert early.status_code == 422 and "T was not on record then" in early.text
    assert client.get("/instruments/NOPE").status_code == 404
    # The state's page lists its consents; history filters by instrument.
    state = client.get("/states/ARG").text
    assert 'id="instruments-heading"' in state and 'href="/instruments/T"' in state
    history = client.get("/history", params={"instrument": "T"}).text
    assert "Argentina ratified Treaty of Cooperation (T)" in history
    entry = client.get(f"/entries/{general['position']}").text
    assert 'href="/instruments/T"' in entry


def test_a_batch_is_refused_naming_the_entry_into_force_it_moves(client: TestClient) -> None:
    assert client.post("/v1/events", json={**ADOPTED, "data": {
        **ADOPTED["data"], "entry_into_force": None}}).status_code == 201
    consent(client, "2000-02-01", "ARG", "accession")
    general = step(client, "InstrumentEnteredIntoForce", "2000-03-01")
    step(client, "InstrumentEnteredIntoForce", "2000-03-01", state="ARG")
    end = last(client)
    answer = client.post("/v1/events/batch", json={"events": [
        {"type": "ConsentExpressed", "effective_date": "2000-02-15",
         "data": {"instrument": "T", "state": "URY", "form": "signature"}},
        {"type": "EntryCorrected", "effective_date": "2000-04-01", "data": {
            "position": general["position"], "reason": "The date was wrong",
            "replacement": {"type": "InstrumentEnteredIntoForce",
                            "data": {"instrument": "T"}}}}]})
    assert answer.status_code == 409 and last(client) == end
    problem = answer.json()
    assert problem["index"] == 1, problem
    assert "T entered into force only on 2000-04-01 (submission 1 of this batch)" in (
        problem["detail"])
