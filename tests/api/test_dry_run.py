"""Dry runs, on both backends: a submission or a batch checked as recording would check it,
and nothing appended; the same answer as the real submission, for a Hypothesis sample of
valid and invalid ones."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.api.test_suspensions import last
from tests.domain.test_properties import SETUP, submissions

N = {"type": "NetworkEstablished", "effective_date": "2000-01-01",
     "data": {"network": "N", "name": "A network"}}


def join(state: str, day: str, role: str = "member") -> dict[str, Any]:
    return {"type": "StateJoinedNetwork", "effective_date": day,
            "data": {"network": "N", "state": state, "role": role}}


def test_a_dry_run_appends_nothing_and_says_what_would_change(client: TestClient) -> None:
    assert client.post("/v1/events", json=N).status_code == 201
    assert client.post("/v1/events", json=join("ARG", "2001-01-01")).status_code == 201
    end = last(client)
    answer = client.post("/v1/events", params={"dry_run": "true"},
                         json=join("ARG", "2003-01-01", "observer"))
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert last(client) == end
    assert found["dry_run"] is True and found["replayed"] is False
    (event,) = found["events"]
    assert (event["position"], event["type"], event["summary"]) == (
        end + 1, "StateJoinedNetwork", "Argentina joined A network (N) as observer")
    assert found["effects"] == [{"network": "N", "state": "ARG", "from": "2003-01-01",
                                 "to": None, "before": "member", "after": "observer"}]
    # A correction's effects: which dates change, before and after.
    correction = {"type": "EntryCorrected", "effective_date": "2001-06-01", "data": {
        "position": end, "reason": "The date was wrong", "replacement": {
            "type": "StateJoinedNetwork",
            "data": {"network": "N", "state": "ARG", "role": "member"}}}}
    found = client.post("/v1/events?dry_run=true", json=correction).json()
    assert found["effects"] == [{"network": "N", "state": "ARG", "from": "2001-01-01",
                                 "to": "2001-06-01", "before": "member", "after": None}]
    assert found["events"][0]["summary"].startswith(f"entry {end} corrected (The date was "
                                                    "wrong): Argentina joined")
    assert last(client) == end
    # A refusal is the refusal recording would get.
    refused = client.post("/v1/events?dry_run=true", json=join("ARG", "2002-01-01"))
    assert refused.status_code == 409
    assert "ARG is already a member of N since 2001-01-01" in refused.json()["detail"]
    assert client.post("/v1/events?dry_run=maybe", json=N).status_code == 422
    both = client.post("/v1/events?dry_run=true&proof=true", json=join("BRA", "2001-01-01"))
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "proof"
    assert last(client) == end


def test_a_batch_s_dry_run_lists_every_submission_at_fault(client: TestClient) -> None:
    assert client.post("/v1/events", json=N).status_code == 201
    end = last(client)
    batch = [join("ARG", "2001-01-01"), {**join("AR", "2001-01-01")}, join("ARG", "2002-01-01"),
             {"type": "StateLeftNetwork", "effective_date": "12/09/2023",
              "data": {"network": "N", "state": "URY"}},
             {"type": "StateJoinedNetwork", "data": {"network": "NX", "state": "BRA",
                                                    "role": "member"}}]
    answer = client.post("/v1/events/batch?dry_run=true", json={"events": batch})
    real = client.post("/v1/events/batch", json={"events": batch})
    assert last(client) == end
    problem = answer.json()
    # The problem recording would get, and every one found.
    assert (answer.status_code, problem["detail"]) == (real.status_code, real.json()["detail"])
    assert [(p["index"], p["status"]) for p in problem["problems"]] == [
        (1, 422), (2, 409), (3, 422), (4, 409)]
    assert problem["problems"][1]["detail"] == (
        "events.2: ARG is already a member of N since 2001-01-01 (submission 0 of this "
        "batch), so the entry making it a member on 2002-01-01 (submission 2 of this batch) "
        "would change nothing; retract or correct one of them")
    assert problem["problems"][2]["errors"][0]["field"] == "events.3.effective_date"
    assert problem["problems"][3]["type"].endswith("not-on-record")
    # Put right, it would record every entry; with its key used, it would record nothing.
    good = [join("ARG", "2001-01-01"), join("BRA", "2001-01-01")]
    answer = client.post("/v1/events/batch?dry_run=true", json={"events": good},
                         headers={"Idempotency-Key": "file-1"})
    assert answer.status_code == 200 and [e["position"] for e in answer.json()["events"]] == [
        end + 1, end + 2]
    assert len(answer.json()["effects"]) == 2
    recorded = client.post("/v1/events/batch", json={"events": good},
                           headers={"Idempotency-Key": "file-1"})
    assert recorded.status_code == 201
    again = client.post("/v1/events/batch?dry_run=true", json={"events": good},
                        headers={"Idempotency-Key": "file-1"})
    assert again.json()["replayed"] is True and again.json()["effects"] == []
    assert [e["position"] for e in again.json()["events"]] == [end + 1, end + 2]
    reused = client.post("/v1/events/batch?dry_run=true", json={"events": good[:1]},
                         headers={"Idempotency-Key": "file-1"})
    assert reused.status_code == 422 and reused.json()["type"].endswith(
        "idempotency-key-reused")


def test_who_am_i(client: TestClient, tokens: dict[str, str]) -> None:
    me = client.get("/v1/me").json()
    assert me == {"name": "secretariat", "role": "recorder", "can_write": True}
    reader = client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['auditor']}"})
    assert reader.json() == {"name": "auditor", "role": "reader", "can_write": False}
    # A reader may not dry-run a write either: it gets what it would get recording.
    refused = client.post("/v1/events?dry_run=true", json=N,
                          headers={"Authorization": f"Bearer {tokens['auditor']}"})
    assert refused.status_code == 403
    anonymous = client.get("/v1/me", headers={"Authorization": ""})
    assert anonymous.status_code == 401


def _same_answer(dry: Any, real: Any) -> None:
    """A dry run answers as recording did: the same entries (but when they were recorded),
    or the same problem."""
    if real.status_code == 201:
        assert dry.status_code == 200, (dry.text, real.text)
        recorded = real.json()
        recorded = recorded.get("events", [recorded])
        would = dry.json()["events"]
        for entry in (*recorded, *would):
            entry.pop("recorded_at")
            entry.pop("summary", None)
            entry.pop("proof", None)
        assert would == recorded
        return
    assert dry.status_code == real.status_code, (dry.text, real.text)
    expected, found = real.json(), dry.json()
    found.pop("problems", None)
    assert found == expected


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(submissions(), st.lists(submissions(), min_size=2, max_size=3)),
                      min_size=8, max_size=20))
# A batch refused for a stale expected_version first, and a term ending before it starts
# after: recording names the first.
@example(steps=[[{"type": "ConferenceCancelled", "data": {"conference": "C1"},
                  "expected_version": 0},
                 {"type": "OfficeAssumed", "effective_date": "2023-09-12", "data": {
                     "network": "N1", "office": "presidency", "state": "ARG",
                     "term_ends_on": "2022-09-06"}}]] + [
                {"type": "ConferenceHeld", "data": {"conference": "C1"}}] * 7)
def test_a_dry_run_answers_as_recording_does(client: TestClient, steps: list[Any]) -> None:
    base = last(client) if client.get("/v1/events").json()["events"] else 0
    if base == 0:
        assert client.post("/v1/events/batch", json={"events": SETUP}).status_code == 201
    for step in steps:
        if isinstance(step, list):
            path, body = "/v1/events/batch", {"events": step}
        else:
            path, body = "/v1/events", step
        dry = client.post(path, params={"dry_run": "true"}, json=body)
        real = client.post(path, json=body)
        _same_answer(dry, real)


def test_a_correction_s_fields_are_named_as_the_submission_has_them(
    client: TestClient,
) -> None:
    assert client.post("/v1/events", json=N).status_code == 201
    joined = client.post("/v1/events", json=join("ARG", "2001-01-01")).json()
    answer = client.post("/v1/events?dry_run=true", json={
        "type": "EntryCorrected", "data": {
            "position": joined["position"], "reason": "r", "replacement": {
                "type": "StateJoinedNetwork",
                "data": {"network": "N", "state": "AR", "role": "member"}}}})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "data.replacement.data.state"
    missing = client.post("/v1/events?dry_run=true", json={
        "type": "EntryRetracted", "data": {"position": 99, "reason": "r"}})
    assert missing.status_code == 409
    assert missing.json()["errors"][0]["field"] == "data.position"


def test_a_batch_s_dry_run_stops_listing_within_its_budget(client: TestClient) -> None:
    assert client.post("/v1/events", json=N).status_code == 201
    end = last(client)
    answer = client.post("/v1/events/batch?dry_run=true",
                         json={"events": [join("ARG", "2001-01-01")] * 150})
    assert answer.status_code == 409 and last(client) == end
    problem = answer.json()
    assert problem["problems_truncated"] is True
    assert 0 < len(problem["problems"]) <= 100
    assert [p["index"] for p in problem["problems"]][:2] == [1, 2]
    strict = client.post("/v1/events/batch?dry_run=yes", json={"events": [N]})
    assert strict.status_code == 422
