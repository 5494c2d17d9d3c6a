"""One state's dossier across networks, declarations and conferences."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from concord.api.http import queries
from concord.api.http.reads import MinPosition
from concord.api.http.schemas import ConferenceSummary, Person, problem_responses
from concord.api.http.tabular import Format, csv_content, csv_response, wants_csv
from concord.domain.catalogue import StateCode

router = APIRouter(prefix="/v1/states", tags=["states"])


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


class Suspension(BaseModel):
    """A span in which the state, a member, was suspended from a network, as the record
    stands now."""

    network: str
    valid_from: str
    valid_to: str | None = Field(description=(
        "The day the suspension was lifted, or the state left (exclusive); null while it "
        "lasts."))


class OfficeHeld(BaseModel):
    """A term in an office of a network, as the record stands now."""

    network: str
    office: str
    valid_from: str
    valid_to: str | None = Field(description=(
        "The day the term ended or ends (exclusive), if fixed or relinquished; null if "
        "open."))


class PendingWithdrawal(BaseModel):
    """A withdrawal from a network, notified and not yet in effect: the state is a member
    until `effective_date`, unless it revokes it before."""

    network: str
    notified_on: str
    effective_date: str
    position: int = Field(description="The entry recording the withdrawal.")


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


class ConsentOf(BaseModel):
    """One consent of the state to an instrument, as the record stands, and where it stands
    today."""

    instrument: str
    title: str
    signed_on: str | None
    consented_on: str | None = Field(description="The day it consented to be bound.")
    form: str | None = Field(description="How it consented to be bound; null while only "
                             "signed.")
    in_force_on: str | None = Field(description="The day the instrument entered into force "
                                    "for it; null if not (yet).")
    denounced_on: str | None = Field(description="The day its denunciation takes effect.")
    notified_on: str | None
    standing: str | None = Field(description=(
        "Today: party, contracting (bound, not yet in force for it), signatory, or null."))


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
    suspensions: list[Suspension]
    offices: list[OfficeHeld]
    pending_withdrawals: list[PendingWithdrawal]
    signatures: list[SignatureOf]
    instruments: list[ConsentOf]
    attendances: list[Attendance]
    hosted: list[ConferenceSummary]
    positions: dict[str, int] = Field(
        description="The position each read model reflected when it answered.")


TABLES: dict[str, tuple[str, ...]] = {
    "memberships": ("network", "role", "valid_from", "valid_to"),
    "suspensions": ("network", "valid_from", "valid_to"),
    "offices": ("network", "office", "valid_from", "valid_to"),
    "pending_withdrawals": ("network", "notified_on", "effective_date", "position"),
    "signatures": ("declaration", "title", "signed_on", "position", "signatory",
                   "withdrawn_on", "withdrawn_at", "withdrawal_reason"),
    "instruments": ("instrument", "title", "signed_on", "consented_on", "form", "in_force_on",
                    "denounced_on", "notified_on", "standing"),
    "attendances": ("conference", "title", "starts_on", "ends_on", "role", "head",
                    "attended_on", "position"),
    "hosted": ("code", "title", "network", "edition", "city", "starts_on", "ends_on",
               "status", "status_on", "scheduled_at"),
}


@router.get("/{code}", response_model=Dossier, responses={
    **csv_content("The dossier as JSON, or one of its lists (`table`) as CSV, nested values a "
                  "JSON text in their cell."),
    **problem_responses(404, 422, 503)})
async def read_state(
    request: Request, code: Annotated[StateCode, Path(description=(
        "ISO 3166-1 alpha-3, ISO 3166-3, or a code registered with StateRegistered."))],
    min_position: MinPosition = 0,
    format_: Format = None,
    table: Annotated[Literal["memberships", "suspensions", "offices", "pending_withdrawals",
                             "signatures", "instruments", "attendances", "hosted"], Query(
        description="Which list a CSV answer holds; a JSON answer holds them all.")
    ] = "memberships",
) -> dict[str, Any] | Response:
    """One state's memberships in every network, its suspensions, the offices it held and
    its withdrawals pending, its signatures and withdrawals, its consents to instruments,
    the conferences it attended and those it hosted."""
    found = await queries.dossier(request, code, min_position)
    if wants_csv(request, format_):
        return csv_response(found[table], TABLES[table], f"{code}-{table}.csv")
    return found
