"""Dependencies of the routes, as Annotated aliases.

They are `async def` because they never block: FastAPI would run a plain `def` dependency in
its thread pool, a thread hop per request for reading an attribute.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from concord.api.http.errors import ProblemError
from concord.api.http.feed import LiveFeed
from concord.api.http.observe import Metrics
from concord.api.settings import Settings
from concord.log.application import CoordinationLog


async def get_log(request: Request) -> CoordinationLog:
    """The application's log."""
    log: CoordinationLog = request.app.state.log
    return log


async def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_feed(request: Request) -> LiveFeed:
    """The live feed of commits."""
    feed: LiveFeed = request.app.state.feed
    return feed


async def get_metrics(request: Request) -> Metrics:
    """The application's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


async def json_body(request: Request) -> Any:
    """The request's JSON body: 415 unless JSON, 413 over the size limit, 400 if malformed.

    Read here, on the event loop, with the limit enforced while reading, so that an
    oversized body is refused without being held in memory.
    """
    limit = request.app.state.settings.max_body_bytes
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise ProblemError(415, "unsupported-media-type", "Unsupported media type",
                           f"the body must be application/json, not {media_type or 'missing'}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
    except ClientDisconnect:
        raise ProblemError(400, "client-disconnected", "Client disconnected",
                           "the client went away before sending the whole body") from None
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError as e:
        raise ProblemError(400, "malformed-json", "Malformed JSON",
                           f"the body is not valid JSON: {e}") from None


def _too_large(limit: int) -> ProblemError:
    return ProblemError(413, "content-too-large", "Content too large",
                        f"the body is larger than the limit of {limit:,} bytes")


_DECLARED = "concord_query_parameters"


def declared_query(route: APIRoute) -> tuple[str, ...]:
    """The query parameters `route` takes, in the order it declares them: its own, its
    dependencies', and those its OpenAPI description adds (for a route that parses its own)."""
    # Found once per route, and kept on it (routes compare by value, so are not dict keys).
    found: tuple[str, ...] | None = getattr(route, _DECLARED, None)
    if found is None:
        names: dict[str, None] = {}

        def collect(dependant: Dependant) -> None:
            for sub in dependant.dependencies:
                collect(sub)
            for field in dependant.query_params:
                names[field.alias] = None

        collect(route.dependant)
        for parameter in (route.openapi_extra or {}).get("parameters", ()):
            if parameter.get("in") == "query":
                names[parameter["name"]] = None
        found = tuple(names)
        setattr(route, _DECLARED, found)
    return found


def refuse_unknown_query(request: Request) -> None:
    """422 naming every query parameter the matched route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = declared_query(route)
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in allowed]
    if unknown:
        reason = ("unknown query parameter; allowed: " + ", ".join(allowed) if allowed
                  else "unknown query parameter; this route takes none")
        raise ProblemError(422, "invalid-request", "Invalid request",
                           "; ".join(f"{name}: {reason}" for name in unknown),
                           errors=[{"field": name, "reason": reason} for name in unknown])


async def known_query(request: Request) -> None:
    """Every route's first dependency: refuse the query parameters it does not take (a
    misspelt `asof` would otherwise be ignored, and the answer silently differ)."""
    refuse_unknown_query(request)


LogDep = Annotated[CoordinationLog, Depends(get_log)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FeedDep = Annotated[LiveFeed, Depends(get_feed)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
JsonBody = Annotated[Any, Depends(json_body)]
