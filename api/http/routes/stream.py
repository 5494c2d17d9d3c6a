"""The live stream: Server-Sent Events of envelopes as they are committed."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from concord.api.http.auth import SCOPE_KEY
from concord.api.http.deps import FeedDep, LogDep, MetricsDep, SettingsDep
from concord.api.http.errors import ProblemError
from concord.api.http.feed import FellBehind, LiveFeed
from concord.api.http.observe import Metrics
from concord.api.http.schemas import problem_responses
from concord.domain.envelope import MAX_POSITION, Envelope
from concord.log.application import CoordinationLog

router = APIRouter(prefix="/v1/events", tags=["events"])

REPLAY_PAGE = 500
POLL_SECONDS = 1.0
_POSITION = re.compile(r"[0-9]{1,19}")


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": (
        "Each entry as an event whose id is its position and whose data is its envelope; "
        "a final `resume` event if the client fell too far behind.")},
        **problem_responses(422)},
)
async def stream_events(
    request: Request, log: LogDep, feed: FeedDep, settings: SettingsDep, metrics: MetricsDep,
    after: Annotated[int | None, Query(ge=0, le=MAX_POSITION, description=(
        "Start after this position (default: Last-Event-ID, else 0)."))] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    """Entries from `after` on, then live as they are committed; resumable with Last-Event-ID."""
    start = after
    if start is None and last_event_id is not None:
        if not _POSITION.fullmatch(last_event_id.strip()) or int(last_event_id) > MAX_POSITION:
            raise ProblemError(422, "invalid-request", "Invalid request",
                               "Last-Event-ID: must be a position",
                               errors=[{"field": "Last-Event-ID", "reason": "not a position"}])
        start = int(last_event_id)
    key = request.scope.get(SCOPE_KEY)
    store = request.app.state.keys
    # Where reads need a key, a stream ends soon after its key is revoked.
    allowed = None if settings.public_read or key is None else (
        lambda: bool(store.is_active(key.name)))
    return EventSourceResponse(
        _entries(log, feed, metrics, start or 0, allowed),
        ping=settings.stream_heartbeat_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _entries(
    log: CoordinationLog, feed: LiveFeed, metrics: Metrics, after: int,
    allowed: Callable[[], bool] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The entries after `after`: replayed from the log, then live.

    Live entries come from this process's writer. Positions have no gaps, so a live batch
    that starts further on than the next position means others wrote in between (another
    server, the command line): those are read from the log first. An idle stream also looks
    at the log every POLL_SECONDS for the same reason, and, if `allowed` is given, whether
    the client's key still is.
    """
    last = after
    checked = time.monotonic()
    metrics.stream_clients.inc()
    # Subscribe before reading the log, so nothing committed in between is missed; what
    # arrives both ways is skipped by position.
    subscription = feed.subscribe()
    try:
        async for envelope in _replay(log, last):
            last = envelope["position"]
            yield _event(envelope)
        while True:
            try:
                batch = await asyncio.wait_for(subscription.next_batch(), POLL_SECONDS)
            except TimeoutError:
                batch = []
            except FellBehind:
                yield ServerSentEvent(
                    event="resume", id=str(last),
                    data=json.dumps({"after": last, "detail": (
                        "this client fell too far behind the log; reconnect with "
                        f"Last-Event-ID: {last} (or ?after={last}) to resume")}))
                return
            if allowed is not None and time.monotonic() - checked >= POLL_SECONDS:
                checked = time.monotonic()
                if not await run_in_threadpool(allowed):
                    yield ServerSentEvent(event="revoked", data=json.dumps({
                        "detail": "the API key of this stream was revoked"}))
                    return
            if not batch or batch[0]["position"] > last + 1:
                async for envelope in _replay(log, last):
                    last = envelope["position"]
                    yield _event(envelope)
            for envelope in batch:
                if envelope["position"] > last:
                    last = envelope["position"]
                    yield _event(envelope)
    finally:
        feed.unsubscribe(subscription)
        metrics.stream_clients.dec()


async def _replay(log: CoordinationLog, after: int) -> AsyncIterator[Envelope]:
    """The log's entries after `after`, to its end, a page at a time."""
    while True:
        page = await run_in_threadpool(log.read, after, REPLAY_PAGE)
        for envelope in page:
            yield envelope
        if len(page) < REPLAY_PAGE:
            return
        after = page[-1]["position"]


def _event(envelope: Any) -> ServerSentEvent:
    return ServerSentEvent(id=str(envelope["position"]),
                           data=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")))
