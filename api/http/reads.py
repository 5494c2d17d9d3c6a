"""What every read of a projection shares: waiting, bounded, for a position."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.domain.envelope import MAX_POSITION
from concord.projections.remote import RemoteProjections
from concord.projections.runner import ProjectionRunner

MinPosition = Annotated[int, Query(ge=0, le=MAX_POSITION, description=(
    "Wait until the answer reflects at least this position (read-your-writes)."))]


async def caught_up(request: Request, name: str, position: int,
                    asked: Mapping[str, int] | None = None) -> tuple[str, int]:
    """Wait (bounded) until projection `name` has reached `position`; then the suffix of
    its live tables and their position.

    `asked`: the query parameters `position` comes from, by name (default: min_position),
    so that a refusal names the ones beyond the log.
    """
    runner: ProjectionRunner | RemoteProjections = request.app.state.projections
    # Position 0 is never beyond the log: no need to ask where it ends.
    end = await run_in_threadpool(request.app.state.log.last_position) if position else 0
    if position > end:
        beyond = [(field, at) for field, at in (asked or {"min_position": position}).items()
                  if at > end]
        raise ProblemError(422, "position-beyond-log", "Position beyond the log",
                           "; ".join(f"{field}: position {at} is beyond the end of the log "
                                     f"({end})" for field, at in beyond),
                           errors=[{"field": field, "reason": "beyond the log"}
                                   for field, _ in beyond])
    wait = request.app.state.settings.read_wait_seconds

    async def view() -> tuple[str, int]:
        # Another process's projections are read from the database: not on the event loop.
        if isinstance(runner, RemoteProjections):
            return await run_in_threadpool(runner.view, name)
        return runner.view(name)

    suffix, reached = await view()
    if position > reached:
        if not await run_in_threadpool(runner.wait_for, name, position, wait):
            reached = (await view())[1]
            raise ProblemError(503, "projection-behind", "Projection behind",
                               f"the {name} projection has reached position {reached}, not "
                               f"{position}, after {wait:g} s; retry", position=reached)
        suffix, reached = await view()
    return suffix, reached


async def stream_etag(request: Request, stream_id: str, position: int) -> str:
    """The entity tag of a read model of stream `stream_id` reflecting the log up to
    `position`: the stream's version then, quoted, as If-Match takes it."""
    version = await run_in_threadpool(request.app.state.log.stream_version, stream_id, position)
    return f'"{version}"'
