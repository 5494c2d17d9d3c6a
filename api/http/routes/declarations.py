"""Declarations and their signatories, from the declarations projection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from concord.api.http import queries
from concord.api.http.reads import MinPosition, stream_etag
from concord.api.http.schemas import problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.codes import CODE_PATTERN
from concord.domain.declaration import Declaration

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
WITHDRAWAL_COLUMNS = ("state", "name", "signed_on", "withdrawn_on", "position", "reason")
LIST_COLUMNS = ("code", "title", "also_known_as", "conference", "network", "text_sha256",
                "adopted_on", "adopted_at", "signatories")


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


@router.get("", response_model=list[DeclarationSummary], responses={
    **csv_content("The declarations, as JSON or CSV."), **problem_responses(422, 503)})
async def list_declarations(request: Request, min_position: MinPosition = 0,
                            format_: Format = None) -> list[dict[str, Any]] | Response:
    """Every declaration on record, with how many states stand signed."""
    found = await queries.declarations(request, min_position)
    if wants_csv(request, format_):
        return csv_response(found, LIST_COLUMNS, "declarations.csv")
    return found


@router.get("/{code}", response_model=DeclarationDetail, responses={
    **csv_content("The declaration as JSON, or its signatories (or, with table=withdrawn, its "
                  "withdrawals) as CSV (`signatory` a JSON text in its cell)."),
    **problem_responses(404, 422, 503)})
async def read_declaration(
    request: Request, response: Response,
    code: Annotated[str, Path(pattern=f"^{CODE_PATTERN.pattern}$")],
    min_position: MinPosition = 0,
    format_: Format = None,
    table: Annotated[Literal["signed", "withdrawn"], Query(
        description="Which list a CSV answer holds; a JSON answer holds both.")] = "signed",
) -> dict[str, Any] | Response:
    """One declaration: its facts, its signatories with dates and names, its withdrawals."""
    found, reached = await queries.declaration(request, code, min_position)
    if wants_csv(request, format_):
        if table == "withdrawn":
            return csv_response(found["withdrawn"], WITHDRAWAL_COLUMNS,
                                f"{found['code']}-withdrawals.csv")
        return csv_response(found["signed"], SIGNATURE_COLUMNS,
                            f"{found['code']}-signatories.csv")
    stream = Declaration.stream_id(found["code"])
    response.headers["ETag"] = await stream_etag(request, stream, reached)
    return found
