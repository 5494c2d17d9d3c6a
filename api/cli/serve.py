"""Serving: the HTTP API (`concord serve`), and the process that keeps the read models up
(`concord project`)."""

from __future__ import annotations

from typing import Annotated

import typer

from concord.api.audit.verify import entries
from concord.api.cli.common import DatabaseUrl, DataDir, errors, fail, settings_from
from concord.api.cli.records import DEMO_RECORDER, record_scenario
from concord.api.keys import KeyStore, Role
from concord.api.scenario import founding_scenario
from concord.api.wiring import Concord, open_keys, open_log
from concord.domain.errors import ConcordError


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")]
    = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    demo_data: Annotated[bool, typer.Option(
        "--demo", help="First record the RELACOPAZ founding example (into a fresh log).")]
    = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help=(
        "API processes, each with its own writer. With more than one, the read models run "
        "in one process of their own (concord project), started here unless "
        "--no-projections."))] = 1,
    no_projections: Annotated[bool, typer.Option(
        "--no-projections", help="Do not keep the read models up here: a `concord project` "
        "process elsewhere does.")] = False,
) -> None:
    """Serve the HTTP API (docs at /docs) with uvicorn."""
    import os
    import subprocess
    import sys

    import uvicorn

    from concord.api.http.app import create_app
    from concord.api.http.observe import configure_logging
    from concord.api.runtime import tune_runtime

    separate = workers > 1 or no_projections
    settings = settings_from(data_dir, host=host, port=port, database_url=database_url,
                         projections=False if separate else None)
    url = f"http://{settings.host}:{settings.port}"
    with open_log(settings) as log:
        if demo_data:
            try:
                count, new = record_scenario(log, founding_scenario(), DEMO_RECORDER,
                                             fresh=True)
            except ConcordError as e:
                raise fail(str(e)) from None
            errors.print(f"{'Recorded' if new else 'Already recorded, nothing appended:'} the "
                         f"founding example, {count} {entries(count)}, in {settings.where}",
                         highlight=False)
        store = open_keys(settings)
        try:
            if not store.has_admin():
                _first_key(store, "admin", Role.admin, url,
                           "Created the first admin key (none existed)")
            if demo_data and not any(k.name == "demo-recorder" for k in store.list()):
                _first_key(store, "demo-recorder", Role.recorder, url,
                           "Created a recorder key for the demo")
        finally:
            store.close()
    configure_logging(settings.log_level)
    errors.print(f"Concord serving {settings.where} on http://{settings.host}:"
                 f"{settings.port} (API docs at /docs)"
                 + (f" with {workers} API processes" if workers > 1 else ""), highlight=False)
    tune_runtime()
    common = {"host": settings.host, "port": settings.port, "log_config": None,
              "access_log": False, "proxy_headers": False, "timeout_graceful_shutdown": 5}
    if workers == 1:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    # Each worker builds its app from the environment: pass the settings on there.
    os.environ.update(settings.as_environment())
    projector = None if no_projections else subprocess.Popen(
        [sys.argv[0], "project"], env=os.environ.copy())
    try:
        uvicorn.run("concord.api.http.app:from_environment", factory=True, workers=workers,
                    **common)  # type: ignore[arg-type]
    finally:
        if projector is not None:
            projector.terminate()
            projector.wait(30)


def project(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Keep the read models up with the log, in this process, until stopped: for API
    processes started with --no-projections (or --workers). On PostgreSQL it is woken by
    every commit (LISTEN/NOTIFY); on SQLite it polls every second."""
    import signal
    import threading

    from concord.api.http.observe import configure_logging
    from concord.api.runtime import tune_runtime
    from concord.projections.registry import PROJECTIONS

    settings = settings_from(data_dir, database_url=database_url)
    configure_logging(settings.log_level)
    tune_runtime()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with Concord(settings, keys=False) as concord:
        claimed = concord.claim_projections()
        if not claimed:
            errors.print("Another process keeps the read models up; standing by to take "
                         "over", highlight=False)
        while not claimed and not stop.wait(1.0):
            claimed = concord.claim_projections()
        if not claimed:
            return
        concord.run_projections()
        concord.cosign(concord.checkpoints())
        errors.print(f"Concord keeping {', '.join(PROJECTIONS)} up with {settings.where}",
                     highlight=False)
        lost = False
        while not stop.wait(2.0):
            if not concord.still_claimed():
                lost = True  # a standby may already have taken over: stop at once
                break
        concord.close_read_side()
        if lost:
            raise fail("lost the database session that held the right to run the "
                        "projections; exiting so that a supervisor restarts this process")


def _first_key(store: KeyStore, name: str, role: Role, url: str, why: str) -> None:
    taken = {k.name for k in store.list()}
    unique = next(n for n in (name, *(f"{name}-{i}" for i in range(2, 1000))) if n not in taken)
    key, token = store.create(unique, role)
    errors.print(
        f"{why}. Its token is shown this once and stored only as a hash:\n"
        f"  name {key.name}, role {key.role.name}\n"
        f"  token {token}\n"
        f"Use it as: {_example(role, token, url)}",
        highlight=False, soft_wrap=True,
    )


def _example(role: Role, token: str, url: str) -> str:
    """A request the role may make (api/http/auth.py): the keys for an admin, an append for a
    recorder, a read for a reader."""
    auth = f"curl -H 'Authorization: Bearer {token}'"
    if role is Role.admin:
        return f"{auth} {url}/v1/keys"
    if role is Role.recorder:
        return (f"{auth} -H 'Content-Type: application/json' --data @entry.json "
                f"{url}/v1/events  (entry.json: one submission, as in {url}/docs)")
    return f"{auth} {url}/v1/events"
