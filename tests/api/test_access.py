"""Access control: who may do what, with which key; keys stored as hashes, never logged."""

from __future__ import annotations

import hashlib
import itertools
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from concord.api.http.app import create_app
from concord.api.keys import KeyStore, Role
from concord.api.settings import Settings
from concord.api.wiring import open_database
from tests.api.conftest import ADMIN, RECORDER, Server, bearer, concord_command, module_settings
from tests.waiting import wait_for

READER = "auditor"
CREDENTIALS = ["none", "malformed", "unknown", "revoked", "reader", "recorder", "admin"]
_codes = itertools.count()


def adoption() -> dict[str, Any]:
    code = f"D-{next(_codes)}"
    return {"type": "DeclarationAdopted", "data": {"declaration": code, "title": code}}


# (method, path, body maker, kind); kind decides the expected status, per the design:
# open: always answered; read: public unless public reads are off; write: recorder;
# admin: admin.
ROUTES: list[tuple[str, str, Callable[[], Any] | None, str]] = [
    ("GET", "/healthz", None, "open"),
    ("GET", "/readyz", None, "open"),
    ("GET", "/openapi.json", None, "open"),
    ("GET", "/metrics", None, "read"),
    ("GET", "/v1/events", None, "read"),
    ("GET", "/v1/events/1", None, "read"),
    ("GET", "/v1/events/stream", None, "read"),
    ("POST", "/v1/events", adoption, "write"),
    ("POST", "/v1/events/batch", lambda: {"events": [adoption(), adoption()]}, "write"),
    ("GET", "/v1/networks/N/members?min_position=2", None, "read"),
    ("GET", "/v1/history?min_position=2", None, "read"),
    ("GET", "/v1/declarations?min_position=2", None, "read"),
    ("GET", "/v1/networks?min_position=2", None, "read"),
    ("GET", "/v1/conferences?min_position=2", None, "read"),
    ("GET", "/v1/states/ARG?min_position=2", None, "read"),
    ("GET", "/v1/log/checkpoint?min_position=2", None, "read"),
    ("GET", "/v1/log/public-key", None, "read"),
    ("GET", "/v1/log/leaves/0?min_position=2", None, "read"),
    ("GET", "/v1/log/proofs/inclusion?leaf_index=0&tree_size=2&min_position=2", None, "read"),
    ("GET", "/v1/log/proofs/consistency?first=1&second=2&min_position=2", None, "read"),
    ("GET", "/v1/projections", None, "admin"),
    ("GET", "/v1/keys", None, "admin"),
    ("POST", "/v1/keys", lambda: {"name": f"k-{next(_codes)}", "role": "reader"}, "admin"),
    ("DELETE", "/v1/keys/nobody", None, "admin"),
    # The console's pages read the log; its scripts and styles are open to anyone.
    ("GET", "/", None, "read"),
    ("GET", "/networks/N", None, "read"),
    ("GET", "/history", None, "read"),
    ("GET", "/entries/1", None, "read"),
    ("GET", "/static/console.css", None, "open"),
]
ALLOWED = {"GET": 200, "POST": 201, "DELETE": 404}


def expected(kind: str, credential: str, public_read: bool, method: str) -> int:
    if kind == "open":
        return 200
    if credential in ("malformed", "unknown", "revoked"):
        return 401
    needed = {"read": None if public_read else "reader", "write": "recorder",
              "admin": "admin"}[kind]
    if needed is None:
        return ALLOWED[method]
    if credential == "none":
        return 401
    rank = ["reader", "recorder", "admin"]
    return ALLOWED[method] if rank.index(credential) >= rank.index(needed) else 403


@pytest.fixture(scope="module", params=[(True, "sqlite"), (False, "sqlite"),
                                        (True, "postgres"), (False, "postgres")],
                ids=["public-reads-sqlite", "private-reads-sqlite", "public-reads-postgres",
                     "private-reads-postgres"])
