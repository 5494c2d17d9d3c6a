"""The smaller contracts of the HTTP API: entity tags, replays, query parameters, cursors,
metrics labels and the offline documentation."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

NETWORK = {"type": "NetworkEstablished", "effective_date": "2023-09-12",
           "data": {"network": "RELACOPAZ", "name": "Red"}}
CONFERENCE = {"type": "ConferenceScheduled", "effective_date": "2023-09-01",
              "data": {"conference": "ALCONU-II", "title": "II", "host_state": "ARG",
                       "starts_on": "2023-09-12"}}
DECLARATION = {"type": "DeclarationAdopted", "effective_date": "2023-09-12",
               "data": {"declaration": "BUENOS-AIRES-2023", "title": "Buenos Aires"}}


def join(state: str, effective_date: str = "2023-09-12") -> dict[str, Any]:
    return {"type": "StateJoinedNetwork", "effective_date": effective_date,
            "data": {"network": "RELACOPAZ", "state": state, "role": "member"}}


def submit(client: TestClient, *events: dict[str, Any]) -> list[dict[str, Any]]:
    answer = client.post("/v1/events/batch", json={"events": list(events)})
    assert answer.status_code == 201, answer.json()
    envelopes: list[dict[str, Any]] = answer.json()["events"]
    return envelopes


# ETags


def test_an_entry_is_read_with_its_version_in_its_stream_as_etag(client: TestClient) -> None:
    submit(client, NETWORK, join("ARG"), join("BRA"))
    first, third = client.get("/v1/events/1"), client.get("/v1/events/3")
    assert (first.headers["etag"], third.headers["etag"]) == ('"1"', '"3"')
    assert client.get("/v1/events/4").status_code == 404


def test_a_read_model_carries_its_streams_version_so_that_if_match_can_follow(
    client: TestClient,
) -> None:
    envelopes = submit(client, NETWORK, join("ARG"), CONFERENCE, DECLARATION,
                       {"type": "ConferenceHeld", "effective_date": "2023-09-12",
                        "data": {"conference": "ALCONU-II"}})
    end = envelopes[-1]["position"]
    versions = {e["stream"]: e["version"] for e in envelopes}
    for path, stream in (("/v1/networks/RELACOPAZ", "network:RELACOPAZ"),
                         ("/v1/conferences/ALCONU-II", "conference:ALCONU-II"),
                         ("/v1/declarations/BUENOS-AIRES-2023",
                          "declaration:BUENOS-AIRES-2023")):
        read = client.get(path, params={"min_position": end})
        assert read.status_code == 200, read.json()
        assert read.headers["etag"] == f'"{versions[stream]}"', path
    # Check a client can read, then submit on the condition that nothing changed since.
    etag = client.get("/v1/networks/RELACOPAZ", params={"min_position": end}).headers["etag"]
    accepted = client.post("/v1/events", json=join("BRA"), headers={"If-Match": etag})
    assert accepted.status_code == 201
    stale = client.post("/v1/events", json=join("URY"), headers={"If-Match": etag})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == accepted.json()["version"]


# Idempotent replays


def test_a_retry_answered_from_the_first_result_says_it_was_replayed(client: TestClient) -> None:
    key = {"Idempotency-Key": "founding"}
    first = client.post("/v1/events", json=NETWORK, headers=key)
    again = client.post("/v1/events", json=NETWORK, headers=key)
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and again.headers["etag"] == first.headers["etag"]
    batch = {"events": [join("ARG"), join("BRA")]}
    appended = client.post("/v1/events/batch", json=batch, headers={"Idempotency-Key": "b"})
    replayed = client.post("/v1/events/batch", json=batch, headers={"Idempotency-Key": "b"})
    assert "idempotent-replayed" not in appended.headers
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == appended.json()
    assert client.get("/v1/events", params={"after": 3}).json()["events"] == []


def test_the_replay_header_is_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/events", "/v1/events/batch"):
        headers = paths[path]["post"]["responses"]["201"]["headers"]
        assert "Idempotent-Replayed" in headers, path
