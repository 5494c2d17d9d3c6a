"""The OpenAPI document describes every event type, with its fields and an example."""

from __future__ import annotations

from starlette.testclient import TestClient

from concord.domain.catalogue import CATALOGUE


def test_every_event_type_is_documented_with_its_fields_and_an_example(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    body = document["paths"]["/v1/events"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert body["discriminator"]["propertyName"] == "type"
    assert len(body["oneOf"]) == len(CATALOGUE)
    for type_, payload in CATALOGUE.items():
        submission = schemas[f"{type_}Submission"]
        assert submission["properties"]["type"]["const"] == type_
        example = submission["examples"][0]
        assert example["type"] == type_
        assert set(example["data"]) <= set(payload.model_fields)
        assert set(schemas[type_]["properties"]) == set(payload.model_fields)
    assert document["paths"]["/v1/events/batch"]["post"]["requestBody"]["required"] is True
    parameters = {(p["name"], p["in"])
                  for p in document["paths"]["/v1/events"]["post"]["parameters"]}
    assert parameters == {("Idempotency-Key", "header"), ("If-Match", "header"),
                          ("proof", "query"), ("dry_run", "query")}


def test_the_documented_examples_are_accepted(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    order = ["NetworkEstablished", "StatuteApproved", "StateRegistered", "StateJoinedNetwork",
             "StateLeftNetwork", "WithdrawalRevoked", "OfficeAssumed", "OfficeRelinquished",
             "MembershipSuspended", "SuspensionLifted", "ConferenceScheduled",
             "ConferenceRescheduled", "ConferenceHeld", "DelegationAttended", "SessionHeld",
             "DeclarationAdopted", "DeclarationSigned", "SignatureWithdrawn",
             "InstrumentAdopted", "ConsentExpressed", "InstrumentEnteredIntoForce",
             "Denunciation"]
    # The Charter entered into force once 14 signatories had ratified it: Venezuela (its
    # example signs it) and 13 others, on dates made up for the test.
    ratifications = [
        {"type": "ConsentExpressed", "effective_date": "1950-01-01",
         "data": {"instrument": "OAS-CHARTER", "state": "VEN", "form": "ratification"}},
        *({"type": "ConsentExpressed", "effective_date": "1950-01-01",
           "data": {"instrument": "OAS-CHARTER", "state": state, "form": form}}
          for state in ("ARG", "BOL", "BRA", "CHL", "COL", "CRI", "CUB", "DOM", "ECU", "SLV",
                        "GTM", "HTI", "HND") for form in ("signature", "ratification"))]
    setup = [
        {"type": "ConferenceScheduled", "data": {"conference": "ALCONU-II", "title": "II",
         "host_state": "ARG", "starts_on": "2023-09-12"}, "effective_date": "2023-09-01"},
        {"type": "ConferenceHeld", "data": {"conference": "ALCONU-II"},
         "effective_date": "2023-09-12"},
        # The suspension's example is the OAS's suspension of Honduras.
        {"type": "NetworkEstablished", "data": {"network": "OAS", "name": "OAS"},
         "effective_date": "1948-04-30"},
        {"type": "StateJoinedNetwork", "data": {"network": "OAS", "state": "HND",
         "role": "member"}, "effective_date": "1948-04-30"},
    ]
    assert client.post("/v1/events/batch", json={"events": setup}).status_code == 201
    for type_ in order:
        if type_ == "InstrumentEnteredIntoForce":
            answer = client.post("/v1/events/batch", json={"events": ratifications})
            assert answer.status_code == 201, answer.json()
        example = schemas[f"{type_}Submission"]["examples"][0]
        answer = client.post("/v1/events", json=example)
        assert answer.status_code == 201, (type_, answer.json())
    # Every type's example but these three: the retraction's and the correction's name
    # positions (the correction's is tried below), the cancellation's a later conference.
    assert set(order) | {"EntryRetracted", "EntryCorrected", "ConferenceCancelled"} == {
        name.removesuffix("Submission") for name in schemas if name.endswith("Submission")}
    # Check the correction's example is accepted too, pointed at this log's scheduling of
    # ALCONU-II (position 1; in the demo it is position 5).
    example = schemas["EntryCorrectedSubmission"]["examples"][0]
    answer = client.post("/v1/events", json={**example, "data": {**example["data"],
                                                                 "position": 1}})
    assert answer.status_code == 201, answer.json()
    assert answer.json()["data"]["replacement"]["data"]["city"] == "Buenos Aires"
