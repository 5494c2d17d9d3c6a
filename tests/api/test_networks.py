"""Members of a network over HTTP, from the membership projection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from concord.api.http.app import create_app
from concord.api.settings import Settings
from tests.api.conftest import ADMIN, RECORDER, Server, bearer
from tests.waiting import wait_for


def test_relacopaz_members_today_and_as_of_earlier_positions(
    start_server: Callable[..., Server],
) -> None:
    server = start_server("--demo")
    end = server.http.get("/v1/events", params={"limit": 1}).json()
    assert end["events"]
    answer = server.http.get("/v1/networks/RELACOPAZ/members",
                             params={"min_position": 88}).json()
    assert answer["network"] == "RELACOPAZ" and answer["count"] == 18
    assert answer["as_of"] >= 88
    argentina = next(m for m in answer["members"] if m["state"] == "ARG")
    assert argentina == {"state": "ARG", "name": "Argentina", "role": "member",
                         "since": "2023-09-12", "suspended": False}
    before = server.http.get("/v1/networks/RELACOPAZ/members",
                             params={"on": "2023-09-11"}).json()
    assert before["count"] == 0
    # Argentina's pro tempore presidency, from the day it hosted ALCONU II.
    offices = server.http.get("/v1/networks/RELACOPAZ/offices",
                              params={"min_position": 89}).json()["offices"]
    assert offices == [{"office": "pro-tempore-presidency", "state": "ARG", "name": "Argentina",
                        "since": "2023-09-12", "until": None}]
    assert server.http.get("/v1/networks/RELACOPAZ/offices",
                           params={"on": "2023-09-11"}).json()["offices"] == []
    # Check read-your-writes: a new member is there as soon as its position is asked for.
    joined = server.http.post("/v1/events", json={
        "type": "StateJoinedNetwork", "effective_date": "2025-01-01",
        "data": {"network": "RELACOPAZ", "state": "CHL", "role": "observer"}}).json()
    now = server.http.get("/v1/networks/RELACOPAZ/members",
                          params={"min_position": joined["position"]}).json()
    assert {m["state"]: m["role"] for m in now["members"]}["CHL"] == "observer"
    was = server.http.get("/v1/networks/RELACOPAZ/members",
                          params={"as_of": joined["position"] - 1}).json()
    assert "CHL" not in {m["state"] for m in was["members"]}
    observers = server.http.get("/v1/networks/RELACOPAZ/members",
                                params={"role": "observer"}).json()
    assert [m["state"] for m in observers["members"]] == ["CHL"]


def test_an_unknown_network_and_bad_parameters(server: Server) -> None:
    missing = server.http.get("/v1/networks/NOPE/members")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    for params in ({"on": "2023-02-30"}, {"as_of": -1}, {"role": "president"},
                   {"min_position": "soon"}):
        bad = server.http.get("/v1/networks/NOPE/members", params=params)
        assert bad.status_code == 422, params


def test_a_position_beyond_the_log_is_refused_at_once(server: Server) -> None:
    server.http.post("/v1/events", json={"type": "NetworkEstablished",
                                         "data": {"network": "N", "name": "N"}})
    beyond = server.http.get("/v1/networks/N/members", params={"min_position": 50})
    assert beyond.status_code == 422
    assert "beyond the end of the log (1)" in beyond.json()["detail"]

    def all_at_1() -> list[dict[str, Any]]:
        status = server.http.get("/v1/projections", headers=bearer(server.tokens[ADMIN])).json()
        return status if all(s["position"] == 1 for s in status) else []

    status = wait_for(all_at_1)
    assert status == [
        {"name": "membership", "position": 1, "lag": 0, "failure": None, "rebuild": None},
        {"name": "history", "position": 1, "lag": 0, "failure": None, "rebuild": None},
        {"name": "declarations", "position": 1, "lag": 0, "failure": None, "rebuild": None},
        {"name": "conferences", "position": 1, "lag": 0, "failure": None, "rebuild": None},
        {"name": "networks", "position": 1, "lag": 0, "failure": None, "rebuild": None},
        {"name": "instruments", "position": 1, "lag": 0, "failure": None, "rebuild": None},
        {"name": "transparency", "position": 1, "lag": 0, "failure": None, "rebuild": None}]


def test_a_read_waits_for_its_projection_then_says_how_far_it_got(
    settings: Settings, tokens: dict[str, str],
) -> None:
    fast = settings.model_copy(update={"read_wait_seconds": 0.3})
    with TestClient(create_app(fast), headers=bearer(tokens[RECORDER])) as client:
        client.post("/v1/events", json={"type": "NetworkEstablished",
                                        "data": {"network": "N", "name": "N"}})
        runner = client.app.state.projections  # type: ignore[attr-defined]
        assert runner.wait_for("membership", 1, timeout=10)
        runner.stop()  # as if the projection had stalled
        client.post("/v1/events", json={"type": "StateJoinedNetwork", "data": {
            "network": "N", "state": "ARG", "role": "member"}})
        behind = client.get("/v1/networks/N/members", params={"min_position": 2})
        assert behind.status_code == 503
        assert behind.json()["position"] == 1
        assert behind.headers["content-type"] == "application/problem+json"


def test_an_admin_rebuilds_a_projection_over_http_and_reads_go_on(
    start_server: Callable[..., Server],
) -> None:
    server = start_server("--demo")
    admin = bearer(server.tokens[ADMIN])
    before = server.http.get("/v1/networks/RELACOPAZ/members",
                             params={"min_position": 88}).json()
    started = server.http.post("/v1/projections/membership/rebuild", headers=admin)
    assert started.status_code == 202
    assert server.http.post("/v1/projections/membership/rebuild").status_code == 403
    assert server.http.post("/v1/projections/nothing/rebuild",
                            headers=admin).status_code == 404

    def finished() -> list[dict[str, Any]]:
        status = server.http.get("/v1/projections", headers=admin).json()
        return [s for s in status if s["name"] == "membership"
                and s["rebuild"] and s["rebuild"]["state"] == "done"]

    done = wait_for(finished)
    assert done[0]["rebuild"]["position"] >= 88
    after = server.http.get("/v1/networks/RELACOPAZ/members",
                            params={"min_position": 88}).json()
    assert after["members"] == before["members"]


def test_concord_rebuild_all_from_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from concord.api.cli.app import app

    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--data-dir", str(tmp_path)]).exit_code == 0
    result = runner.invoke(app, ["rebuild", "all", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert ("Rebuilt membership, history, declarations, conferences, networks, "
            "instruments, transparency") in " ".join(result.output.split())
    refused = runner.invoke(app, ["rebuild", "nothing", "--data-dir", str(tmp_path)])
    assert refused.exit_code == 1 and "no projection 'nothing'" in refused.output
