"""Declarations and their signatories, from the declarations projection."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.reads import MinPosition, caught_up, stream_etag
from concord.api.http.schemas import problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.codes import CODE_PATTERN, state_name
from concord.domain.declaration import Declaration
from concord.projections import declarations as projection

router = APIRouter(prefix="/v1/declarations", tags=["declarations"])


class DeclarationSummary(BaseModel):
    """A declaration on record."""

    code: str
    title: str
    also_known_as: list[str]
    conference: str | None
    network: str | None
    text_sha256: str | None
    adopted_on: str
    adopted_at: int
    signatories: int


class Signature(BaseModel):
    """A state's signature that stands."""

    state: str
    name: str
    signed_on: str
    position: int
    signatory: dict[str, str] | None


SIGNATURE_COLUMNS = ("state", "name", "signed_on", "position", "signatory")


class Withdrawal(BaseModel):
    """A signature withdrawn."""

    state: str
    name: str
    signed_on: str
    withdrawn_on: str
    position: int
    reason: str | None


class DeclarationDetail(DeclarationSummary):
    """A declaration with its signatories and withdrawals."""

    signed: list[Signature]
    withdrawn: list[Withdrawal]


@router.get("", response_model=list[DeclarationSummary], responses=problem_responses(422, 503))
async def list_declarations(request: Request, min_position: MinPosition = 0
                            ) -> list[dict[str, Any]]:
    """Every declaration on record, with how many states stand signed."""
    suffix, _ = await caught_up(request, "declarations", min_position)
    store = request.app.state.projection_store
    return await run_in_threadpool(store.read, "declarations", suffix,
                                   projection.list_declarations)


@router.get("/{code}", response_model=DeclarationDetail, responses={
    **csv_content("The declaration as JSON, or its signatories as CSV (`signatory` a JSON "
                  "text in its cell)."),
    **problem_responses(404, 422, 503)})
async def read_declaration(
    request: Request, response: Response,
    code: Annotated[str, Path(pattern=f"^{CODE_PATTERN.pattern}$")],
    min_position: MinPosition = 0,
    format_: Format = None,
) -> dict[str, Any] | Response:
    """One declaration: its facts, its signatories with dates and names, its withdrawals."""
    suffix, reached = await caught_up(request, "declarations", min_position)
    store = request.app.state.projection_store
    found: dict[str, Any] | None = await run_in_threadpool(
        store.read, "declarations", suffix,
        lambda reader, live: projection.declaration(reader, code, live))
    if found is None:
        raise ProblemError(404, "no-such-declaration", "No such declaration",
                           f"declaration {code} is not on record")
    for item in (*found["signed"], *found["withdrawn"]):
        item["name"] = state_name(item["state"])
    if wants_csv(request, format_):
        return csv_response(found["signed"], SIGNATURE_COLUMNS,
                            f"{found['code']}-signatories.csv")
    stream = Declaration.stream_id(found["code"])
    response.headers["ETag"] = await stream_etag(request, stream, reached)
    return found
