"""What every read of a projection shares: waiting, bounded, for a position."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.domain.envelope import MAX_POSITION, format_timestamp
from concord.projections import history
from concord.projections.db import Reader
from concord.projections.remote import RemoteProjections
from concord.projections.runner import ProjectionRunner

T = TypeVar("T")

MinPosition = Annotated[int, Query(ge=0, le=MAX_POSITION, description=(
    "Wait until the answer reflects at least this position (read-your-writes)."))]

_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                     r"([Zz]|[+-][0-9]{2}:[0-9]{2})")

AsOf = Annotated[str | None, Query(max_length=40, description=(
    "The record as it stood at this position, or at this moment (RFC 3339, e.g. "
    "2026-11-28T10:15:03Z): the log up to the last position before the first entry recorded "
    "after it, to the millisecond of `recorded_at` (default: the latest)."),
    examples=["88", "2026-11-28T10:15:03Z"])]


def _bad_as_of(value: str, reason: str) -> ProblemError:
    return ProblemError(422, "invalid-request", "Invalid request", f"as_of: {value!r} {reason}",
                        errors=[{"field": "as_of", "reason": reason}])


async def as_of_position(request: Request, as_of: str | None) -> int | None:
    """The position `as_of` names: itself if a position, else the last one of the log as it
    stood at the moment it gives (422 naming as_of if it is neither)."""
    if as_of is None:
        return None
    if as_of.isascii() and as_of.isdigit():
        position = int(as_of)
        if position > MAX_POSITION:
            raise _bad_as_of(as_of, f"is not a position from 0 to {MAX_POSITION}")
        return position
    if _MOMENT.fullmatch(as_of) is None:
        raise _bad_as_of(as_of, "is neither a position nor an RFC 3339 moment "
                                "(2026-11-28T10:15:03Z)")
    try:
        stamp = format_timestamp(datetime.fromisoformat(as_of.upper()))
    except (ValueError, OverflowError):
        raise _bad_as_of(as_of, "is not a moment that exists") from None
    # Every entry recorded up to now must be in the history to know where the moment falls.
    end = await log_end(request)
    suffix, _ = await caught_up(request, "history", end)
    store = request.app.state.projection_store
    found: int = await run_in_threadpool(
        store.read, "history", suffix,
        lambda reader, live: history.position_at(reader, stamp, live))
    return found


_END = "concord.log_end"


async def log_end(request: Request) -> int:
    """The position of the log's last entry, read once per request: every read model one
    request draws on is read as of the same end of the log. A request that appends calls
    `forget_log_end` after appending, before it reads again."""
    known: int | None = request.scope.get(_END)
    if known is not None:
        return known
    end: int = await run_in_threadpool(request.app.state.log.last_position)
    request.scope[_END] = end
    return end


def read_whole_log(request: Request, name: str,
                   query: Callable[[Reader, str, int], T]) -> Awaitable[tuple[int, T]]:
    """`query(reader, suffix, reached)` on projection `name`'s live tables once they reflect
    the whole log as it ends now, and the position they reflect: the log's end read, the
    wait (bounded) and the read, in one trip to a worker thread."""
    runner: ProjectionRunner | RemoteProjections = request.app.state.projections
    store = request.app.state.projection_store
    wait = request.app.state.settings.read_wait_seconds

    def read() -> tuple[int, T]:
        end = request.app.state.log.last_position()
        request.scope.setdefault(_END, end)
        suffix, reached = runner.view(name)
        if reached < end:
            if not runner.wait_for(name, end, wait):
                reached = runner.view(name)[1]
                raise ProblemError(503, "projection-behind", "Projection behind",
                                   f"the {name} projection has reached position {reached}, "
                                   f"not {end}, after {wait:g} s; retry", position=reached)
            suffix, reached = runner.view(name)
        return reached, store.read(name, suffix,
                                   lambda reader, live: query(reader, live, reached))

    return run_in_threadpool(read)


def forget_log_end(request: Request) -> None:
    """Let the next `log_end` of this request read the log's end again: for a request that
    appends, after it has."""
    request.scope.pop(_END, None)


async def caught_up(request: Request, name: str, position: int,
                    asked: Mapping[str, int] | None = None) -> tuple[str, int]:
    """Wait (bounded) until projection `name` has reached `position`; then the suffix of
    its live tables and their position.

    `asked`: the query parameters `position` comes from, by name (default: min_position),
    so that a refusal names the ones beyond the log.
    """
    runner: ProjectionRunner | RemoteProjections = request.app.state.projections
    # Position 0 is never beyond the log: no need to ask where it ends.
    end = await log_end(request) if position else 0
    if position > end:
        beyond = [(field, at) for field, at in (asked or {"min_position": position}).items()
                  if at > end]
        raise ProblemError(422, "position-beyond-log", "Position beyond the log",
                           "; ".join(f"{field}: position {at} is beyond the end of the log "
                                     f"({end})" for field, at in beyond),
                           errors=[{"field": field, "reason": "beyond the log"}
                                   for field, _ in beyond])
    wait = request.app.state.settings.read_wait_seconds
    suffix, reached = await current_view(request, name)
    if position > reached:
        if not await run_in_threadpool(runner.wait_for, name, position, wait):
            reached = (await current_view(request, name))[1]
            raise ProblemError(503, "projection-behind", "Projection behind",
                               f"the {name} projection has reached position {reached}, not "
                               f"{position}, after {wait:g} s; retry", position=reached)
        suffix, reached = await current_view(request, name)
    return suffix, reached


async def current_view(request: Request, name: str) -> tuple[str, int]:
    """The suffix of projection `name`'s live tables and the position they reflect, without
    waiting."""
    runner: ProjectionRunner | RemoteProjections = request.app.state.projections
    # Another process's projections are read from the database: not on the event loop.
    if isinstance(runner, RemoteProjections):
        return await run_in_threadpool(runner.view, name)
    return runner.view(name)


async def stream_etag(request: Request, stream_id: str, position: int) -> str:
    """The entity tag of a read model of stream `stream_id` reflecting the log up to
    `position`: the stream's version then, quoted, as If-Match takes it."""
    version = await run_in_threadpool(request.app.state.log.stream_version, stream_id, position)
    return f'"{version}"'
