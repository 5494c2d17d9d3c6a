"""Fixtures for the HTTP API: the app in-process, and a real uvicorn server process."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from concord.api.http.app import create_app
from concord.api.keys import KeyStore, Role
from concord.api.settings import Settings
from concord.api.wiring import open_database
from tests.backends import BACKENDS, Backend
from tests.conftest import parametrized_backend
from tests.postgres import database_url, fresh_schema
from tests.waiting import free_port


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    """The API's end-to-end tests run on a SQLite data directory and on a fresh PostgreSQL
    schema (ids `sqlite` and `postgres`)."""
    yield from parametrized_backend(request, db_path)


def backend_settings(backend: Backend, data_dir: Path, **more: object) -> Settings:
    """Settings for a data directory, with the log where `backend` keeps it."""
    if backend.name == "postgres":
        more = {"database_url": backend.url, "database_schema": backend.schema, **more}
    return Settings(data_dir=data_dir, **more)  # type: ignore[arg-type]


def backend_args(backend: Backend) -> tuple[list[str], dict[str, str]]:
    """The `concord serve` arguments and environment that put the log where `backend`
    keeps it."""
    if backend.name == "postgres":
        return (["--database-url", backend.url],
                {"CONCORD_DATABASE_SCHEMA": backend.schema})
    return [], {}


@contextmanager
def module_settings(backend_name: str, data_dir: Path, **more: object) -> Iterator[Settings]:
    """Settings for a fixture wider than one test, on a backend of its own (a fresh schema
    on PostgreSQL, dropped afterwards)."""
    if backend_name == "sqlite":
        yield Settings(data_dir=data_dir, **more)  # type: ignore[arg-type]
        return
    url = database_url()
    with fresh_schema(url) as schema:
        yield backend_settings(Backend("postgres", data_dir, url, schema), data_dir, **more)


@functools.cache
def published_document() -> dict[str, Any]:
    """The OpenAPI document the app publishes, built once per test process, on first use
    (building the app opens nothing). Callers must not change it."""
    document: dict[str, Any] = create_app(Settings(data_dir=Path("unused"))).openapi()
    return document


@pytest.fixture
def settings(tmp_path: Path, backend: Backend) -> Settings:
    return backend_settings(backend, tmp_path / "data")


RECORDER = "secretariat"
ADMIN = "operator"


def make_keys(settings: Settings) -> dict[str, str]:
    """A recorder, an admin and a reader key in the settings' database: name -> token."""
    store = KeyStore(open_database(settings))
    try:
        return {name: store.create(name, role)[1] for name, role in (
            (RECORDER, Role.recorder), (ADMIN, Role.admin), ("auditor", Role.reader))}
    finally:
        store.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright, for a module's browser tests."""
    from tests.api.console import launch  # it imports this module

    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the dev extra installs playwright")
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def tokens(settings: Settings) -> dict[str, str]:
    """Keys of the in-process app's log."""
    return make_keys(settings)


@pytest.fixture
def client(settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    """The app on a real SQLite log, called in-process, sending the recorder's key."""
    with TestClient(create_app(settings), raise_server_exceptions=False,
                    headers=bearer(tokens[RECORDER])) as test_client:
        yield test_client


@dataclass
class Server:
    """A `concord serve` process and an HTTP client for it."""

    url: str
    process: subprocess.Popen[str]
    http: httpx.Client
    log_path: Path
    tokens: dict[str, str]
    data_dir: Path
    settings: Settings  # where its log is

    def logs(self) -> str:
        return self.log_path.read_text()

    def cli_env(self) -> dict[str, str]:
        """The environment for a `concord` command on this server's log."""
        env = dict(os.environ)
        if self.settings.database_url:
            env.update(CONCORD_DATABASE_URL=self.settings.database_url,
                       CONCORD_DATABASE_SCHEMA=self.settings.database_schema)
        return env


def concord_command() -> str:
    concord = Path(sys.executable).parent / "concord"
    assert concord.exists(), "install the project (pip install -e .) to get the concord script"
    return str(concord)


def wait_until_ready(process: subprocess.Popen[str], http: httpx.Client,
                     log_path: Path) -> None:
    """Wait (a minute at most) until the server `process` answers /readyz with 200;
    AssertionError with its log if it exits or does not."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log_path.read_text()}")
        try:
            if http.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"server not ready: {log_path.read_text()}")
        time.sleep(0.05)


@pytest.fixture
def start_server(tmp_path: Path, backend: Backend) -> Iterator[Callable[..., Server]]:
    """Starts `concord serve` on a free port (extra CLI args and env allowed), its log where
    the test's backend keeps it; stops it after. A second server on the same data directory
    shares the first one's log (and keys)."""
    started: list[Server] = []
    backends: dict[Path, Backend] = {}  # each data directory its own log
    schemas = ExitStack()

    def _start(*args: str, env: dict[str, str] | None = None,
               data_dir: Path | None = None, keys: bool = True) -> Server:
        port = free_port()
        data = data_dir or tmp_path / f"data-{len(started)}"
        tokens = {}
        if data not in backends:
            backends[data] = backend if not backends or backend.name == "sqlite" else (
                Backend(backend.name, backend.path, backend.url,
                        schemas.enter_context(fresh_schema(backend.url))))
            if keys and not (data / "concord.db").exists():
                tokens = make_keys(backend_settings(backends[data], data))
        extra, extra_env = backend_args(backends[data])
        args = (*extra, *args)
        env = {**extra_env, **(env or {})}
        log_path = tmp_path / f"server-{len(started)}.log"
        with log_path.open("w") as out:
            process = subprocess.Popen(
                [concord_command(), "serve", "--port", str(port), "--data-dir", str(data), *args],
                stdout=out, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, **(env or {})},
            )
        url = f"http://127.0.0.1:{port}"
        headers = bearer(tokens[RECORDER]) if tokens else {}
        server = Server(url, process, httpx.Client(base_url=url, timeout=30, headers=headers),
                        log_path, tokens, data, backend_settings(backends[data], data))
        started.append(server)
        wait_until_ready(process, server.http, log_path)
        return server

    yield _start
    for server in started:
        server.http.close()
        if server.process.poll() is None:
            server.process.terminate()
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
    schemas.close()


@pytest.fixture
def server(start_server: Callable[..., Server]) -> Server:
    """A fresh server on an empty log."""
    return start_server()
