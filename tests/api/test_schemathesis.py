"""Property-based tests of the API against its own OpenAPI document, on a real server:
no answer is a 5xx, and every answer conforms to the document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from concord.api.settings import Settings
from tests.api.conftest import (
    ADMIN,
    Server,
    bearer,
    concord_command,
    make_keys,
    published_document,
)
from tests.waiting import free_port

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import subprocess
    import time

    import httpx2 as httpx

    directory: Path = tmp_path_factory.mktemp("schemathesis")
    settings = Settings(data_dir=directory / "data")
    tokens = make_keys(settings)
    port = free_port()
    log_path = directory / "server.log"
    with log_path.open("w") as out:
        process = subprocess.Popen(
            [concord_command(), "serve", "--demo", "--port", str(port), "--data-dir",
             str(directory / "data")], stdout=out, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    server = Server(url, process, httpx.Client(base_url=url, timeout=30), log_path, tokens,
                    directory / "data", settings)
    deadline = time.monotonic() + 60
    while True:
        try:
            if server.http.get("/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, server.logs()
        time.sleep(0.05)
    yield server
    server.http.close()
    process.terminate()
    process.wait(timeout=15)


# The document the app publishes; the live stream never ends, and has tests of its own.
# Schemathesis makes a test of each operation when the module is collected, so it needs the
# document then; it is built once per test process (see `published_document`).
schema = schemathesis.openapi.from_dict(published_document()).exclude(path="/v1/events/stream")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_openapi_document(
    case: OpenApiCase, demo_server: Server
) -> None:
    case.call_and_validate(base_url=demo_server.url, checks=CHECKS,
                           headers=bearer(demo_server.tokens[ADMIN]))
