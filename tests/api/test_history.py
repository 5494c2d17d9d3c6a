"""The history of decisions over HTTP."""

from __future__ import annotations

from collections.abc import Callable

from tests.api.conftest import Server


def test_the_history_of_the_founding_example(start_server: Callable[..., Server]) -> None:
    server = start_server("--demo")
    page = server.http.get("/v1/history", params={
        "declaration": "BUENOS-AIRES-2023", "limit": 5, "min_position": 88}).json()
    assert [e["type"] for e in page["entries"]][:2] == ["DeclarationAdopted",
                                                        "DeclarationSigned"]
    assert page["entries"][1]["summary"].startswith("Argentina signed Buenos Aires Declaration")
    rest = server.http.get("/v1/history", params={
        "declaration": "BUENOS-AIRES-2023", "after": page["next_after"], "limit": 100}).json()
    assert len(page["entries"]) + len(rest["entries"]) == 19
    by_date = server.http.get("/v1/history", params={
        "order": "effective_date", "limit": 3, "min_position": 88}).json()
    assert [e["effective_date"] for e in by_date["entries"]] == [
        "2022-09-06", "2022-09-07", "2022-09-07"]
    assert by_date["next_after"] == f"2022-09-07,{by_date['entries'][-1]['position']}"
    joined = server.http.post("/v1/events", json={
        "type": "StateJoinedNetwork", "effective_date": "2025-01-01",
        "data": {"network": "RELACOPAZ", "state": "CHL", "role": "observer"}}).json()
    retracted = server.http.post("/v1/events", json={
        "type": "EntryRetracted", "data": {"position": joined["position"],
                                           "reason": "recorded in error"}}).json()
    chile = server.http.get("/v1/history", params={
        "state": "CHL", "type": ["StateJoinedNetwork", "EntryRetracted"],
        "min_position": retracted["position"]}).json()["entries"]
    assert [(e["position"], e["retracted_by"]) for e in chile] == [
        (joined["position"], retracted["position"]), (retracted["position"], None)]


def test_bad_history_parameters_are_refused(server: Server) -> None:
    for params in ({"after": "2023-01-01,5"}, {"order": "effective_date", "after": "x"},
                   {"state": "ar"}, {"from": "2023-02-30"}, {"type": "Nope"},
                   {"limit": 0}, {"order": "random"}):
        answer = server.http.get("/v1/history", params=params)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"] == "application/problem+json"


def test_declarations_over_http(start_server: Callable[..., Server]) -> None:
    server = start_server("--demo")
    listed = server.http.get("/v1/declarations", params={"min_position": 88}).json()
    assert [d["code"] for d in listed] == ["LIMA-2022", "BUENOS-AIRES-2023"]
    ba = server.http.get("/v1/declarations/BUENOS-AIRES-2023").json()
    assert ba["signatories"] == 18 and ba["also_known_as"] == [
        "El deber de hacer la paz", "The Duty to Make Peace"]
    assert ba["signed"][0] == {"state": "ARG", "name": "Argentina", "signed_on": "2023-09-12",
                               "position": ba["signed"][0]["position"], "signatory": None}
    missing = server.http.get("/v1/declarations/NOPE")
    assert missing.status_code == 404
    assert server.http.get("/v1/declarations/bad code").status_code == 422
