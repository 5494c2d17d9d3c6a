"""The history of decisions, from the history projection."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from concord.api.http import queries
from concord.api.http.reads import AsOf
from concord.api.http.schemas import EnvelopeModel, EventType, problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.catalogue import Code, IsoDate, StateCode
from concord.domain.envelope import MAX_POSITION
from concord.projections import history as projection

router = APIRouter(prefix="/v1/history", tags=["history"])

_CURSOR = re.compile(r"(?:([0-9]{4}-[0-9]{2}-[0-9]{2}),)?([0-9]{1,19})")


class HistoryEntry(EnvelopeModel):
    """An entry, with what it means in a line, and the retraction that undid it, if any."""

    summary: str
    retracted_by: int | None = Field(description=(
        "Position of the entry's retraction or correction, if one is recorded up to as_of."))


class HistoryPage(BaseModel):
    """A page of the history, and the cursor of the next one."""

    entries: list[HistoryEntry]
    next_after: str | None = Field(description=(
        "Pass as `after` for the next page, in the same order; null on the last page."))
    as_of: int = Field(description="The position of the record as it stood: the last "
                                   "position any entry listed may have.")


COLUMNS = ("position", "type", "stream", "version", "effective_date", "recorded_at",
           "recorded_by", "source", "data", "leaf_index", "summary", "retracted_by")


@router.get("", response_model=HistoryPage, responses={
    **csv_content("A page of the history, as JSON or CSV (`data` a JSON text in its cell; "
                  "the next page's cursor in the header X-Next-After)."),
    **problem_responses(422, 503)})
async def read_history(
    request: Request,
    network: Annotated[Code | None, Query()] = None,
    state: Annotated[StateCode | None, Query()] = None,
    conference: Annotated[Code | None, Query()] = None,
    declaration: Annotated[Code | None, Query()] = None,
    instrument: Annotated[Code | None, Query()] = None,
    type_: Annotated[list[EventType] | None, Query(alias="type")] = None,  # type: ignore[valid-type]
    date_from: Annotated[IsoDate | None, Query(alias="from", description=(
        "Entries effective on or after this date."))] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description=(
        "Entries effective on or before this date."))] = None,
    order: Annotated[Literal["position", "effective_date"], Query()] = "position",
    after: Annotated[str, Query(max_length=40, description=(
        "Cursor: a position; for order=effective_date also 'DATE,POSITION' (as `next_after` "
        "gives it), and a plain position continues after that entry in date order."))] = "0",
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    as_of: AsOf = None,
    min_position: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
    format_: Format = None,
) -> dict[str, Any] | Response:
    """The decisions in log order or by effective date, filtered, as the record stood at a
    position or moment; each with a summary."""
    queries.check_dates(date_from, date_to)
    match = _CURSOR.fullmatch(after)
    if match is None or (order == "position" and match.group(1)):
        raise queries.invalid(f"after: {after!r} is not a cursor of this order",
                              ("after", "not a cursor"))
    cursor: tuple[str, int] | int = (
        (match.group(1), int(match.group(2))) if match.group(1) else int(match.group(2)))
    query = projection.Query(network, state, conference, declaration, tuple(type_ or ()),
                             date_from, date_to, order, cursor, limit, instrument)
    page = await queries.history(request, query, as_of, min_position)
    if wants_csv(request, format_):
        answer = csv_response(page.entries, COLUMNS, "history.csv")
        if page.next_after is not None:
            answer.headers["X-Next-After"] = page.next_after
        return answer
    return {"entries": page.entries, "next_after": page.next_after, "as_of": page.as_of}