def app_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], bool]]:
    public_read, backend_name = request.param
    with module_settings(backend_name, tmp_path_factory.mktemp("access"),
                         public_read=public_read) as settings:
        yield from _app_client(settings, public_read)


def _app_client(settings: Settings, public_read: bool
                ) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], bool]]:
    store = KeyStore(open_database(settings))
    tokens = {name: store.create(name, role)[1] for name, role in (
        (READER, Role.reader), (RECORDER, Role.recorder), (ADMIN, Role.admin),
        ("former", Role.admin))}
    store.revoke("former")
    store.close()
    headers = {
        "none": {}, "malformed": {"Authorization": "Basic dXNlcjpwYXNz"},
        "unknown": bearer("cnc_0123456789abcdef_" + "x" * 43),
        "revoked": bearer(tokens["former"]), "reader": bearer(tokens[READER]),
        "recorder": bearer(tokens[RECORDER]), "admin": bearer(tokens[ADMIN]),
    }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.post("/v1/events", json=adoption(),
                           headers=headers["recorder"]).status_code == 201
        assert client.post("/v1/events", json={"type": "NetworkEstablished", "data": {
            "network": "N", "name": "N"}}, headers=headers["recorder"]).status_code == 201
        yield client, headers, public_read


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize(("method", "path", "body", "kind"), ROUTES,
                         ids=[f"{r[0]} {r[1]}" for r in ROUTES])
def test_each_route_answers_each_credential_as_the_policy_says(
    app_client: tuple[TestClient, dict[str, dict[str, str]], bool],
    method: str, path: str, body: Callable[[], Any] | None, kind: str, credential: str,
) -> None:
    client, headers, public_read = app_client
    before = client.get("/readyz").json()["position"]
    want = expected(kind, credential, public_read, method)
    if path.endswith("/stream"):
        with client.stream("GET", path, headers=headers[credential],
                           params={"after": 10**9}) as answer:
            status = answer.status_code
            problem = answer.read() if status != 200 else b""
    else:
        answer = client.request(method, path, headers=headers[credential],
                                json=body() if body else None)
        status = answer.status_code
        problem = answer.content
    assert status == want, problem
    if status in (401, 403):
        assert b'"status":' in problem and b"detail" in problem
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")
    after = client.get("/readyz").json()["position"]
    appended = {"/v1/events": 1, "/v1/events/batch": 2}.get(path, 0) if want == 201 else 0
    assert after == before + appended


def test_recorded_by_is_the_name_of_the_submitting_key(server: Server) -> None:
    by_recorder = server.http.post("/v1/events", json=adoption()).json()
    by_admin = server.http.post("/v1/events", json=adoption(),
                                headers=bearer(server.tokens[ADMIN])).json()
    assert (by_recorder["recorded_by"], by_admin["recorded_by"]) == (RECORDER, ADMIN)
    stored = server.http.get("/v1/events").json()["events"]
    assert [e["recorded_by"] for e in stored] == [RECORDER, ADMIN]


def test_the_stored_hash_is_not_a_token(server: Server) -> None:
    database = open_database(server.settings)
    stored = database.reader().execute(
        "SELECT token_sha256 FROM concord_api_keys WHERE name=?", (RECORDER,)).fetchone()[0]
    database.close()
    token = server.tokens[RECORDER]
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored
    key_id = token.split("_")[1]
    for forged in (stored, f"cnc_{key_id}_{stored[:43]}"):
        answer = server.http.post("/v1/events", json=adoption(), headers=bearer(forged))
        assert answer.status_code == 401


