"""Conferences: schedule, host, status, delegations and sessions, from the conferences
projection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.reads import MinPosition, caught_up, stream_etag
from concord.api.http.schemas import ConferenceSummary, Person, problem_responses
from concord.domain.catalogue import Code, StateCode
from concord.domain.codes import CODE_PATTERN, state_name
from concord.domain.conference import Conference
from concord.projections import conferences as projection

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


@router.get("", response_model=list[ConferenceListed], responses=problem_responses(422, 503))
async def list_conferences(
    request: Request,
    network: Annotated[Code | None, Query(description="Only this network's.")] = None,
    status: Annotated[Literal["scheduled", "held", "cancelled"] | None, Query()] = None,
    host_state: Annotated[StateCode | None, Query(description="Only those it hosts.")] = None,
    min_position: MinPosition = 0,
) -> list[dict[str, Any]]:
    """Every conference on record, in order of its start."""
    suffix, _ = await caught_up(request, "conferences", min_position)
    store = request.app.state.projection_store
    found: list[dict[str, Any]] = await run_in_threadpool(
        store.read, "conferences", suffix,
        lambda reader, live: projection.list_conferences(reader, network, status, host_state,
                                                         live))
    return [{**item, "host_name": state_name(item["host_state"])} for item in found]


@router.get("/{code}", response_model=ConferenceDetail,
            responses=problem_responses(404, 422, 503))
async def read_conference(
    request: Request, response: Response,
    code: Annotated[str, Path(pattern=f"^{CODE_PATTERN.pattern}$")],
    min_position: MinPosition = 0,
) -> dict[str, Any]:
    """One conference: schedule, host, status, delegations by role, sessions and speakers."""
    suffix, reached = await caught_up(request, "conferences", min_position)
    store = request.app.state.projection_store
    found: dict[str, Any] | None = await run_in_threadpool(
        store.read, "conferences", suffix,
        lambda reader, live: projection.conference(reader, code, live))
    if found is None:
        raise ProblemError(404, "no-such-conference", "No such conference",
                           f"conference {code} is not on record")
    for item in (*found["delegations"]["participants"], *found["delegations"]["observers"]):
        item["name"] = state_name(item["state"])
    stream = Conference.stream_id(found["code"])
    response.headers["ETag"] = await stream_etag(request, stream, reached)
    return {**found, "host_name": state_name(found["host_state"])}
