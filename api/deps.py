"""Dependencies of the routes, as Annotated aliases.

They are `async def` because they never block: FastAPI would run a plain `def` dependency in
its thread pool, a thread hop per request for reading an attribute.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from starlette.requests import ClientDisconnect

from api.errors import ProblemError
from api.feed import LiveFeed
from api.observe import Metrics
from api.settings import Settings
from domain.log import CoordinationLog


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


LogDep = Annotated[CoordinationLog, Depends(get_log)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FeedDep = Annotated[LiveFeed, Depends(get_feed)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
JsonBody = Annotated[Any, Depends(json_body)]
