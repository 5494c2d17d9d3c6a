"""Networks and their members, from the membership projection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.reads import MinPosition, caught_up, stream_etag
from concord.api.http.schemas import problem_responses
from concord.domain.catalogue import IsoDate
from concord.domain.codes import CODE_PATTERN, state_name
from concord.domain.envelope import MAX_POSITION
from concord.domain.network import Network as NetworkStream
from concord.projections import networks as projection
from concord.projections.db import Reader
from concord.projections.membership import members

router = APIRouter(prefix="/v1/networks", tags=["networks"])

NetworkCode = Annotated[str, Path(pattern=f"^{CODE_PATTERN.pattern}$")]


class Statute(BaseModel):
    """A statute the network approved."""

    title: str
    conference: str | None
    approved_on: str
    position: int


class Network(BaseModel):
    """A network's founding facts and statutes."""

    code: str
    name: str
    acronym: str | None
    purpose: str | None
    established_on: str
    established_at: int = Field(description="Position of the founding entry.")
    statutes: list[Statute]
    members_href: str = Field(description="Where the network's members are read.")


def _with_link(found: dict[str, Any]) -> dict[str, Any]:
    return {**found, "members_href": f"/v1/networks/{found['code']}/members"}


@router.get("", response_model=list[Network], responses=problem_responses(422, 503))
async def list_networks(request: Request, min_position: MinPosition = 0
                        ) -> list[dict[str, Any]]:
    """Every network on record, with its founding and statutes, in the order recorded."""
    suffix, _ = await caught_up(request, "networks", min_position)
    store = request.app.state.projection_store
    found = await run_in_threadpool(store.read, "networks", suffix, projection.list_networks)
    return [_with_link(item) for item in found]


@router.get("/{code}", response_model=Network, responses=problem_responses(404, 422, 503))
async def read_network(request: Request, response: Response, code: NetworkCode,
                       min_position: MinPosition = 0) -> dict[str, Any]:
    """One network: its founding facts and its statutes; its ETag is the stream's version."""
    suffix, reached = await caught_up(request, "networks", min_position)
    store = request.app.state.projection_store
    found = await run_in_threadpool(store.read, "networks", suffix,
                                    lambda reader, live: projection.network(reader, code, live))
    if found is None:
        raise ProblemError(404, "no-such-network", "No such network",
                           f"network {code} is not on record")
    stream = NetworkStream.stream_id(found["code"])
    response.headers["ETag"] = await stream_etag(request, stream, reached)
    return _with_link(found)


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
    code: NetworkCode,
    on: Annotated[IsoDate | None, Query(description="The date (default: today, UTC).")] = None,
    as_of: Annotated[int | None, Query(ge=0, le=MAX_POSITION, description=(
        "The record as it stood at this position (default: the latest)."))] = None,
    role: Annotated[Literal["member", "observer"] | None, Query()] = None,
    min_position: MinPosition = 0,
) -> dict[str, Any]:
    """The members of a network on a date, as the record stood at a position."""
    suffix, reached = await caught_up(request, "membership", max(min_position, as_of or 0),
                                      {"as_of": as_of or 0, "min_position": min_position})
    position = reached if as_of is None else as_of
    day = on or datetime.now(UTC).date().isoformat()
    store = request.app.state.projection_store

    def query(reader: Reader, suffix: str) -> tuple[bool, list[Any]]:
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
