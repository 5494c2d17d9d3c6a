"""The event catalogue: every public event type, its payload, and how a submission is checked.

This module is the one place where the public types and their fields are declared. The
aggregates, the writer, the HTTP API and its OpenAPI document all read it.

A submission is checked in two steps. Here, its shape and who sends it, before anything is
read from the log: `parse_one` and `parse_batch` (the fields, their formats and bounds, the
recorder's name and the idempotency key). Then, in the writer's round, the rules against the
record: `commands.execute` and each aggregate's rules over time. Before the first step, the
HTTP API only decodes the JSON body (refusing one too large), folds an If-Match header into
`expected_version`, and for a batch checks that the body holds a list of submissions of at
most its size.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    create_model,
)

from concord.domain.codes import (
    check_code,
    check_iso_date,
    check_partial_date,
    check_state_code,
    nearest_codes,
)
from concord.domain.envelope import MAX_POSITION
from concord.domain.errors import BatchRefused, FieldProblem, InvalidSubmission

_NON_BLANK = r"\S"

# The patterns are published in the JSON schema; the validators check them (and more) with
# messages that say how to put the value right.
Code = Annotated[
    str, Strict(), AfterValidator(check_code),
    Field(json_schema_extra={"pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"}),
]
StateCode = Annotated[
    str, Strict(), AfterValidator(check_state_code),
    Field(json_schema_extra={"pattern": "^[A-Z][A-Z0-9]{1,15}$"}),
]
IsoDate = Annotated[
    str, Strict(), AfterValidator(check_iso_date),
    Field(json_schema_extra={"format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
]
PartialDate = Annotated[
    str, Strict(), AfterValidator(check_partial_date),
    Field(json_schema_extra={"pattern": "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"}),
]


# C0 control characters and lone surrogates: no record needs them, PostgreSQL's text cannot
# hold U+0000, a lone surrogate is no character (it cannot be written as UTF-8), and every
# other control character costs six bytes in the canonical JSON of a leaf (\u0001).
_CONTROL = re.compile("[\x00-\x1f\ud800-\udfff]")
# Multi-line text keeps tab, line feed and carriage return (two bytes each in a leaf: \n).
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def _refuse(found: re.Match[str] | None) -> None:
    if found is None:
        return
    char = found.group()
    if char == "\x00":
        # PostgreSQL's text cannot hold U+0000, and no record needs it.
        raise ValueError("must not contain the NUL character (U+0000)")
    if "\ud800" <= char <= "\udfff":
        raise ValueError(f"must not contain a lone surrogate (U+{ord(char):04X}): it is not "
                         "a character")
    raise ValueError(f"must not contain the control character U+{ord(char):04X}")


def _one_line(value: str) -> str:
    _refuse(_CONTROL.search(value))
    return value


def _lines(value: str) -> str:
    _refuse(_CONTROL_BUT_LINES.search(value))
    return value


# Every bound below is in characters; with the characters allowed, each costs at most four
# bytes in an entry's leaf (a character beyond U+FFFF in UTF-8), which keeps the largest entry
# the catalogue accepts under the 65,535 bytes a tlog-tiles entry bundle holds
# (envelope.MAX_LEAF_BYTES; tests/log/test_leaf_bound.py builds it).
_Plain = AfterValidator(_one_line)
Name = Annotated[str, Strict(), _Plain,
                 Field(min_length=1, max_length=200, pattern=_NON_BLANK)]
Title = Annotated[str, Strict(), _Plain,
                  Field(min_length=1, max_length=300, pattern=_NON_BLANK)]
Text = Annotated[str, Strict(), AfterValidator(_lines),
                 Field(min_length=1, max_length=2000, pattern=_NON_BLANK)]
Short = Annotated[str, Strict(), _Plain,
                  Field(min_length=1, max_length=64, pattern=_NON_BLANK)]
Source = Annotated[str, Strict(), _Plain,
                   Field(min_length=1, max_length=500, pattern=_NON_BLANK)]
PersonName = Annotated[str, Strict(), _Plain,
                       Field(min_length=1, max_length=100, pattern=_NON_BLANK)]
OFFICE_MAX_CHARS = 150  # "Vice-Minister for Multilateral Affairs ... of Bolivia" has 141
Office = Annotated[str, Strict(), _Plain,
                   Field(min_length=1, max_length=OFFICE_MAX_CHARS, pattern=_NON_BLANK)]
Sha256Hex = Annotated[str, Strict(), Field(pattern=r"^[0-9a-f]{64}$")]
Position = Annotated[int, Strict(), Field(ge=1, le=MAX_POSITION)]
Version = Annotated[int, Strict(), Field(ge=0, le=MAX_POSITION)]

MAX_SPEAKERS = 50
"""Speakers one SessionHeld entry may name."""
SOURCE_MAX_CHARS = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    """A named person and the office they held."""

    name: PersonName
    title: Office


class Speaker(_Strict):
    """A speaker at a session, with the state they spoke for, if any."""

    name: PersonName
    title: Office
    state: StateCode | None = None


class Payload(_Strict):
    """Base of every event payload: the `data` of a submission and of its envelope."""


class NetworkEstablished(Payload):
    """A network of states is founded under a code of its own."""

    network: Code
    name: Name
    acronym: Short | None = None
    purpose: Text | None = None


class StatuteApproved(Payload):
    """A network's statute (constitutive or amended) is approved, perhaps at a conference."""

    network: Code
    title: Title
    conference: Code | None = None


