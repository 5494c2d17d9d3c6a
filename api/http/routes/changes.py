"""What changed between two states of the record: the entries recorded in between, and how
a network's membership intervals changed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from concord.api.http import queries
from concord.api.http.queries import MAX_SPAN
from concord.api.http.schemas import EnvelopeModel, problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.catalogue import Code
from concord.domain.envelope import MAX_POSITION

router = APIRouter(prefix="/v1/changes", tags=["changes"])


class ChangedEntry(EnvelopeModel):
    """An entry recorded in the span, with what it means in a line."""

    summary: str
    retracts: int | None = Field(description=(
        "The position this entry retracts or corrects, if it is a retraction or correction."))
    retracted_by: int | None = Field(description=(
        "The position of the entry's retraction or correction, if one is recorded up to "
        "to_position."))


class IntervalChange(BaseModel):
    """An interval of a state in the network: a role from one date to another."""

    role: str
    valid_from: str
    valid_to: str | None


class RoleChange(BaseModel):
    """A stretch of dates on which a state's role differs between the two record states."""

    model_config = {"populate_by_name": True}

    date_from: str = Field(alias="from", description="The first date of the stretch.")
    date_to: str | None = Field(alias="to", description=(
        "The day after its last date (exclusive); null if it lasts."))
    before: str | None = Field(description="The role in the earlier record state; null: "
                                           "not in the network.")
    after: str | None = Field(description="The role in the later record state; null: not "
                                          "in the network.")


class StateChange(BaseModel):
    """A state whose intervals in the network differ between the two record states."""

    state: str
    name: str
    before: list[IntervalChange]
    after: list[IntervalChange]
    changes: list[RoleChange] = Field(description=(
        "The dates on which its role differs, stretch by stretch."))


class Changes(BaseModel):
    """The entries recorded in (from_position, to_position], and, for a network, how its
    membership changed between the two record states."""

    model_config = {"json_schema_extra": {"examples": [{
        "from_position": 88, "to_position": 89, "network": "RELACOPAZ", "entries": [{
            "position": 89, "type": "StateLeftNetwork", "stream": "network:RELACOPAZ",
            "version": 20, "effective_date": "2024-06-01",
            "recorded_at": "2026-11-28T10:15:03.120Z", "recorded_by": "cli:concord-demo",
            "source": None, "data": {"network": "RELACOPAZ", "state": "ARG"},
            "leaf_index": 88, "summary": "Argentina left Latin American and Caribbean "
            "Network for Peacekeeping Cooperation (RELACOPAZ)", "retracts": None,
            "retracted_by": None}],
        "membership": [{"state": "ARG", "name": "Argentina",
                        "before": [{"role": "member", "valid_from": "2023-09-12",
                                    "valid_to": None}],
                        "after": [{"role": "member", "valid_from": "2023-09-12",
                                   "valid_to": "2024-06-01"}],
                        "changes": [{"from": "2024-06-01", "to": None, "before": "member",
                                     "after": None}]}]}]}}

    from_position: int
    to_position: int
    network: str | None
    entries: list[ChangedEntry]
    membership: list[StateChange] | None = Field(description=(
        "With `network`: each state whose intervals differ, before and after; else null."))


ENTRY_COLUMNS = ("position", "type", "stream", "version", "effective_date", "recorded_at",
                 "recorded_by", "source", "data", "leaf_index", "summary", "retracts",
                 "retracted_by")
STATE_COLUMNS = ("state", "name", "before", "after", "changes")


@router.get("", response_model=Changes, response_model_by_alias=True, responses={
    **csv_content("The changes as JSON, or as CSV one of their lists (`table`), nested values "
                  "a JSON text in their cell."),
    **problem_responses(404, 422, 503)})
async def read_changes(
    request: Request,
    from_position: Annotated[int, Query(ge=0, le=MAX_POSITION, description=(
        "The earlier record state: the log up to this position (0: the empty log)."))] = 0,
    to_position: Annotated[int | None, Query(ge=0, le=MAX_POSITION, description=(
        f"The later record state (default: the latest); at most {MAX_SPAN:,} positions "
        "after from_position."))] = None,
    network: Annotated[Code | None, Query(description=(
        "Also how this network's membership intervals changed between the two."))] = None,
    format_: Format = None,
    table: Annotated[Literal["entries", "membership"], Query(description=(
        "Which list a CSV answer holds: the entries, or (with network) the states whose "
        "membership changed. A JSON answer holds both."))] = "entries",
) -> dict[str, Any] | Response:
    """The entries recorded between two positions, and how a network's membership changed."""
    found = await queries.changes(request, from_position, to_position, network)
    if wants_csv(request, format_):
        span = f"{found['from_position']}-{found['to_position']}"
        if table == "membership":
            if network is None:
                raise queries.invalid("table: membership needs network",
                                      ("table", "membership needs network"))
            return csv_response(found["membership"], STATE_COLUMNS,
                                f"{network}-membership-changes-{span}.csv")
        return csv_response(found["entries"], ENTRY_COLUMNS, f"changes-{span}.csv")
    return found
