"""A deployment on PostgreSQL: two API processes and one projection process, with 32
clients writing at once to the same stream and to different ones."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pycountry
import pytest

from concord.api.settings import Settings
from concord.log.application import CoordinationLog
from concord.projections.rebuild import rebuild_many
from concord.projections.registry import PROJECTIONS
from concord.projections.store import ProjectionStore
from concord.tlog.leaves import entry_hash
from concord.tlog.merkle import root_of
from tests.api.conftest import ADMIN, RECORDER, bearer, concord_command, make_keys
from tests.backends import Backend
from tests.conftest import parametrized_backend
from tests.projections.conftest import rows
from tests.waiting import free_port, wait_for

CLIENTS = 32
PER_CLIENT = 12
STATES = sorted(c.alpha_3 for c in pycountry.countries)


@pytest.fixture(params=["postgres"])
def backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    """PostgreSQL only: several processes writing one SQLite file is not the deployment
    this describes."""
    yield from parametrized_backend(request, db_path)


@pytest.fixture
def deployment(backend: Backend, tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Two `concord serve --no-projections` and one `concord project`: their URLs, and the
    tokens."""
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=backend.url,
                        database_schema=backend.schema)
    tokens = make_keys(settings)
    env = {**os.environ, **settings.as_environment()}
    processes, urls = [], []
    try:
        processes.append(subprocess.Popen([concord_command(), "project"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(2):
            port = free_port()
            processes.append(subprocess.Popen(
                [concord_command(), "serve", "--no-projections", "--port", str(port)], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:

            def ready(url: str = url) -> bool:
                return _ready(url)

            wait_for(ready, 60)
        yield urls, tokens
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_two_api_processes_and_a_projection_process_agree(
    deployment: tuple[list[str], dict[str, str]], backend: Backend, tmp_path: Path
) -> None:
    urls, tokens = deployment
    headers = bearer(tokens[RECORDER])
    established = httpx.post(f"{urls[0]}/v1/events", headers=headers, json={
        "type": "NetworkEstablished", "data": {"network": "N", "name": "Network"},
        "effective_date": "2000-01-01"})
    assert established.status_code == 201
    acknowledged: list[dict[str, Any]] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        with httpx.Client(timeout=60, headers=headers) as http:
            for i in range(PER_CLIENT):
                url = urls[(number + i) % 2]
                if i % 2 == 0:  # the same stream, from both processes
                    state = STATES[(number * PER_CLIENT // 2 + i // 2) % len(STATES)]
                    body = {"type": "StateJoinedNetwork", "effective_date": "2001-01-01",
                            "data": {"network": "N", "state": state, "role": "member"}}
                else:  # a stream of its own
                    body = {"type": "DeclarationAdopted",
                            "data": {"declaration": f"D-{number}-{i}", "title": "T"}}
                answer = http.post(f"{url}/v1/events", json=body)
                with lock:
                    if answer.status_code == 201:
                        acknowledged.append(answer.json())
                    else:
                        failures.append(f"{answer.status_code} {answer.text}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == [], failures[:3]
    assert time.monotonic() - started < 120
    # Every acknowledged entry is in the log once, at the position it was acknowledged with.
    log = CoordinationLog(backend.log_env())
    store = ProjectionStore(backend.database())
    try:
        end = log.last_position()
        stored = [e for after in range(0, end, 1000) for e in log.read(after=after, limit=1000)]
        assert [e["position"] for e in stored] == list(range(1, end + 1))
        assert end == 1 + CLIENTS * PER_CLIENT == len(acknowledged) + 1
        by_position = {e["position"]: e for e in stored}
        for envelope in acknowledged:
            assert by_position[envelope["position"]] == envelope
        members = {e["data"]["state"] for e in stored if e["type"] == "StateJoinedNetwork"}
        assert len(members) == CLIENTS * PER_CLIENT // 2
        # Reads from either process see every write (min_position); the projections equal a
        # rebuild; the Merkle root is the same from every process and from the entries.
        for url in urls:
            answer = httpx.get(f"{url}/v1/networks/N/members",
                               params={"min_position": end, "on": "2002-01-01"}, timeout=30)
            assert answer.status_code == 200 and answer.json()["count"] == len(members)
        notes = {httpx.get(f"{url}/v1/log/checkpoint", params={"min_position": end},
                           timeout=30).text for url in urls}
        assert len(notes) == 1
        root = root_of([entry_hash(e) for e in stored])
        proof = httpx.get(f"{urls[1]}/v1/log/proofs/consistency",
                          params={"first": 1, "second": end}, timeout=30).json()
        assert base64.b64decode(proof["second_root"]) == root
        admin = bearer(tokens[ADMIN])
        assert wait_for(lambda: all(
            p["position"] == end for p in httpx.get(f"{urls[0]}/v1/projections",
                                                    headers=admin, timeout=30).json()), 60)
        live = {name: store.suffix(name) for name in PROJECTIONS}
        rebuild_many(log, store, list(PROJECTIONS))
        for name in ("membership", "history", "declarations", "transparency"):
            fresh = store.suffix(name)
            tables = {"membership": ["membership", "membership_changes"],
                      "history": ["history"], "declarations": ["declarations"],
                      "transparency": ["merkle_leaves", "merkle_nodes"]}[name]
            for table in tables:
                assert rows(store, table + live[name]) == rows(store, table + fresh), table
    finally:
        store.close()
        log.close()
    # The operator's check of the stored log, tree and latest checkpoint, on PostgreSQL.
    settings = Settings(data_dir=tmp_path / "data", database_url=backend.url,
                        database_schema=backend.schema)
    verified = subprocess.run([concord_command(), "verify"], capture_output=True, text=True,
                              env={**os.environ, **settings.as_environment()}, timeout=120)
    assert verified.returncode == 0, verified.stderr
    assert f"OK: {end} entries verified." in verified.stdout


def test_a_second_projection_process_stands_by_and_takes_over(
    backend: Backend, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=backend.url,
                        database_schema=backend.schema)
    tokens = make_keys(settings)
    env = {**os.environ, **settings.as_environment()}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = subprocess.Popen([concord_command(), "project"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes = [first]
    try:
        processes.append(subprocess.Popen(
            [concord_command(), "serve", "--no-projections", "--port", str(port)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: _ready(url), 60)
        headers = bearer(tokens[RECORDER])

        def adopt(code: str) -> int:
            answer = httpx.post(f"{url}/v1/events", headers=headers, json={
                "type": "DeclarationAdopted", "data": {"declaration": code, "title": code}})
            assert answer.status_code == 201
            position: int = answer.json()["position"]
            return position

        def read(position: int) -> int:
            return httpx.get(f"{url}/v1/declarations", params={"min_position": position},
                             timeout=30).status_code

        assert read(adopt("A")) == 200
        standby_log = tmp_path / "standby.log"
        with standby_log.open("w") as out:
            standby = subprocess.Popen([concord_command(), "project"], env=env,
                                       stdout=out, stderr=subprocess.STDOUT)
        processes.append(standby)
        # Killed only once the standby has found the right taken and is waiting for it.
        wait_for(lambda: "standing by" in standby_log.read_text(), 60,
                 what="the second projection process to stand by")
        assert standby.poll() is None
        first.kill()
        first.wait(10)
        assert read(adopt("B")) == 200  # the standby took over
        assert standby.poll() is None
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
