"""The HTTP service: create_app(settings) builds the app, and its lifespan adds to the parts
of a Concord process (concord.api.wiring) what serving HTTP needs: the live feed, the
commit metrics, the access log's writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from concord.api.http import console
from concord.api.http.auth import DOCS_ASSETS, OPEN_PATHS, AuthMiddleware, required_role
from concord.api.http.cors import LogCorsMiddleware
from concord.api.http.deps import known_query
from concord.api.http.errors import install_error_handlers
from concord.api.http.feed import LiveFeed
from concord.api.http.observe import AccessLog, Metrics, ObserveMiddleware
from concord.api.http.routes import (
    changes,
    conferences,
    declarations,
    events,
    health,
    history,
    instruments,
    keys,
    networks,
    projections,
    states,
    stream,
    tiles,
    transparency,
)
from concord.api.http.schemas import problem_responses
from concord.api.keys import Role
from concord.api.settings import Settings
from concord.api.wiring import Concord
from concord.projections.runner import ProjectionRunner

DESCRIPTION = """\
Concord records the decisions of a network of states (a state joins, a conference is held,
a declaration is signed) as entries in an append-only log. Entries are never edited: a wrong
one is retracted by a later `EntryRetracted`, or corrected by an `EntryCorrected` that puts
its fact right (the entity keeps its code), and both stay on record. Entries may be recorded
in any order of dates: each is checked against the whole record, and a refusal names the
entry it contradicts by its position.

Submit entries with `POST /v1/events` (or `/v1/events/batch`, all or none); read the log in
order with `GET /v1/events`, or live with `GET /v1/events/stream`. Every error is an
RFC 9457 problem (`application/problem+json`) naming the field at fault.
"""


def _version() -> str:
    try:
        return version("concord")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def _declare_security(schema: dict[str, Any], public_read: bool, rate_limited: bool) -> None:
    """Mark each operation with the bearer key it needs, from the access policy itself."""
    schema["components"]["securitySchemes"] = {"bearer": {
        "type": "http", "scheme": "bearer",
        "description": "An API key: `concord keys create`, or POST /v1/keys."}}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path in OPEN_PATHS:
                continue
            role = required_role(method.upper(), path, public_read)
            responses = operation.setdefault("responses", {})
            problems = problem_responses(401) if role is None else problem_responses(401, 403)
            if role is Role.recorder and rate_limited:
                problems.update(problem_responses(429))
            for status, answer in problems.items():
                content = {"application/problem+json": {"schema": {
                    "$ref": "#/components/schemas/Problem"}}}
                responses.setdefault(str(status), {"description": answer["description"],
                                                   "content": content})
            if role is None:
                operation["security"] = [{}, {"bearer": []}]
            else:
                operation["security"] = [{"bearer": []}]
                operation["description"] = (operation.get("description", "") + f"\n\nNeeds "
                                             f"an API key with the role {role.name} or higher.")


logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """The Concord HTTP service over the log in `settings.data_dir`."""
    metrics = Metrics()
    access = AccessLog()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        concord = await run_in_threadpool(Concord, settings)
        try:
            # One process keeps the read models up; on PostgreSQL, if another already does,
            # this one reads what that one writes.
            if settings.projections and not await run_in_threadpool(
                    concord.keep_projections_up):
                logger.warning("another process keeps the read models up: reading its tables")
            app.state.checkpoints = await run_in_threadpool(concord.checkpoints)
            if isinstance(concord.projections, ProjectionRunner):
                await run_in_threadpool(concord.cosign, app.state.checkpoints)
            app.state.witnesses = settings.witness_list
            if app.state.witnesses:
                configured = {w.label for w in app.state.witnesses}
                metrics.watch_witnesses(lambda: [
                    row for row in app.state.checkpoints.witness_status()
                    if row.witness in configured])
        except BaseException:
            await concord.aclose()
            raise
        log = concord.log
        app.state.log = log
        app.state.keys = concord.keys
        app.state.projection_store = concord.store
        app.state.projections = concord.projections
        feed = LiveFeed(log, asyncio.get_running_loop(), settings.stream_buffer)
        log.writer.add_listener(metrics.on_commit)
        app.state.feed = feed
        flusher = asyncio.create_task(access.run())
        try:
            yield
        finally:
            try:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
            finally:
                concord.close_read_side()
                feed.close()
                log.writer.remove_listener(metrics.on_commit)
                await concord.aclose()

    # The documentation pages load their scripts and styles from this server, never from a
    # CDN: they work offline, and a reader's browser asks no third party.
    app = FastAPIOffline(title="Concord", version=_version(), description=DESCRIPTION,
                         lifespan=lifespan, dependencies=[Depends(known_query)],
                         static_url=DOCS_ASSETS,
                         swagger_ui_parameters={"validatorUrl": None})
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    # Added last is outermost: requests are observed (logged, counted) even when refused.
    app.add_middleware(AuthMiddleware, keys=lambda: app.state.keys,
                       public_read=settings.public_read, write_rate=settings.write_rate)
    # Requests refused before routing are counted under the documented path they match.
    app.add_middleware(ObserveMiddleware, metrics=metrics, access=access,
                       templates=lambda: app.openapi()["paths"])
    app.add_middleware(LogCorsMiddleware)  # the log's reads, refusals too, for any origin
    app.include_router(health.router)
    app.include_router(keys.router)
    app.include_router(networks.router)
    app.include_router(history.router)
    app.include_router(changes.router)
    app.include_router(declarations.router)
    app.include_router(instruments.router)
    app.include_router(keys.me_router)
    app.include_router(conferences.router)
    app.include_router(states.router)
    app.include_router(projections.router)
    app.include_router(transparency.router)
    app.include_router(tiles.router)
    app.include_router(stream.router)  # before events: /v1/events/stream is not a position
    app.include_router(events.router)
    console.install(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                events.BODY_COMPONENTS)
            _declare_security(schema, settings.public_read, settings.write_rate is not None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def from_environment() -> FastAPI:
    """The app of one of several API processes (`concord serve --workers N`), configured
    from CONCORD_* variables."""
    from concord.api.http.observe import configure_logging
    from concord.api.runtime import tune_runtime

    settings = Settings()
    configure_logging(settings.log_level)
    tune_runtime()
    return create_app(settings)
