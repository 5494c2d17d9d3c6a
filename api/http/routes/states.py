"""One state's dossier across networks, declarations and conferences."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.reads import MinPosition, caught_up
from concord.api.http.schemas import ConferenceSummary, Person, problem_responses
from concord.domain.catalogue import StateCode
from concord.domain.codes import iso_name
from concord.projections import conferences, declarations, membership, networks

router = APIRouter(prefix="/v1/states", tags=["states"])

SOURCES = ("membership", "declarations", "conferences", "networks")


class Registration(BaseModel):
    """How a state without an ISO 3166 code was registered on the log."""

    name: str
    registered_on: str
    registered_at: int


class Membership(BaseModel):
    """An interval in a role in a network, as the record stands now."""

    network: str
    role: str
    valid_from: str
    valid_to: str | None = Field(description="Null while it lasts.")


class SignatureOf(BaseModel):
    """A signature, standing or withdrawn."""

    declaration: str
    title: str
    signed_on: str
    position: int
    signatory: Person | None
    withdrawn_on: str | None
    withdrawn_at: int | None
    withdrawal_reason: str | None


class Attendance(BaseModel):
    """A delegation the state sent (its latest entry at that conference)."""

    conference: str
    title: str
    starts_on: str
    ends_on: str | None
    role: str
    head: Person | None
    attended_on: str
    position: int


class Dossier(BaseModel):
    """Everything on record about one state."""

    state: str
    name: str
    registered: Registration | None
    memberships: list[Membership]
    signatures: list[SignatureOf]
    attendances: list[Attendance]
    hosted: list[ConferenceSummary]
    positions: dict[str, int] = Field(
        description="The position each read model reflected when it answered.")


@router.get("/{code}", response_model=Dossier, responses=problem_responses(404, 422, 503))
async def read_state(
    request: Request, code: Annotated[StateCode, Path(description=(
        "ISO 3166-1 alpha-3, ISO 3166-3, or a code registered with StateRegistered."))],
    min_position: MinPosition = 0,
) -> dict[str, Any]:
    """One state's memberships in every network, its signatures and withdrawals, the
    conferences it attended and those it hosted."""
    views = {name: await caught_up(request, name, min_position) for name in SOURCES}
    store = request.app.state.projection_store

    def gather() -> dict[str, Any]:
        def read(name: str, query: Any) -> Any:
            return store.read(name, views[name][0], lambda reader, live: query(reader, live))

        return {
            "registered": read("networks", lambda r, s: networks.registered_state(r, code, s)),
            "memberships": read("membership", lambda r, s: membership.memberships(r, code, s)),
            "signatures": read("declarations",
                               lambda r, s: declarations.signatures_of(r, code, s)),
            "attendances": read("conferences",
                                lambda r, s: conferences.attendances(r, code, s)),
            "hosted": read("conferences", lambda r, s: conferences.hosted(r, code, s)),
        }

    found = await run_in_threadpool(gather)
    name = iso_name(code) or (found["registered"] or {}).get("name")
    if name is None:
        raise ProblemError(404, "no-such-state", "No such state",
                           f"state {code} has no ISO 3166 code and is not registered on the "
                           "log")
    for item in found["hosted"]:
        item["host_name"] = name
    return {"state": code, "name": name, **found,
            "positions": {source: view[1] for source, view in views.items()}}