class StateRegistered(Payload):
    """A code is registered for an entity that has no ISO 3166 code."""

    state: StateCode
    name: Name


class StateJoinedNetwork(Payload):
    """A state joins a network as a member or an observer, or changes role."""

    network: Code
    state: StateCode
    role: Literal["member", "observer"]


class StateLeftNetwork(Payload):
    """A state leaves a network. With `notified_on`, the date it gave notice, the entry's
    effective date may lie in the future: the state stays a member until then, unless the
    withdrawal is revoked (`WithdrawalRevoked`) first."""

    network: Code
    state: StateCode
    reason: Text | None = None
    notified_on: IsoDate | None = None


class WithdrawalRevoked(Payload):
    """A state revokes its notice of withdrawal from a network before the withdrawal takes
    effect: it stays a member."""

    network: Code
    state: StateCode
    reason: Text | None = None


class MembershipSuspended(Payload):
    """A member's rights in a network are suspended (by `authority`, if named); it stays a
    member while suspended, until the suspension is lifted or it leaves."""

    network: Code
    state: StateCode
    reason: Text | None = None
    authority: Name | None = None


class SuspensionLifted(Payload):
    """A member's suspension from a network ends."""

    network: Code
    state: StateCode
    reason: Text | None = None


class OfficeAssumed(Payload):
    """A member state takes up an office of a network (`office`, a code such as
    `pro-tempore-presidency` or `secretariat`), until `term_ends_on` if the term is fixed:
    from that day on the office is free for the next holder."""

    network: Code
    office: Code
    state: StateCode
    term_ends_on: IsoDate | None = None


class OfficeRelinquished(Payload):
    """The holder of a network's office gives it up (its term ends on this entry's date)."""

    network: Code
    office: Code
    state: StateCode
    reason: Text | None = None


class ConferenceScheduled(Payload):
    """A conference is scheduled; its start may be known to the year, month or day."""

    conference: Code
    title: Title
    network: Code | None = None
    edition: Short | None = None
    host_state: StateCode
    city: Name | None = None
    starts_on: PartialDate
    ends_on: PartialDate | None = None


class ConferenceRescheduled(Payload):
    """A scheduled conference gets new dates."""

    conference: Code
    starts_on: PartialDate
    ends_on: PartialDate | None = None


class ConferenceCancelled(Payload):
    """A scheduled conference is called off."""

    conference: Code
    reason: Text | None = None


class ConferenceHeld(Payload):
    """A scheduled conference took place."""

    conference: Code


class DelegationAttended(Payload):
    """A state's delegation attended a conference as participant or observer."""

    conference: Code
    state: StateCode
    role: Literal["participant", "observer"]
    head: Person | None = None


class SessionHeld(Payload):
    """A session of a conference was held, with its speakers."""

    conference: Code
    title: Title
    speakers: Annotated[list[Speaker], Field(max_length=MAX_SPEAKERS)] | None = None


class DeclarationAdopted(Payload):
    """A declaration is adopted, perhaps at a conference or by a network."""

    declaration: Code
    title: Title
    also_known_as: Annotated[list[Title], Field(max_length=20)] | None = None
    conference: Code | None = None
    network: Code | None = None
    text_sha256: Sha256Hex | None = None


class DeclarationSigned(Payload):
    """A state signs an adopted declaration."""

    declaration: Code
    state: StateCode
    signatory: Person | None = None


class SignatureWithdrawn(Payload):
    """A state withdraws its signature from a declaration."""

    declaration: Code
    state: StateCode
    reason: Text | None = None


class EntryIntoForceTerms(_Strict):
    """What an instrument needs to enter into force."""

    consents_required: Annotated[int, Strict(), Field(ge=1, le=1000, description=(
        "How many states must have consented to be bound on the day it enters into force."))]


class InstrumentAdopted(Payload):
    """An instrument that binds only the states that consent to it (a statute, an agreement,
    a protocol) is adopted, perhaps at a conference or by a network."""

    instrument: Code
    title: Title
    kind: Literal["statute", "agreement", "protocol"]
    network: Code | None = None
    conference: Code | None = None
    text_sha256: Sha256Hex | None = None
    entry_into_force: EntryIntoForceTerms | None = None


