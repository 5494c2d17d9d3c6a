"""The smaller contracts of the HTTP API: entity tags, replays, query parameters, cursors,
metrics labels and the offline documentation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from concord.api.http.app import create_app
from tests.api.conftest import ADMIN, RECORDER, backend_settings, bearer, make_keys
from tests.backends import Backend

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


# Pages and cursors


def test_next_after_is_null_on_the_last_page_of_the_log(client: TestClient) -> None:
    submit(client, NETWORK, join("ARG"), join("BRA"))
    first = client.get("/v1/events", params={"limit": 2}).json()
    assert [e["position"] for e in first["events"]] == [1, 2] and first["next_after"] == 2
    last = client.get("/v1/events", params={"after": 2, "limit": 2}).json()
    assert [e["position"] for e in last["events"]] == [3] and last["next_after"] is None
    exactly = client.get("/v1/events", params={"limit": 3}).json()
    assert len(exactly["events"]) == 3 and exactly["next_after"] is None
    beyond = client.get("/v1/events", params={"after": 3}).json()
    assert beyond == {"events": [], "next_after": None}


def test_next_after_is_null_on_the_last_page_of_the_history(client: TestClient) -> None:
    end = submit(client, NETWORK, join("ARG"), join("BRA"))[-1]["position"]
    for order in ("position", "effective_date"):
        pages, after = [], "0"
        while after is not None:
            page = client.get("/v1/history", params={
                "order": order, "after": after, "limit": 2, "min_position": end}).json()
            pages.append([e["position"] for e in page["entries"]])
            after = page["next_after"]
        assert pages == [[1, 2], [3]], order
        exactly = client.get("/v1/history", params={"order": order, "limit": 3,
                                                     "min_position": end}).json()
        assert len(exactly["entries"]) == 3 and exactly["next_after"] is None


def by_dates(client: TestClient) -> int:
    """Four entries whose effective dates are not in log order; the last position."""
    last: int = submit(client, {**NETWORK, "effective_date": "2020-01-01"},
                       join("ARG", "2023-09-12"), join("BRA", "2021-05-05"),
                       join("URY", "2022-01-01"))[-1]["position"]
    return last


def test_a_position_cursor_continues_after_that_entry_in_effective_date_order(
    client: TestClient,
) -> None:
    end = by_dates(client)
    every = client.get("/v1/history", params={"order": "effective_date",
                                              "min_position": end}).json()["entries"]
    assert [e["position"] for e in every] == [1, 3, 4, 2]
    after_bra = client.get("/v1/history", params={"order": "effective_date", "after": 3})
    assert [e["position"] for e in after_bra.json()["entries"]] == [4, 2]
    nowhere = client.get("/v1/history", params={"order": "effective_date", "after": 57})
    assert nowhere.status_code == 422
    assert nowhere.json()["errors"] == [{"field": "after", "reason": "no such entry"}]
    assert "no entry at position 57" in nowhere.json()["detail"]


def test_from_later_than_to_is_refused_naming_both(client: TestClient) -> None:
    end = by_dates(client)
    refused = client.get("/v1/history", params={"from": "2023-01-01", "to": "2022-01-01"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in refused.json()["errors"]} == {"from", "to"}
    assert "from (2023-01-01) is later than to (2022-01-01)" in refused.json()["detail"]
    one_day = client.get("/v1/history", params={"from": "2022-01-01", "to": "2022-01-01",
                                                 "min_position": end})
    assert [e["position"] for e in one_day.json()["entries"]] == [4]


# Query parameters


def test_an_unknown_query_parameter_is_refused_naming_it_and_what_is_allowed(
    client: TestClient,
) -> None:
    submit(client, NETWORK)
    refused = client.get("/v1/networks/RELACOPAZ/members", params={"asof": 5})
    assert refused.status_code == 422
    reason = ("unknown query parameter; allowed: on, as_of, role, suspended, min_position, "
              "format")
    assert refused.json()["errors"] == [{"field": "asof", "reason": reason}]
    assert refused.json()["detail"] == f"asof: {reason}"
    two = client.get("/v1/events", params={"afer": 1, "limit": 5, "types": "x"}).json()
    assert [e["field"] for e in two["errors"]] == ["afer", "types"]
    assert client.get("/healthz", params={"verbose": 1}).json()["errors"] == [
        {"field": "verbose", "reason": "unknown query parameter; this route takes none"}]


def test_the_bare_submission_route_takes_only_dry_run_and_proof(client: TestClient) -> None:
    refused = client.post("/v1/events", json=NETWORK, params={"prooof": "true"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "prooof", "reason": "unknown query parameter; allowed: dry_run, proof"}]
    assert client.get("/readyz").json()["position"] == 0
    assert client.post("/v1/events", json=NETWORK, params={"proof": "false"}).status_code == 201


def test_every_documented_route_refuses_an_unknown_query_parameter(
    client: TestClient, tokens: dict[str, str],
) -> None:
    submit(client, NETWORK)
    samples = {"code": "RELACOPAZ", "position": "1", "leaf_index": "0", "name": RECORDER,
               "level": "0", "index": "000.p/1"}
    paths = client.get("/openapi.json").json()["paths"]
    for template, operations in paths.items():
        path = re.sub(r"\{(\w+)\}", lambda m: samples[m.group(1)], template)
        for method in operations:
            answer = client.request(method.upper(), path, params={"zzz": "1"},
                                    headers=bearer(tokens[ADMIN]), json={})
            assert answer.status_code == 422, (method, template, answer.text)
            assert answer.json()["errors"][0]["field"] == "zzz", (method, template)
    # Check nothing was done on the way: no entry appended, no key revoked.
    assert client.get("/readyz").json()["position"] == 1
    assert client.get("/v1/keys", headers=bearer(tokens[ADMIN])).status_code == 200
    assert client.post("/v1/events", json=join("ARG")).status_code == 201


def test_a_position_beyond_the_log_names_the_parameter_that_asked_for_it(
    client: TestClient,
) -> None:
    submit(client, NETWORK)
    for params, fields in (({"as_of": 9999}, ["as_of"]), ({"min_position": 9999},
                                                           ["min_position"]),
                           ({"as_of": 9999, "min_position": 8888}, ["as_of", "min_position"]),
                           ({"as_of": 1, "min_position": 8888}, ["min_position"])):
        refused = client.get("/v1/networks/RELACOPAZ/members", params=params)
        assert refused.status_code == 422, params
        assert [e["field"] for e in refused.json()["errors"]] == fields, params
        assert refused.json()["detail"].startswith(f"{fields[0]}: position"), params


# Metrics of refused requests


@pytest.fixture
def guarded(tmp_path: Path, backend: Backend) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app with reads needing a key and one write a second allowed per key."""
    settings = backend_settings(backend, tmp_path / "data", public_read=False, write_rate=1.0)
    tokens = make_keys(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client, tokens


def counted(client: TestClient, token: str) -> dict[tuple[str, str, str], float]:
    text = client.get("/metrics", headers=bearer(token)).text
    return {(s.labels["method"], s.labels["route"], s.labels["status"]): s.value
            for family in text_string_to_metric_families(text)
            if family.name == "concord_http_requests"
            for s in family.samples if s.name.endswith("_total")}


def test_requests_refused_before_routing_are_counted_under_their_route(
    guarded: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = guarded
    recorder, admin = bearer(tokens[RECORDER]), bearer(tokens[ADMIN])
    assert client.get("/v1/networks/RELACOPAZ/members").status_code == 401
    assert client.get("/v1/keys", headers=recorder).status_code == 403
    statuses = [client.post("/v1/events", json=NETWORK, headers=recorder).status_code
                for _ in range(3)]
    assert 429 in statuses
    assert client.delete("/v1/events/1", headers=admin).status_code == 405
    assert client.get("/v1/nowhere", headers=admin).status_code == 404
    seen = counted(client, tokens[ADMIN])
    assert seen[("GET", "/v1/networks/{code}/members", "401")] == 1
    assert seen[("GET", "/v1/keys", "403")] == 1
    assert seen[("POST", "/v1/events", "429")] == statuses.count(429)
    assert seen[("DELETE", "/v1/events/{position}", "405")] == 1
    assert seen[("GET", "unmatched", "404")] == 1
    assert not [key for key in seen if key[1] in ("", "/v1/networks/RELACOPAZ/members")]


# Offline documentation


def test_the_documentation_pages_load_only_assets_this_server_serves(
    guarded: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = guarded  # no key: the documentation is open even where reads are not
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        urls = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: ?'([^']+)'""",
                          html.text)
        assets = [a or b for a, b in urls]
        assert len(assets) >= 2, page
        for url in assets:
            assert url.startswith("/") and not url.startswith("//"), (page, url)
            assert client.get(url).status_code == 200, (page, url)
        assert "http://" not in html.text and "https://" not in html.text, page
    assert '"validatorUrl": null' in client.get("/docs").text  # no call to an online validator
