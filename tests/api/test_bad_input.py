"""Every endpoint refuses bad input with the right status and a problem body, and the log
stays as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from concord.api.http.app import create_app
from tests.api.conftest import RECORDER, bearer, make_keys, module_settings
from tests.backends import BACKENDS

GOOD: dict[str, Any] = {"type": "DeclarationAdopted", "data": {"declaration": "D", "title": "T"}}
JOIN: dict[str, Any] = {"type": "StateJoinedNetwork",
                        "data": {"network": "N", "state": "ARG", "role": "member"}}


def body(value: Any) -> dict[str, Any]:
    return {"content": json.dumps(value), "headers": {"content-type": "application/json"}}


def with_data(**data: Any) -> dict[str, Any]:
    return {**JOIN, "data": {**JOIN["data"], **data}}


CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    # (method, path, request kwargs, status, text the detail must contain)
    ("POST", "/v1/events", {"content": "{not json", "headers": {
        "content-type": "application/json"}}, 400, "not valid JSON"),
    ("POST", "/v1/events", {"content": json.dumps(GOOD), "headers": {
        "content-type": "text/plain"}}, 415, "application/json"),
    ("POST", "/v1/events", {"content": json.dumps(GOOD)}, 415, "missing"),
    ("POST", "/v1/events", body([GOOD]), 422, "JSON object"),
    ("POST", "/v1/events", body({**GOOD, "type": "DeclarationSigned2"}), 422,
     "type: unknown event type"),
    ("POST", "/v1/events", body({**GOOD, "signed": True}), 422, "signed: unknown field"),
    ("POST", "/v1/events", body(with_data(extra=1)), 422, "data.extra: unknown field"),
    ("POST", "/v1/events", body(with_data(state="AR")), 422, "use 'ARG'"),
    ("POST", "/v1/events", body({"type": "NetworkEstablished",
                                 "data": {"network": "NUL", "name": "A\u0000B"}}), 422,
     "data.name: must not contain the NUL character"),
    ("POST", "/v1/events", body({**GOOD, "source": "\u0000"}), 422, "source:"),
    ("POST", "/v1/events", body(with_data(state="Argentina")), 422, "data.state"),
    ("POST", "/v1/events", body({**JOIN, "effective_date": "2023-13-01"}), 422,
     "effective_date"),
    ("POST", "/v1/events", body({**JOIN, "effective_date": "yesterday"}), 422,
     "effective_date"),
    ("POST", "/v1/events", body({**GOOD, "source": "x" * 501}), 422, "source"),
    ("POST", "/v1/events", {"content": json.dumps({**GOOD, "source": "x" * (1024 * 1024)}),
                            "headers": {"content-type": "application/json"}}, 413, "limit"),
    ("POST", "/v1/events", {**body(GOOD), "headers": {"content-type": "application/json",
                                                       "If-Match": "seven"}}, 422, "If-Match"),
    ("POST", "/v1/events", {**body(GOOD), "headers": {"content-type": "application/json",
                                                       "Idempotency-Key": "a key"}}, 422,
     "idempotency_key"),
    ("POST", "/v1/events", body({**GOOD, "expected_version": 3}), 409, "at version 1"),
    ("POST", "/v1/events", body(JOIN), 409, "network N is not on record"),
    ("POST", "/v1/events/batch", {"content": "[", "headers": {
        "content-type": "application/json"}}, 400, "not valid JSON"),
    ("POST", "/v1/events/batch", {"content": "{}", "headers": {
        "content-type": "application/xml"}}, 415, "application/json"),
    ("POST", "/v1/events/batch", body([GOOD]), 422, "events"),
    ("POST", "/v1/events/batch", body({"events": GOOD}), 422, "events"),
    ("POST", "/v1/events/batch", body({"events": []}), 422, "at least one"),
    ("POST", "/v1/events/batch", body({"events": [GOOD, 5]}), 422,
     "events.1: a submission must be a JSON object"),
    ("POST", "/v1/events/batch", body({"events": [GOOD, with_data(state="arg")]}), 422,
     "events.1.data.state"),
    ("POST", "/v1/events/batch", body({"events": [{}] * 10_001}), 413, "at most 10,000"),
    ("POST", "/v1/events/batch", {"content": json.dumps({"events": [GOOD] * 20_000}),
                                  "headers": {"content-type": "application/json"}}, 413,
     "limit"),
    ("GET", "/v1/events?limit=-1", {}, 422, "limit"),
    ("GET", "/v1/events?limit=0", {}, 422, "limit"),
    ("GET", "/v1/events?limit=1001", {}, 422, "limit"),
    ("GET", "/v1/events?limit=ten", {}, 422, "limit"),
    ("GET", "/v1/events?after=-1", {}, 422, "after"),
    ("GET", f"/v1/events?after={2**63}", {}, 422, "after"),
    ("GET", f"/v1/events?after={10**40}", {}, 422, "after"),
    ("GET", "/v1/events?type=Nope", {}, 422, "type"),
    ("GET", "/v1/events/0", {}, 422, "position"),
    ("GET", "/v1/events/-3", {}, 422, "position"),
    ("GET", "/v1/events/first", {}, 422, "position"),
    ("GET", f"/v1/events/{2**63}", {}, 422, "position"),
    ("GET", "/v1/events/999", {}, 404, "no entry at position 999"),
    ("GET", "/v1/events/stream?after=-1", {}, 422, "after"),
    ("GET", "/v1/events/stream", {"headers": {"Last-Event-ID": "x"}}, 422, "Last-Event-ID"),
    ("DELETE", "/v1/events/1", {}, 405, "DELETE is not allowed"),
    ("PUT", "/v1/events", {}, 405, "PUT is not allowed"),
    ("GET", "/v1/nothing-here", {}, 404, "no resource"),
]


@pytest.fixture(scope="module", params=BACKENDS)
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with module_settings(request.param, tmp_path_factory.mktemp("bad-input")) as settings:
        tokens = make_keys(settings)
        with TestClient(create_app(settings), raise_server_exceptions=False,
                        headers=bearer(tokens[RECORDER])) as test_client:
            assert test_client.post("/v1/events", json=GOOD).status_code == 201
            yield test_client


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "detail"), CASES,
                         ids=[f"{c[0]} {c[1][:40]} {c[3]} {c[4][:20]}" for c in CASES])
def test_bad_input_is_refused_with_a_problem_and_changes_nothing(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int,
    detail: str,
) -> None:
    answer = client.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status
    assert problem["title"] and problem["type"]
    assert detail in problem["detail"], problem
    assert "events.1: events.1" not in problem["detail"]
    assert client.get("/readyz").json()["position"] == 1
