"""Networks and their members, from the membership projection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.reads import AsOf, MinPosition, as_of_position, caught_up, stream_etag
from concord.api.http.schemas import problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.catalogue import IsoDate
from concord.domain.codes import CODE_PATTERN, state_name
from concord.domain.network import Network as NetworkStream
from concord.projections import networks as projection
from concord.projections.db import Reader
from concord.projections.membership import members, network_intervals, roles, series

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


def _on_record(reader: Reader, code: str, position: int, suffix: str) -> bool:
    known = reader.execute(
        f"SELECT founded_at FROM membership_networks{suffix} WHERE network=?",
        (code,)).fetchone()
    return known is not None and known[0] <= position


def _not_on_record(code: str, position: int) -> ProblemError:
    return ProblemError(404, "no-such-network", "No such network",
                        f"network {code} is not on record as of position {position}")


async def _membership_as_of(request: Request, asked: str | None, min_position: int
                            ) -> tuple[str, int]:
    """The membership projection's live suffix, caught up, and the position to read at."""
    as_of = await as_of_position(request, asked)
    suffix, reached = await caught_up(request, "membership", max(min_position, as_of or 0),
                                      {"as_of": as_of or 0, "min_position": min_position})
    return suffix, reached if as_of is None else as_of


@router.get("/{code}/members", response_model=Members,
            responses={**csv_content("The members, as JSON or CSV."),
                       **problem_responses(404, 422, 503)})
async def network_members(
    request: Request,
    code: NetworkCode,
    on: Annotated[IsoDate | None, Query(description="The date (default: today, UTC).")] = None,
    as_of: AsOf = None,
    role: Annotated[Literal["member", "observer"] | None, Query()] = None,
    min_position: MinPosition = 0,
    format_: Format = None,
) -> dict[str, Any] | Response:
    """The members of a network on a date, as the record stood at a position."""
    suffix, position = await _membership_as_of(request, as_of, min_position)
    day = on or datetime.now(UTC).date().isoformat()
    store = request.app.state.projection_store

    def query(reader: Reader, suffix: str) -> tuple[bool, list[Any]]:
        if not _on_record(reader, code, position, suffix):
            return False, []
        return True, members(reader, code, day, position, role, suffix)

    known, found = await run_in_threadpool(store.read, "membership", suffix, query)
    if not known:
        raise _not_on_record(code, position)
    rows = [{"state": m.state, "name": state_name(m.state), "role": m.role,
             "since": m.since} for m in found]
    if wants_csv(request, format_):
        return csv_response(rows, ("state", "name", "role", "since"),
                            f"{code}-members-{day}-as-of-{position}.csv")
    return {"network": code, "on": day, "as_of": position, "count": len(found),
            "members": rows}


class IntervalView(BaseModel):
    """An interval during which a state held a role in a network."""

    state: str
    name: str
    role: str
    valid_from: str = Field(description="The first day it held the role.")
    valid_to: str | None = Field(description=(
        "The day it stopped holding it (exclusive); null while it holds it."))


class Intervals(BaseModel):
    """Each state's intervals in a network, as the record stood at a position."""

    model_config = {"json_schema_extra": {"examples": [{
        "network": "RELACOPAZ", "as_of": 88, "intervals": [
            {"state": "ARG", "name": "Argentina", "role": "member",
             "valid_from": "2023-09-12", "valid_to": None}]}]}}

    network: str
    as_of: int
    intervals: list[IntervalView]


INTERVAL_COLUMNS = ("state", "name", "role", "valid_from", "valid_to")


async def _intervals_as_of(request: Request, code: str, as_of: str | None,
                           min_position: int) -> tuple[int, list[dict[str, Any]]]:
    """The position `as_of` names and the network's membership intervals as the record
    stood there; 404 if the network was not on record then."""
    suffix, position = await _membership_as_of(request, as_of, min_position)
    store = request.app.state.projection_store

    def query(reader: Reader, suffix: str) -> list[dict[str, Any]] | None:
        if not _on_record(reader, code, position, suffix):
            return None
        return network_intervals(reader, code, position, suffix)

    found = await run_in_threadpool(store.read, "membership", suffix, query)
    if found is None:
        raise _not_on_record(code, position)
    return position, found


@router.get("/{code}/intervals", response_model=Intervals,
            responses={**csv_content("The intervals, as JSON or CSV."),
                       **problem_responses(404, 422, 503)})
async def network_intervals_route(
    request: Request,
    code: NetworkCode,
    as_of: AsOf = None,
    min_position: MinPosition = 0,
    format_: Format = None,
) -> dict[str, Any] | Response:
    """Each state's membership intervals in a network, by state then start date."""
    position, found = await _intervals_as_of(request, code, as_of, min_position)
    rows = [{**row, "name": state_name(str(row["state"]))} for row in found]
    if wants_csv(request, format_):
        return csv_response(rows, INTERVAL_COLUMNS, f"{code}-intervals-as-of-{position}.csv")
    return {"network": code, "as_of": position, "intervals": rows}


class SeriesPoint(BaseModel):
    """The counts by role from a date on which one of them changes."""

    model_config = {"extra": "allow"}

    date: str
    total: int


class Series(BaseModel):
    """A network's counts by role at each date they change, as the record stood at a
    position."""

    model_config = {"json_schema_extra": {"examples": [{
        "network": "RELACOPAZ", "as_of": 88, "roles": ["member", "observer"],
        "series": [{"date": "2023-09-12", "member": 18, "observer": 0, "total": 18}]}]}}

    network: str
    as_of: int
    roles: list[str] = Field(description="The roles counted, each a field of every point.")
    series: list[SeriesPoint]


@router.get("/{code}/series", response_model=Series,
            responses={**csv_content("The series, as JSON or CSV."),
                       **problem_responses(404, 422, 503)})
async def network_series(
    request: Request,
    code: NetworkCode,
    as_of: AsOf = None,
    date_from: Annotated[IsoDate | None, Query(alias="from", description=(
        "Only the dates on or after this one."))] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description=(
        "Only the dates on or before this one."))] = None,
    min_position: MinPosition = 0,
    format_: Format = None,
) -> dict[str, Any] | Response:
    """A network's counts by role, and their total, from each date on which one changes."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ProblemError(
            422, "invalid-request", "Invalid request",
            f"from ({date_from}) is later than to ({date_to}): no date is in both",
            errors=[{"field": "from", "reason": f"later than to ({date_to})"},
                    {"field": "to", "reason": f"earlier than from ({date_from})"}])
    position, found = await _intervals_as_of(request, code, as_of, min_position)
    points = series(found, date_from, date_to)
    if wants_csv(request, format_):
        return csv_response(points, ("date", *roles(), "total"),
                            f"{code}-series-as-of-{position}.csv")
    return {"network": code, "as_of": position, "roles": list(roles()), "series": points}
