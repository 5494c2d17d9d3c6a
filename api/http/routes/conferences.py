"""Conferences: schedule, host, status, delegations and sessions, from the conferences
projection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from concord.api.http import queries
from concord.api.http.reads import MinPosition, stream_etag
from concord.api.http.schemas import ConferenceSummary, Person, problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.catalogue import Code, StateCode
from concord.domain.codes import CODE_PATTERN
from concord.domain.conference import Conference

router = APIRouter(prefix="/v1/conferences", tags=["conferences"])


class ConferenceListed(ConferenceSummary):
    """A conference, with how many states sent delegations and how many sessions it held."""

    delegations: int
    sessions: int


class ScheduleChange(BaseModel):
    """An entry that set the conference's dates or status."""

    position: int
    type: str
    effective_date: str
    starts_on: str | None = None
    ends_on: str | None = None
    reason: str | None = None


class Delegation(BaseModel):
    """A state's delegation (its latest entry, if it has several)."""

    state: str
    name: str
    role: Literal["participant", "observer"]
    head: Person | None
    attended_on: str
    position: int


class Delegations(BaseModel):
    """Delegations by role."""

    participants: list[Delegation]
    observers: list[Delegation]


class Speaker(BaseModel):
    """Who spoke at a session."""

    name: str
    title: str
    state: str | None = None


class Session(BaseModel):
    """A session held, with its speakers."""

    title: str
    speakers: list[Speaker]
    held_on: str
    position: int


class ConferenceDetail(ConferenceSummary):
    """A conference with its schedule's changes, delegations and sessions."""

    schedule: list[ScheduleChange]
    delegations: Delegations
    sessions: list[Session]


LIST_COLUMNS = ("code", "title", "network", "edition", "host_state", "host_name", "city",
                "starts_on", "ends_on", "status", "status_on", "status_reason", "scheduled_on",
                "scheduled_at", "delegations", "sessions")
TABLES: dict[str, tuple[str, ...]] = {
    "delegations": ("state", "name", "role", "head", "attended_on", "position"),
    "sessions": ("title", "held_on", "position", "speakers"),
    "schedule": ("position", "type", "effective_date", "starts_on", "ends_on", "reason"),
}


@router.get("", response_model=list[ConferenceListed], responses={
    **csv_content("The conferences, as JSON or CSV."), **problem_responses(422, 503)})
async def list_conferences(
    request: Request,
    network: Annotated[Code | None, Query(description="Only this network's.")] = None,
    status: Annotated[Literal["scheduled", "held", "cancelled"] | None, Query()] = None,
    host_state: Annotated[StateCode | None, Query(description="Only those it hosts.")] = None,
    min_position: MinPosition = 0,
    format_: Format = None,
) -> list[dict[str, Any]] | Response:
    """Every conference on record, in order of its start."""
    found = await queries.conferences(request, network, status, host_state, min_position)
    if wants_csv(request, format_):
        return csv_response(found, LIST_COLUMNS, "conferences.csv")
    return found


@router.get("/{code}", response_model=ConferenceDetail, responses={
    **csv_content("The conference as JSON, or one of its lists (`table`) as CSV, nested "
                  "values a JSON text in their cell."),
    **problem_responses(404, 422, 503)})
async def read_conference(
    request: Request, response: Response,
    code: Annotated[str, Path(pattern=f"^{CODE_PATTERN.pattern}$")],
    min_position: MinPosition = 0,
    format_: Format = None,
    table: Annotated[Literal["delegations", "sessions", "schedule"], Query(
        description="Which list a CSV answer holds (delegations of both roles, with a role "
                    "column); a JSON answer holds them all.")] = "delegations",
) -> dict[str, Any] | Response:
    """One conference: schedule, host, status, delegations by role, sessions and speakers."""
    found, reached = await queries.conference(request, code, min_position)
    if wants_csv(request, format_):
        rows = (found["schedule"] if table == "schedule" else found["sessions"]
                if table == "sessions" else [*found["delegations"]["participants"],
                                             *found["delegations"]["observers"]])
        return csv_response(rows, TABLES[table], f"{found['code']}-{table}.csv")
    stream = Conference.stream_id(found["code"])
    response.headers["ETag"] = await stream_etag(request, stream, reached)
    return found