def test_tokens_never_reach_the_logs(server: Server) -> None:
    token = server.tokens[RECORDER]
    wrong = "cnc_0123456789abcdef_" + "y" * 43
    server.http.post("/v1/events", json=adoption())
    server.http.post("/v1/events", json=adoption(), headers=bearer(wrong))
    server.http.post("/v1/events", content=b"{broken", headers={
        "Content-Type": "application/json"})
    server.http.get("/v1/keys", headers=bearer(token))
    wait_for(lambda: server.logs().count('"logger": "concord.access"') >= 4
             or server.logs().count('"logger":"concord.access"') >= 4)
    logs = server.logs()
    assert token not in logs and wrong not in logs
    assert token.split("_", 2)[2] not in logs  # the secret (which may hold "_")
    assert "Bearer" not in logs and "authorization" not in logs.lower()


def test_revocation_applies_to_the_next_request_and_keys_survive_restarts(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    assert server.http.post("/v1/events", json=adoption()).status_code == 201
    revoked = subprocess.run([concord_command(), "keys", "revoke", RECORDER, "--data-dir",
                              str(server.data_dir)], capture_output=True, text=True, timeout=60,
                             env=server.cli_env())
    assert revoked.returncode == 0, revoked.stderr
    refused = server.http.post("/v1/events", json=adoption())
    assert refused.status_code == 401
    # A revoked key is refused on reads too, public or not: it was presented, and is wrong.
    assert server.http.get("/v1/events").status_code == 401
    assert server.http.get("/v1/events", headers={"Authorization": ""}).status_code in (200, 401)
    admin = bearer(server.tokens[ADMIN])
    assert len(server.http.get("/v1/events", headers=admin).json()["events"]) == 1
    # Restart on the same data directory: the keys are where they were.
    server.process.terminate()
    server.process.wait(timeout=30)
    again = start_server(data_dir=server.data_dir)
    listed = {k["name"]: k for k in again.http.get("/v1/keys", headers=admin).json()}
    assert listed[RECORDER]["revoked_at"] is not None
    assert listed[ADMIN]["revoked_at"] is None
    assert again.http.post("/v1/events", json=adoption(), headers=admin).status_code == 201


def test_keys_are_managed_over_http_by_admins(server: Server) -> None:
    admin = bearer(server.tokens[ADMIN])
    # A name no key can have is refused as such (PostgreSQL's text cannot even hold it).
    assert server.http.delete("/v1/keys/a%00b", headers=admin).status_code == 422
    created = server.http.post("/v1/keys", json={"name": "clerk", "role": "recorder"},
                               headers=admin)
    assert created.status_code == 201
    token = created.json()["token"]
    assert "token" not in server.http.get("/v1/keys", headers=admin).json()[0]
    entry = server.http.post("/v1/events", json=adoption(), headers=bearer(token))
    assert entry.json()["recorded_by"] == "clerk"
    taken = server.http.post("/v1/keys", json={"name": "clerk", "role": "admin"}, headers=admin)
    assert taken.status_code == 409
    assert server.http.delete("/v1/keys/clerk", headers=admin).json()["revoked_at"]
    assert server.http.post("/v1/events", json=adoption(),
                            headers=bearer(token)).status_code == 401
    assert server.http.post("/v1/keys", json={"name": "clerk", "role": "reader"},
                            headers=admin).status_code == 409
    last_admin = server.http.delete(f"/v1/keys/{ADMIN}", headers=admin)
    assert last_admin.status_code == 409
    assert "last active admin key" in last_admin.json()["detail"]


def test_the_first_start_creates_an_admin_key_and_shows_it_once(
    start_server: Callable[..., Server], tmp_path: Path,
) -> None:
    data = tmp_path / "fresh"
    first = start_server("--demo", data_dir=data, keys=False)
    logs = first.logs()
    assert "Created the first admin key" in logs and "Created a recorder key" in logs
    token = re.findall(r"token (cnc_[0-9a-f]{16}_[A-Za-z0-9_-]{43})", logs)[0]
    keys = first.http.get("/v1/keys", headers=bearer(token)).json()
    assert {k["name"]: k["role"] for k in keys} == {"admin": "admin",
                                                    "demo-recorder": "recorder"}
    first.process.terminate()
    first.process.wait(timeout=30)
    second = start_server("--demo", data_dir=data, keys=False)
    assert "Created" not in second.logs()
    assert not re.search(r"cnc_[0-9a-f]{16}_", second.logs())


def test_writes_beyond_the_rate_get_429_with_retry_after(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(env={"CONCORD_WRITE_RATE": "2"})
    statuses = [server.http.post("/v1/events", json=adoption()) for _ in range(6)]
    limited = [a for a in statuses if a.status_code == 429]
    assert limited and all(a.headers["retry-after"].isdigit() for a in limited)
    assert limited[0].headers["content-type"] == "application/problem+json"
    accepted = sum(a.status_code == 201 for a in statuses)
    assert server.http.get("/readyz").json()["position"] == accepted
    # Check reads are not limited, and other keys have their own allowance.
    assert all(server.http.get("/v1/events").status_code == 200 for _ in range(5))
    assert server.http.post("/v1/events", json=adoption(),
                            headers=bearer(server.tokens[ADMIN])).status_code == 201


def test_the_openapi_document_declares_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "An API key: `concord keys create`, or POST /v1/keys."}
    assert document["paths"]["/v1/events"]["post"]["security"] == [{"bearer": []}]
    assert "401" in document["paths"]["/v1/events"]["post"]["responses"]
    assert "403" in document["paths"]["/v1/keys"]["get"]["responses"]
    assert document["paths"]["/v1/events"]["get"]["security"] == [{}, {"bearer": []}]


def test_the_policy_holds_under_a_path_prefix(
    settings: Settings, tokens: dict[str, str],
) -> None:
    # As behind a proxy that serves the app under /concord (uvicorn --root-path).
    with TestClient(create_app(settings), raise_server_exceptions=False,
                    root_path="/concord") as client:
        recorder = bearer(tokens[RECORDER])
        assert client.get("/concord/v1/keys", headers=recorder).status_code == 403
        assert client.get("/concord/v1/keys").status_code == 401
        made = client.post("/concord/v1/keys", headers=recorder,
                           json={"name": "evil", "role": "admin"})
        assert made.status_code == 403
        assert client.post("/concord/v1/events", json=adoption()).status_code == 401
        assert client.post("/concord/v1/events", json=adoption(),
                           headers=recorder).status_code == 201
        assert client.get("/concord/healthz").status_code == 200


def test_a_rate_below_one_a_second_still_lets_writes_through() -> None:
    from concord.api.http.auth import RateLimiter

    now = [0.0]
    limiter = RateLimiter(0.5, clock=lambda: now[0])
    assert limiter.wait_for("k") == 0
    assert limiter.wait_for("k") == pytest.approx(2.0)
    now[0] = 2.0
    assert limiter.wait_for("k") == 0


def test_key_names_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    from concord.api.keys import KeyError_

    store = KeyStore(tmp_path / "keys.db")
    try:
        store.create("Secretariat", Role.recorder)
        with pytest.raises(KeyError_, match="never reused"):
            store.create("secretariat", Role.admin)
    finally:
        store.close()


def test_a_private_stream_ends_when_its_key_is_revoked(
    start_server: Callable[..., Server],
) -> None:
    import httpx2 as httpx

    from tests.api.test_stream import read_until, sse_events

    server = start_server(env={"CONCORD_PUBLIC_READ": "false"})
    server.http.post("/v1/events", json=adoption())
    admin = bearer(server.tokens[ADMIN])
    with httpx.Client(base_url=server.url, timeout=30) as reader, reader.stream(
            "GET", "/v1/events/stream", headers=bearer(server.tokens[READER])) as response:
        events = sse_events(response.iter_lines())
        assert [e["id"] for e in read_until(events, 1)] == ["1"]
        assert server.http.delete(f"/v1/keys/{READER}", headers=admin).status_code == 200
        rest = list(events)
        assert rest and rest[-1].get("event") == "revoked"
