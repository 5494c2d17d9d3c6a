"""Networks and their members, from the membership projection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from concord.api.http import queries
from concord.api.http.reads import AsOf, MinPosition, stream_etag
from concord.api.http.schemas import problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.catalogue import IsoDate
from concord.domain.codes import CODE_PATTERN
from concord.domain.network import Network as NetworkStream
from concord.projections.membership import roles, series

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


NETWORK_COLUMNS = ("code", "name", "acronym", "purpose", "established_on", "established_at",
                   "statutes", "members_href")


@router.get("", response_model=list[Network],
            responses={**csv_content("The networks, as JSON or CSV (`statutes` a JSON text "
                                     "in its cell)."), **problem_responses(422, 503)})
async def list_networks(request: Request, min_position: MinPosition = 0,
                        format_: Format = None) -> list[dict[str, Any]] | Response:
    """Every network on record, with its founding and statutes, in the order recorded."""
    found = [_with_link(item) for item in await queries.networks(request, min_position)]
    if wants_csv(request, format_):
        return csv_response(found, NETWORK_COLUMNS, "networks.csv")
    return found


@router.get("/{code}", response_model=Network, responses=problem_responses(404, 422, 503))
async def read_network(request: Request, response: Response, code: NetworkCode,
                       min_position: MinPosition = 0) -> dict[str, Any]:
    """One network: its founding facts and its statutes; its ETag is the stream's version."""
    found, reached = await queries.network(request, code, min_position)
    stream = NetworkStream.stream_id(found["code"])
    response.headers["ETag"] = await stream_etag(request, stream, reached)
    return _with_link(found)


class MemberView(BaseModel):
    """A member on the date asked, since when it has held its role, and whether it was
    suspended on that date (a suspended member stays a member)."""

    state: str
    name: str
    role: str
    since: str
    suspended: bool = Field(description=(
        "Whether the state's rights in the network were suspended on the date asked."))


class Members(BaseModel):
    """The members of a network on a date, as the record stood at a position."""

    network: str
    on: str
    as_of: int
    count: int
    members: list[MemberView]


@router.get("/{code}/members", response_model=Members,
            responses={**csv_content("The members, as JSON or CSV."),
                       **problem_responses(404, 422, 503)})
async def network_members(
    request: Request,
    code: NetworkCode,
    on: Annotated[IsoDate | None, Query(description="The date (default: today, UTC).")] = None,
    as_of: AsOf = None,
    role: Annotated[Literal["member", "observer"] | None, Query()] = None,
    suspended: Annotated[bool | None, Query(description=(
        "Only the members suspended on the date (true), or only those not (false)."))] = None,
    min_position: MinPosition = 0,
    format_: Format = None,
) -> dict[str, Any] | Response:
    """The members of a network on a date, as the record stood at a position, each with
    whether it was suspended then."""
    found = await queries.members(request, code, on, as_of, role, min_position, suspended)
    if wants_csv(request, format_):
        return csv_response(found.rows, ("state", "name", "role", "since", "suspended"),
                            f"{code}-members-{found.on}-as-of-{found.as_of}.csv")
    return found.answer()


class OfficeView(BaseModel):
    """An office of the network and the state that held it on the date asked."""

    office: str
    state: str
    name: str
    since: str = Field(description="The first day of the term.")
    until: str | None = Field(description=(
        "The day the term ends (exclusive), if fixed or relinquished; null if open."))


class Offices(BaseModel):
    """Who held which office of a network on a date, as the record stood at a position."""

    model_config = {"json_schema_extra": {"examples": [{
        "network": "RELACOPAZ", "on": "2023-09-12", "as_of": 89, "offices": [
            {"office": "pro-tempore-presidency", "state": "ARG", "name": "Argentina",
             "since": "2023-09-12", "until": None}]}]}}

    network: str
    on: str
    as_of: int
    offices: list[OfficeView]


OFFICE_COLUMNS = ("office", "state", "name", "since", "until")


@router.get("/{code}/offices", response_model=Offices,
            responses={**csv_content("The offices, as JSON or CSV."),
                       **problem_responses(404, 422, 503)})
async def network_offices(
    request: Request,
    code: NetworkCode,
    on: Annotated[IsoDate | None, Query(description="The date (default: today, UTC).")] = None,
    as_of: AsOf = None,
    min_position: MinPosition = 0,
    format_: Format = None,
) -> dict[str, Any] | Response:
    """Who held which office of a network (its pro tempore presidency, its secretariat) on
    a date, as the record stood at a position."""
    day, position, found = await queries.offices(request, code, on, as_of, min_position)
    if wants_csv(request, format_):
        return csv_response(found, OFFICE_COLUMNS,
                            f"{code}-offices-{day}-as-of-{position}.csv")
    return {"network": code, "on": day, "as_of": position, "offices": found}


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
    position, rows = await queries.intervals(request, code, as_of, min_position)
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
        "Only the dates on or after this one; the first row then gives the counts standing "
        "on this date itself, whether or not one changes on it."))] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description=(
        "Only the dates on or before this one."))] = None,
    min_position: MinPosition = 0,
    format_: Format = None,
) -> dict[str, Any] | Response:
    """A network's counts by role, and their total, from each date on which one changes."""
    queries.check_dates(date_from, date_to)
    position, found = await queries.intervals(request, code, as_of, min_position)
    points = series(found, date_from, date_to)
    if wants_csv(request, format_):
        return csv_response(points, ("date", *roles(), "total"),
                            f"{code}-series-as-of-{position}.csv")
    return {"network": code, "as_of": position, "roles": list(roles()), "series": points}