class ConsentExpressed(Payload):
    """A state takes a step towards being bound by an instrument: a signature; then a
    ratification, acceptance or approval of it; or consent without a signature before it,
    by accession or definitive signature."""

    instrument: Code
    state: StateCode
    form: Literal["signature", "ratification", "acceptance", "approval", "accession",
                  "definitive-signature"]


CONSENT_FORMS: tuple[str, ...] = get_args(ConsentExpressed.model_fields["form"].annotation)


class InstrumentEnteredIntoForce(Payload):
    """An instrument enters into force; with `state`, it enters into force for that state
    on a date of its own (without such an entry, a state's is the later of its consent to be
    bound and the instrument's)."""

    instrument: Code
    state: StateCode | None = None


class Denunciation(Payload):
    """A state bound by an instrument denounces it, having given notice on `notified_on`:
    it stays bound until the entry's effective date, which may lie in the future."""

    instrument: Code
    state: StateCode
    notified_on: IsoDate
    reason: Text | None = None


class EntryRetracted(Payload):
    """A wrong entry is retracted; it stays in the log and stops counting from here on."""

    position: Position
    reason: Text


_CORRECTABLE = (
    NetworkEstablished, StatuteApproved, StateRegistered, StateJoinedNetwork, StateLeftNetwork,
    WithdrawalRevoked, MembershipSuspended, SuspensionLifted, OfficeAssumed, OfficeRelinquished,
    ConferenceScheduled, ConferenceRescheduled, ConferenceCancelled, ConferenceHeld,
    DelegationAttended, SessionHeld, DeclarationAdopted, DeclarationSigned, SignatureWithdrawn,
    InstrumentAdopted, ConsentExpressed, InstrumentEnteredIntoForce, Denunciation,
)


class Replacement(_Strict):
    """The corrected fact of an entry: its type (the corrected entry's) and its whole data."""

    type: str
    data: Payload


def _replacement_model(payload: type[Payload]) -> type[Replacement]:
    name = payload.__name__
    model: type[Replacement] = create_model(
        f"{name}Replacement", __base__=Replacement,
        __doc__=f"The corrected fact of a {name} entry: its type and its whole data.",
        type=(Literal[name], ...),  # type: ignore[arg-type]
        data=(payload, ...),
    )
    return model


if TYPE_CHECKING:
    AnyReplacement = Replacement
else:
    AnyReplacement = Annotated[
        Union[tuple(_replacement_model(p) for p in _CORRECTABLE)],  # noqa: UP007
        Field(discriminator="type"),
    ]


class EntryCorrected(Payload):
    """A wrong entry is corrected: from here on its fact is `replacement` (the same type, the
    same entity, every field given again); the corrected entry stays in the log. The
    correction's effective_date and source default to the corrected entry's."""

    position: Position
    reason: Text
    replacement: AnyReplacement


CATALOGUE: dict[str, type[Payload]] = {
    cls.__name__: cls
    for cls in (
        NetworkEstablished,
        StatuteApproved,
        StateRegistered,
        StateJoinedNetwork,
        StateLeftNetwork,
        WithdrawalRevoked,
        MembershipSuspended,
        SuspensionLifted,
        OfficeAssumed,
        OfficeRelinquished,
        ConferenceScheduled,
        ConferenceRescheduled,
        ConferenceCancelled,
        ConferenceHeld,
        DelegationAttended,
        SessionHeld,
        DeclarationAdopted,
        DeclarationSigned,
        SignatureWithdrawn,
        InstrumentAdopted,
        ConsentExpressed,
        InstrumentEnteredIntoForce,
        Denunciation,
        EntryRetracted,
        EntryCorrected,
    )
}


class _SubmissionFields(_Strict):
    type: Annotated[str, Strict()]
    data: dict[str, Any]
    effective_date: IsoDate | None = None
    source: Source | None = None
    expected_version: Version | None = None


