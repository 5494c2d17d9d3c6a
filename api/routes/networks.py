"""Networks and their members, from the membership projection."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.errors import ProblemError
from api.reads import caught_up
from api.render import state_name
from api.schemas import problem_responses
from domain.catalogue import IsoDate
from domain.codes import CODE_PATTERN
from projections.membership import members

router = APIRouter(prefix="/v1/networks", tags=["networks"])

MAX_POSITION = 2**63 - 1


class MemberView(BaseModel):
    """A member on the date asked, and since when it has held its role."""

    state: str
    name: str
    role: str
    since: str


class Members(BaseModel):
    """The members of a network on a date, as the record stood at a position."""

    network: str
    on: str
    as_of: int
    count: int
    members: list[MemberView]


@router.get("/{code}/members", response_model=Members,
            responses=problem_responses(404, 422, 503))
async def network_members(
    request: Request,
    code: Annotated[str, Path(pattern=f"^{CODE_PATTERN.pattern}$")],
    on: Annotated[IsoDate | None, Query(description="The date (default: today, UTC).")] = None,
    as_of: Annotated[int | None, Query(ge=0, le=MAX_POSITION, description=(
        "The record as it stood at this position (default: the latest)."))] = None,
    role: Annotated[Literal["member", "observer"] | None, Query()] = None,
    min_position: Annotated[int, Query(ge=0, le=MAX_POSITION, description=(
        "Wait until the answer reflects at least this position (read-your-writes)."))] = 0,
) -> dict[str, Any]:
    """The members of a network on a date, as the record stood at a position."""
    suffix, reached = await caught_up(request, "membership", max(min_position, as_of or 0))
    position = reached if as_of is None else as_of
    day = on or datetime.now(UTC).date().isoformat()
    store = request.app.state.projection_store

    def query(reader: sqlite3.Connection, suffix: str) -> tuple[bool, list[Any]]:
        known = reader.execute(
            f"SELECT founded_at FROM membership_networks{suffix} WHERE network=?",
            (code,)).fetchone()
        if known is None or known[0] > position:
            return False, []
        return True, members(reader, code, day, position, role, suffix)

    known, found = await run_in_threadpool(store.read, "membership", suffix, query)
    if not known:
        raise ProblemError(404, "no-such-network", "No such network",
                           f"network {code} is not on record as of position {position}")
    return {"network": code, "on": day, "as_of": position, "count": len(found),
            "members": [{"state": m.state, "name": state_name(m.state), "role": m.role,
                         "since": m.since} for m in found]}
