"""Instruments and their states' consents, from the instruments projection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from concord.api.http import queries
from concord.api.http.reads import AsOf, MinPosition
from concord.api.http.schemas import problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.catalogue import IsoDate
from concord.domain.codes import CODE_PATTERN

router = APIRouter(prefix="/v1/instruments", tags=["instruments"])

On = Annotated[IsoDate | None, Query(description="The date (default: today, UTC).")]


class InstrumentFacts(BaseModel):
    """What was adopted."""

    code: str
    title: str
    kind: Literal["statute", "agreement", "protocol"]
    network: str | None
    conference: str | None
    text_sha256: str | None
    consents_required: int | None = Field(description=(
        "How many states must be bound on the day it enters into force, if it says."))
    adopted_on: str
    adopted_at: int = Field(description="Position of the adoption in force.")
    in_force_on: str | None = Field(description=(
        "The day it entered into force, as the record stood; null if not on record."))


class InstrumentSummary(InstrumentFacts):
    """An instrument on record, with how many states stood where on the date asked."""

    parties: int
    contracting_states: int
    signatories: int


class Instruments(BaseModel):
    """Every instrument on record at a position, counted on a date."""

    on: str
    as_of: int
    instruments: list[InstrumentSummary]


class ConsentView(BaseModel):
    """One consent of a state: from its signature, if any, to its denunciation, if any."""

    state: str
    name: str
    signed_on: str | None
    consented_on: str | None = Field(description="The day it consented to be bound.")
    form: str | None = Field(description=(
        "How it consented to be bound: ratification, acceptance, approval, accession or "
        "definitive-signature; null while it has only signed."))
    in_force_on: str | None = Field(description=(
        "The day the instrument entered into force for it: the day stated for it, else the "
        "later of its consent and the general entry into force; null if not (yet)."))
    denounced_on: str | None = Field(description="The day its denunciation takes effect.")
    notified_on: str | None = Field(description="The day it gave notice of denunciation.")
    standing: Literal["party", "contracting", "signatory"] | None = Field(description=(
        "On the date asked: party (bound, in force for it), contracting (bound, not yet in "
        "force for it), signatory (signed, not bound), or null (before, or denounced)."))


_SIGNATORY: JsonDict = {"state": "VEN", "name": "Venezuela, Bolivarian Republic of",
              "signed_on": "1948-04-30", "consented_on": None, "form": None,
              "in_force_on": None, "denounced_on": None, "notified_on": None,
              "standing": "signatory"}


class InstrumentDetail(InstrumentFacts):
    """An instrument on a date, as the record stood at a position."""

    model_config = {"json_schema_extra": {"examples": [{
        "code": "OAS-CHARTER", "title": "Charter of the Organization of American States",
        "kind": "statute", "network": "OAS", "conference": None, "text_sha256": None,
        "consents_required": 14, "adopted_on": "1948-04-30", "adopted_at": 3,
        "in_force_on": "1951-12-13", "on": "1949-01-01", "as_of": 40, "in_force": False,
        "parties": [], "contracting_states": [], "signatories": [_SIGNATORY],
        "consents": [_SIGNATORY]}]}}

    on: str
    as_of: int
    in_force: bool = Field(description="Whether it was in force on the date asked.")
    parties: list[ConsentView]
    contracting_states: list[ConsentView]
    signatories: list[ConsentView]
    consents: list[ConsentView] = Field(description=(
        "Every consent on record at the position, whatever its standing on the date."))


LIST_COLUMNS = ("code", "title", "kind", "network", "conference", "text_sha256",
                "consents_required", "adopted_on", "adopted_at", "in_force_on", "parties",
                "contracting_states", "signatories")
CONSENT_COLUMNS = ("state", "name", "signed_on", "consented_on", "form", "in_force_on",
                   "denounced_on", "notified_on", "standing")


@router.get("", response_model=Instruments, responses={
    **csv_content("The instruments, as JSON or CSV."), **problem_responses(422, 503)})
async def list_instruments(request: Request, on: On = None, as_of: AsOf = None,
                           min_position: MinPosition = 0, format_: Format = None
                           ) -> dict[str, Any] | Response:
    """Every instrument on record, as the record stood at a position, with how many states
    were parties, contracting states and signatories on a date."""
    day, position, found = await queries.instruments(request, on, as_of, min_position)
    if wants_csv(request, format_):
        return csv_response(found, LIST_COLUMNS, f"instruments-{day}-as-of-{position}.csv")
    return {"on": day, "as_of": position, "instruments": found}


@router.get("/{code}", response_model=InstrumentDetail, responses={
    **csv_content("The instrument as JSON, or one of its lists of states as CSV (`table`)."),
    **problem_responses(404, 422, 503)})
async def read_instrument(
    request: Request,
    code: Annotated[str, Path(pattern=f"^{CODE_PATTERN.pattern}$")],
    on: On = None,
    as_of: AsOf = None,
    min_position: MinPosition = 0,
    format_: Format = None,
    table: Annotated[Literal["parties", "contracting_states", "signatories", "consents"],
                     Query(description="Which list a CSV answer holds; a JSON answer holds "
                           "them all.")] = "parties",
) -> dict[str, Any] | Response:
    """One instrument on a date, as the record stood at a position: its parties,
    contracting states and signatories then, and every consent on record."""
    found = await queries.instrument(request, code, on, as_of, min_position)
    if wants_csv(request, format_):
        return csv_response(found[table], CONSENT_COLUMNS,
                            f"{code}-{table}-{found['on']}-as-of-{found['as_of']}.csv")
    return found