class Submission(BaseModel):
    """A checked submission: its public type, its payload and the entry's metadata."""

    model_config = ConfigDict(frozen=True)

    type: str
    payload: Payload
    effective_date: str | None = None
    source: str | None = None
    expected_version: int | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The payload as it is recorded: JSON values, absent optional fields left out."""
        return self.payload.model_dump(mode="json", exclude_none=True)

    def effective_date_or(self, now: datetime) -> str:
        """The effective date given, or the UTC date of `now`."""
        return self.effective_date or now.astimezone(UTC).date().isoformat()

    def fingerprint(self) -> str:
        """A digest of what was submitted, to tell a retry from a different submission."""
        body = {
            "type": self.type,
            "data": self.data,
            "effective_date": self.effective_date,
            "source": self.source,
            "expected_version": self.expected_version,
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_submission(raw: object) -> Submission:
    """Check one submission (a JSON object as Python values); raise InvalidSubmission if bad."""
    if not isinstance(raw, dict):
        raise InvalidSubmission([FieldProblem("", "a submission must be a JSON object")])
    try:
        fields = _SubmissionFields.model_validate(raw)
    except ValidationError as e:
        raise InvalidSubmission(_problems(e, _SubmissionFields)) from None
    payload_model = CATALOGUE.get(fields.type)
    if payload_model is None:
        raise InvalidSubmission([FieldProblem("type", _unknown_type(fields.type))])
    try:
        payload = payload_model.model_validate(fields.data)
    except ValidationError as e:
        raise InvalidSubmission(_problems(e, payload_model)).prefixed("data") from None
    return Submission(
        type=fields.type,
        payload=payload,
        effective_date=fields.effective_date,
        source=fields.source,
        expected_version=fields.expected_version,
    )


def parse_one(raw: Mapping[str, Any] | Submission, recorded_by: str,
              idempotency_key: str | None = None) -> Submission:
    """Check one submission and who sends it (`check_caller`); raise InvalidSubmission."""
    submission = raw if isinstance(raw, Submission) else parse_submission(raw)
    check_caller(recorded_by, idempotency_key)
    return submission


def parse_batch(raws: Sequence[Mapping[str, Any] | Submission], recorded_by: str,
                idempotency_key: str | None = None) -> list[Submission]:
    """Check a batch and who sends it; raise BatchRefused naming the first bad submission."""
    check_caller(recorded_by, idempotency_key)
    if not raws:
        raise InvalidSubmission([FieldProblem("", "a batch needs at least one submission")])
    submissions = []
    for index, raw in enumerate(raws):
        try:
            submissions.append(raw if isinstance(raw, Submission) else parse_submission(raw))
        except InvalidSubmission as e:
            raise BatchRefused(index, e) from None
    return submissions


NAME = r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}"
"""An API key's name, and the NAME a command line records as (`cli:NAME`): no colon."""
IDEMPOTENCY_KEY = r"[!-~]{1,255}"
"""An idempotency key: 1 to 255 visible ASCII characters."""

# What an entry is recorded by: an API key's name, or `cli:NAME` for the command line.
_RECORDER_NAME = re.compile(rf"(?:cli:)?{NAME}")
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY)


def check_caller(recorded_by: str, idempotency_key: str | None) -> None:
    """Check the name a submission is recorded under and its idempotency key, if any."""
    problems = []
    if not _RECORDER_NAME.fullmatch(recorded_by):
        problems.append(FieldProblem("recorded_by", "must be 1 to 64 letters, digits, '.', "
                                     "'_', '@' or '-', after 'cli:' for the command line"))
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        problems.append(FieldProblem("idempotency_key", "must be 1 to 255 visible ASCII "
                                     "characters"))
    if problems:
        raise InvalidSubmission(problems)


def _problems(error: ValidationError, model: type[BaseModel]) -> list[FieldProblem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = list(item["loc"])
        # A correction's replacement is a union chosen by its type, which pydantic puts in
        # the path: the field is named as the submission has it (replacement.data.state).
        for i in range(len(loc) - 1):
            if loc[i] == "replacement" and loc[i + 1] in CATALOGUE:
                del loc[i + 1]
                break
        field = ".".join(str(part) for part in loc)
        reason = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            reason = _unknown_field(item["loc"], model)
        elif item["type"] == "missing":
            reason = "required"
        problems.append(FieldProblem(field, reason))
    return problems


def _unknown_type(name: str) -> str:
    if nearest := nearest_codes(name, CATALOGUE, limit=1):
        return f"unknown event type {name!r}; did you mean {nearest[0]!r}?"
    return f"unknown event type {name!r}; known types: " + ", ".join(CATALOGUE)


def _unknown_field(loc: tuple[int | str, ...], model: type[BaseModel]) -> str:
    allowed = _fields_at(model, loc[:-1])
    if allowed is None:
        return "unknown field"
    reason = "unknown field; "
    if nearest := nearest_codes(str(loc[-1]), allowed, limit=1):
        reason += f"did you mean {nearest[0]!r}? "
    return reason + "allowed fields: " + ", ".join(allowed)


def _fields_at(model: type[BaseModel], path: tuple[int | str, ...]) -> list[str] | None:
    # The fields of the model nested at `path` (list indexes skipped), or None if there is none.
    current: type[BaseModel] | None = model
    for part in path:
        if current is None:
            return None
        if isinstance(part, str):
            field = current.model_fields.get(part)
            current = _model_in(field.annotation) if field else None
    return list(current.model_fields) if current else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        if found := _model_in(argument):
            return found
    return None
