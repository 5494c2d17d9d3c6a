"""Request and response models of the HTTP API, the submission ones generated from the
event catalogue so that the OpenAPI document lists every event type with an example.

Requests are checked by `concord.domain.catalogue.parse_one` and `parse_batch`, the one
validation path the command line and Python callers share; the models here describe them
for the documentation.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.config import JsonDict

from concord.domain.catalogue import CATALOGUE, IsoDate, Source, Version

EXAMPLES: dict[str, dict[str, Any]] = {
    "NetworkEstablished": {"network": "RELACOPAZ", "name": "Latin American and Caribbean "
                           "Network for Peacekeeping Cooperation", "acronym": "RELACOPAZ"},
    "StatuteApproved": {"network": "RELACOPAZ", "title": "Constitutive Statute of RELACOPAZ",
                        "conference": "ALCONU-II"},
    "StateRegistered": {"state": "XKX", "name": "Kosovo"},
    "StateJoinedNetwork": {"network": "RELACOPAZ", "state": "ARG", "role": "member"},
    "StateLeftNetwork": {"network": "RELACOPAZ", "state": "ARG", "reason": "Withdrew",
                         "notified_on": "2023-09-12"},
    "WithdrawalRevoked": {"network": "RELACOPAZ", "state": "ARG",
                          "reason": "Notice withdrawn before it took effect"},
    "MembershipSuspended": {"network": "OAS", "state": "HND", "reason": "The coup d'état "
                            "of 28 June 2009", "authority": "OAS General Assembly"},
    "SuspensionLifted": {"network": "OAS", "state": "HND",
                         "reason": "Readmitted by the General Assembly"},
    "OfficeAssumed": {"network": "RELACOPAZ", "office": "pro-tempore-presidency",
                      "state": "ARG"},
    "OfficeRelinquished": {"network": "RELACOPAZ", "office": "pro-tempore-presidency",
                           "state": "ARG", "reason": "Handed over to the next host"},
    "ConferenceScheduled": {"conference": "ALCONU-III", "title": "III Latin American and "
                            "Caribbean Conference on Peace Operations", "edition": "III",
                            "host_state": "PRY", "starts_on": "2025"},
    "ConferenceRescheduled": {"conference": "ALCONU-III", "starts_on": "2025-10-08",
                              "ends_on": "2025-10-09"},
    "ConferenceCancelled": {"conference": "ALCONU-IV", "reason": "Postponed sine die"},
    "ConferenceHeld": {"conference": "ALCONU-III"},
    "DelegationAttended": {"conference": "ALCONU-II", "state": "ESP", "role": "observer"},
    "SessionHeld": {"conference": "ALCONU-II", "title": "Opening", "speakers": [
        {"name": "Jean-Pierre Lacroix",
         "title": "UN Under-Secretary-General for Peace Operations"}]},
    "DeclarationAdopted": {"declaration": "BUENOS-AIRES-2023", "title": "Buenos Aires "
                           "Declaration", "also_known_as": ["The Duty to Make Peace"],
                           "conference": "ALCONU-II"},
    "DeclarationSigned": {"declaration": "BUENOS-AIRES-2023", "state": "ARG"},
    "SignatureWithdrawn": {"declaration": "BUENOS-AIRES-2023", "state": "ARG",
                           "reason": "Policy change"},
    "InstrumentAdopted": {"instrument": "OAS-CHARTER", "title": "Charter of the Organization "
                          "of American States", "kind": "statute", "network": "OAS",
                          "entry_into_force": {"consents_required": 14}},
    "ConsentExpressed": {"instrument": "OAS-CHARTER", "state": "VEN", "form": "signature"},
    "InstrumentEnteredIntoForce": {"instrument": "OAS-CHARTER"},
    "Denunciation": {"instrument": "OAS-CHARTER", "state": "VEN", "notified_on": "2017-04-28",
                     "reason": "Notice of denunciation of the Charter"},
    "EntryRetracted": {"position": 42, "reason": "Recorded against the wrong state"},
    "EntryCorrected": {"position": 5, "reason": "The city was left out", "replacement": {
        "type": "ConferenceScheduled", "data": {
            "conference": "ALCONU-II", "title": "II Latin American and Caribbean Conference "
            "on Peace Operations", "host_state": "ARG", "city": "Buenos Aires",
            "starts_on": "2023-09-12"}}},
}
assert set(EXAMPLES) == set(CATALOGUE)


# A conference is held on or after its start (the example's ALCONU-III starts in 2025).
EXAMPLE_DATES = {"ConferenceHeld": "2025-10-08", "MembershipSuspended": "2009-07-04",
                 "SuspensionLifted": "2011-06-01", "OfficeRelinquished": "2025-10-08",
                 "StateLeftNetwork": "2024-09-12", "WithdrawalRevoked": "2024-01-01",
                 "InstrumentAdopted": "1948-04-30", "ConsentExpressed": "1948-04-30",
                 "InstrumentEnteredIntoForce": "1951-12-13", "Denunciation": "2019-04-27"}
EXAMPLE_SOURCES = {
    "MembershipSuspended": "OAS General Assembly, special session, 4 July 2009",
    "SuspensionLifted": "OAS General Assembly, special session, 1 June 2011",
    "InstrumentAdopted": "Ninth International Conference of American States, Bogotá, "
                         "30 April 1948; in force once two-thirds of the 21 signatories ratify",
    "ConsentExpressed": "Signed at Bogotá by the 21 states of the conference, 30 April 1948",
    "InstrumentEnteredIntoForce": "OAS Charter, entry into force, 13 December 1951",
    "Denunciation": "Venezuela's notice of 28 April 2017, effective two years later",
}


def _submission_model(type_: str) -> type[BaseModel]:
    payload = CATALOGUE[type_]
    example: JsonDict = {"type": type_, "data": EXAMPLES[type_],
                         "effective_date": EXAMPLE_DATES.get(type_, "2023-09-12"),
                         "source": EXAMPLE_SOURCES.get(
                             type_, "The Diplomatic Insight, 18 Sep 2023")}
    return create_model(
        f"{type_}Submission",
        __config__=ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [example]}),
        __doc__=f"A submission of a {type_} entry: {payload.__doc__}",
        type=(Literal[type_], ...),  # type: ignore[arg-type]
        data=(payload, ...),
        effective_date=(IsoDate | None, Field(None, description=(
            "When the decision took effect (ISO 8601 date); default: today, UTC."))),
        source=(Source | None, Field(None, description="Citation of the decision's record.")),
        expected_version=(Version | None, Field(None, description=(
            "The stream's current version, to refuse the entry if it changed (0: new)."))),
    )


SUBMISSION_MODELS = [_submission_model(t) for t in CATALOGUE]
Submission = Annotated[Union[tuple(SUBMISSION_MODELS)], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007


EventType = Literal[tuple(CATALOGUE)]  # type: ignore[valid-type]
"""A public event type's name, as a query parameter takes it."""


