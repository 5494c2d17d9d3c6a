"""End to end against a real uvicorn process: submit, read, paginate, retry, conflict."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from concord.api.scenario import founding_scenario
from tests.api.conftest import Server
from tests.waiting import wait_for

NETWORK = {"type": "NetworkEstablished", "effective_date": "2023-09-12",
           "data": {"network": "RELACOPAZ", "name": "Red"}}


def join(state: str) -> dict[str, Any]:
    return {"type": "StateJoinedNetwork", "effective_date": "2023-09-12",
            "data": {"network": "RELACOPAZ", "state": state, "role": "member"}}


def test_an_entry_is_submitted_and_read_back(server: Server) -> None:
    created = server.http.post("/v1/events", json=NETWORK)
    assert created.status_code == 201
    envelope = created.json()
    assert created.headers["location"] == "/v1/events/1"
    assert created.headers["etag"] == '"1"'
    assert created.headers["x-request-id"]
    assert envelope["position"] == 1 and envelope["stream"] == "network:RELACOPAZ"
    assert envelope["recorded_by"] == "secretariat"
    assert server.http.get("/v1/events/1").json() == envelope
    assert server.http.get("/v1/events").json() == {"events": [envelope], "next_after": None}


def test_the_log_is_read_page_by_page(server: Server) -> None:
    server.http.post("/v1/events", json=NETWORK)
    batch = server.http.post("/v1/events/batch", json={"events": [join(s) for s in (
        "ARG", "BRA", "URY", "PRY", "PER", "BOL", "CHL")]})
    assert batch.status_code == 201
    assert [e["position"] for e in batch.json()["events"]] == list(range(2, 9))
    seen, after, pages = [], 0, 0
    while after is not None:
        page = server.http.get("/v1/events", params={"after": after, "limit": 3}).json()
        seen += [e["position"] for e in page["events"]]
        after, pages = page["next_after"], pages + 1
    assert seen == list(range(1, 9)) and pages == 3
    joins = server.http.get("/v1/events", params={"type": "StateJoinedNetwork"}).json()
    assert len(joins["events"]) == 7


def test_a_retry_with_the_same_idempotency_key_appends_nothing(server: Server) -> None:
    headers = {"Idempotency-Key": "2023-09-12-founding"}
    first = server.http.post("/v1/events", json=NETWORK, headers=headers)
    again = server.http.post("/v1/events", json=NETWORK, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = server.http.post("/v1/events", json=join("ARG"), headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:concord:problem:idempotency-key-reused"
    assert server.http.get("/readyz").json()["position"] == 1


def test_if_match_guards_the_stream_version(server: Server) -> None:
    server.http.post("/v1/events", json=NETWORK)
    ok = server.http.post("/v1/events", json=join("ARG"), headers={"If-Match": '"1"'})
    assert ok.status_code == 201 and ok.headers["etag"] == '"2"'
    stale = server.http.post("/v1/events", json=join("BRA"), headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    problem = stale.json()
    assert problem["current_version"] == 2 and problem["expected_version"] == 1
    assert stale.headers["content-type"] == "application/problem+json"
    in_body = server.http.post("/v1/events", json={**join("BRA"), "expected_version": 1})
    assert in_body.status_code == 409


def test_a_refused_batch_names_its_submission_and_appends_nothing(server: Server) -> None:
    server.http.post("/v1/events", json=NETWORK)
    refused = server.http.post("/v1/events/batch", json={"events": [join("ARG"), join("ARG")]})
    assert refused.status_code == 409
    assert refused.json()["index"] == 1
    assert refused.json()["detail"].startswith("events.1: ARG is already a member")
    invalid = server.http.post("/v1/events/batch", json={"events": [
        join("ARG"), {**join("BRA"), "data": {"network": "RELACOPAZ", "state": "br",
                                              "role": "member"}}]})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "events.1.data.state"
    assert server.http.get("/readyz").json()["position"] == 1


def test_serve_with_demo_records_the_founding_example(
    start_server: Callable[..., Server],
) -> None:
    server = start_server("--demo")
    page = server.http.get("/v1/events", params={"limit": 1000}).json()
    assert len(page["events"]) == len(founding_scenario().submissions)
    assert page["events"][0]["recorded_by"] == "cli:concord-demo"

    def access_lines() -> list[dict[str, Any]]:
        lines = [json.loads(ln) for ln in server.logs().splitlines() if ln.startswith("{")]
        return [line for line in lines if line.get("logger") == "concord.access"]

    # Request lines are written in batches, a fraction of a second apart.
    access = wait_for(lambda: [line for line in access_lines()
                               if line["path"] == "/v1/events" and line["status"] == 200])
    assert all({"method", "path", "status", "duration_ms", "request_id"} <= set(line)
               for line in access)


def test_health_readiness_and_metrics(server: Server) -> None:
    assert server.http.get("/healthz").json() == {"status": "ok"}
    server.http.post("/v1/events", json=NETWORK)
    ready = server.http.get("/readyz").json()
    assert ready == {"status": "ok", "log": "open", "writer": "running", "position": 1,
                     "projections": {"membership": "ok", "history": "ok",
                                     "declarations": "ok", "conferences": "ok",
                                     "networks": "ok", "instruments": "ok",
                                     "transparency": "ok"}}
    metrics = server.http.get("/metrics").text
    assert 'concord_http_requests_total{method="POST",route="/v1/events",status="201"} 1.0' \
        in metrics
    assert "concord_events_appended_total 1.0" in metrics
    assert "concord_writer_commit_events_bucket" in metrics
    assert 'concord_http_request_duration_seconds_bucket{le="0.001",method="GET"' in metrics \
        or "concord_http_request_duration_seconds_bucket" in metrics


def test_a_request_id_is_kept_when_given(server: Server) -> None:
    answered = server.http.get("/healthz", headers={"X-Request-ID": "audit-42"})
    assert answered.headers["x-request-id"] == "audit-42"


def test_a_client_that_leaves_mid_body_is_not_a_server_error(server: Server) -> None:
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as raw:
        token = server.tokens["secretariat"]
        raw.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + f"Authorization: Bearer {token}\r\n".encode()
                    + b"Content-Length: 100\r\n\r\n{\"type\":")
    def metrics_once_answered() -> str:
        text = server.http.get("/metrics").text
        return text if 'route="/v1/events",status="400"' in text else ""

    metrics = wait_for(metrics_once_answered)
    assert 'status="500"' not in metrics
    assert server.http.get("/v1/events").json()["events"] == []


def test_head_answers_on_health_checks(server: Server) -> None:
    assert server.http.head("/healthz").status_code == 200
    assert server.http.head("/readyz").status_code == 200


def test_a_back_dated_contradiction_is_a_409_naming_the_entry_by_position(
    server: Server,
) -> None:
    server.http.post("/v1/events", json=NETWORK)
    member = server.http.post("/v1/events", json=join("ECU")).json()
    observer = server.http.post("/v1/events", json={
        **join("ECU"), "effective_date": "2024-01-01",
        "data": {"network": "RELACOPAZ", "state": "ECU", "role": "observer"}}).json()
    refused = server.http.post("/v1/events", json={**join("ECU"),
                                                   "effective_date": "2023-10-01"})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"] == "urn:concord:problem:rule-violation"
    assert f"since 2023-09-12 (position {member['position']})" in problem["detail"]
    assert problem["contradicts"] == [{"position": member["position"],
                                       "effective_date": "2023-09-12"}]
    # Check nothing was appended: the log ends at the observer's entry.
    assert server.http.get("/v1/events").json()["events"][-1] == observer