class BatchRequest(BaseModel):
    """Submissions appended together, all or none."""

    model_config = ConfigDict(extra="forbid")
    events: list[Submission]  # type: ignore[valid-type]


class EnvelopeModel(BaseModel):
    """One entry of the log as the public sees it."""

    position: int = Field(description="Strictly increasing global order, from 1, no gaps.")
    type: str = Field(description="The event type, one of the catalogue's.")
    stream: str = Field(description="The aggregate the entry belongs to, e.g. network:RELACOPAZ.")
    version: int = Field(description="The entry's version in its stream, from 1.")
    effective_date: str = Field(description="When it took effect in the world (ISO 8601).")
    recorded_at: str = Field(description="When the log accepted it (UTC, milliseconds).")
    recorded_by: str = Field(description="Who recorded it.")
    source: str | None = Field(description="Citation of the decision's record, if given.")
    data: dict[str, Any] = Field(description="The payload, as the catalogue defines it.")
    leaf_index: int = Field(description=(
        "The entry's leaf in the log's Merkle tree, dense from 0 in log order. The leaf's "
        "bytes are the RFC 8785 canonical JSON of this envelope without leaf_index."))


class EventPage(BaseModel):
    """A page of the log in order, and where the next one starts."""

    events: list[EnvelopeModel]
    next_after: int | None = Field(description=(
        "Pass as `after` to get the next page; null on the last page (to follow the log as "
        "it grows, pass the last entry's position, or read /v1/events/stream)."))


class BatchResponse(BaseModel):
    """The envelopes of an appended batch, in order."""

    events: list[EnvelopeModel]


class FieldError(BaseModel):
    """One field of the request and why it was refused."""

    field: str
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    index: int | None = Field(None, description="Batch: the index of the refused submission.")
    current_version: int | None = Field(None, description="Conflict: the stream's version.")


class Health(BaseModel):
    """Whether the process, the log and the writer are up."""

    status: Literal["ok", "unavailable"]
    log: str | None = None
    writer: str | None = None
    position: int | None = None
    projections: dict[str, str] | None = Field(
        None, description="Each projection: 'ok', or the failure that stops it.")
    witnesses: dict[str, WitnessHealth] | None = Field(
        None, description=("Each witness the log asks to cosign, by name and key ID (only "
                            "with CONCORD_WITNESSES). A failing witness does not make the "
                            "service unready: the log keeps accepting entries."))


class WitnessHealth(BaseModel):
    """How a witness fares, as the log last found it."""

    url: str
    status: Literal["ok", "failing", "not asked yet"]
    cosigned_size: int = Field(description="The largest tree size it has cosigned.")
    last_error: str | None = Field(None, description="Why its last answer was a failure.")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for problem details with the given statuses."""
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}},
                 "description": _DESCRIPTIONS[status]}
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "Malformed JSON.",
    401: "No API key, or an unknown or revoked one (see WWW-Authenticate).",
    403: "The API key's role is not enough.",
    429: "The key wrote faster than allowed; retry after Retry-After seconds.",
    404: "Not found.",
    409: "A rule of the log refuses the entry, or the stream's version is not the expected one.",
    413: "Body or batch too large.",
    415: "The body is not application/json.",
    422: "The request or the submission is invalid; every field at fault is named.",
    503: "The log cannot take or serve the request now; retry.",
}


class ConferenceSummary(BaseModel):
    """A conference on record. Dates are as given: "2025", "2025-10" or "2025-10-08"."""

    code: str
    title: str
    network: str | None
    edition: str | None
    host_state: str
    host_name: str
    city: str | None
    starts_on: str
    ends_on: str | None
    status: Literal["scheduled", "held", "cancelled"]
    status_on: str | None = Field(description="Effective date of the holding or cancellation.")
    status_reason: str | None = Field(description="Why it was cancelled, if given.")
    scheduled_on: str
    scheduled_at: int = Field(description="Position of the scheduling entry.")


class Person(BaseModel):
    """Who headed a delegation."""

    name: str
    title: str
