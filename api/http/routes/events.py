"""The log: submit entries, read them in order."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, TypeAdapter

from concord.api.http import queries
from concord.api.http.auth import current_key
from concord.api.http.deps import JsonBody, LogDep, SettingsDep, json_body, refuse_unknown_query
from concord.api.http.errors import ProblemError, describe, problem_type
from concord.api.http.proofs import Receipt, receipt
from concord.api.http.schemas import (
    BatchRequest,
    BatchResponse,
    EnvelopeModel,
    EventPage,
    EventType,
    Submission,
    problem_responses,
)
from concord.domain.catalogue import (
    IDEMPOTENCY_KEY,
    check_caller,
    parse_submission,
)
from concord.domain.catalogue import (
    Submission as CheckedSubmission,
)
from concord.domain.envelope import MAX_POSITION, Envelope
from concord.domain.errors import BatchRefused, ConcordError, FieldProblem, InvalidSubmission
from concord.log.application import CoordinationLog

router = APIRouter(prefix="/v1/events", tags=["events"])

MAX_PAGE = 1_000
REPLAYED = "Idempotent-Replayed"  # set on an answer that is an earlier result
_IF_MATCH = re.compile(r'\s*(?:W/)?"?(\d{1,18})"?\s*')

# Schemas the request bodies refer to, for the OpenAPI document's components.
BODY_COMPONENTS: dict[str, Any] = {}


def _schema_body(model: Any) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
    BODY_COMPONENTS.update(schema.pop("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": schema}}}}


def _expected_version(raw: Any, if_match: str | None) -> Any:
    """Fold an If-Match header into the submission's expected_version."""
    if if_match is None:
        return raw
    match = _IF_MATCH.fullmatch(if_match)
    if match is None:
        raise ProblemError(422, "invalid-request", "Invalid request",
                           'If-Match: must be the stream version as an entity tag, e.g. "7"',
                           errors=[{"field": "If-Match", "reason": "not a version"}])
    version = int(match.group(1))
    if isinstance(raw, dict):
        given = raw.get("expected_version")
        if given is not None and given != version:
            raise ProblemError(422, "invalid-request", "Invalid request",
                               f"If-Match ({version}) and expected_version ({given}) disagree",
                               errors=[{"field": "If-Match", "reason": "disagrees with "
                                        "expected_version"}])
        raw = {**raw, "expected_version": version}
    return raw


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", description="Retry-safe key: a retry returns the original result.")]


_DRY_RUN = {
    "name": "dry_run", "in": "query", "required": False,
    "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
    "description": ("true: check everything recording would (the catalogue, the rules over "
                    "time, the idempotency key) against the record as it stands, and append "
                    "nothing. 200 with the entries as they would be (at the positions they "
                    "would take now), each with its summary, and `effects`: what they would "
                    "change (a state's role in a network, on which dates); or the problem "
                    "the submission would get, as it would get it. A batch's problem lists "
                    "every submission found at fault in `problems` (with "
                    "`problems_truncated: true` if it stopped before checking them all).")}
_PARAMETERS = [
    _DRY_RUN,
    {"name": "proof", "in": "query", "required": False,
     "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
     "description": ("true: wait until the entry is in the Merkle tree and add `proof`: a "
                     "signed checkpoint covering it and its inclusion proof.")},
    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {
        "type": "string", "pattern": f"^{IDEMPOTENCY_KEY}$"},
     "description": "Retry-safe key: a retry with it returns the original result."},
    {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
     "description": 'Expected stream version as an entity tag, e.g. "7".'},
]


# The 201 of a submission: its headers, in the OpenAPI document.
_APPENDED: dict[int | str, dict[str, Any]] = {201: {
    "description": "Appended, or answered from an earlier result.",
    "headers": {REPLAYED: {
        "description": ("`true` when an Idempotency-Key retry was answered with the original "
                        "result: nothing was appended."),
        "schema": {"type": "string", "enum": ["true"]}}}}}


class Appended(EnvelopeModel):
    """The appended entry's envelope; with ?proof=true, the proof that it is in the log."""

    proof: Receipt | None = None


class Effect(BaseModel):
    """A state whose role in a network would change, and on which dates."""

    network: str
    state: str
    from_: str = Field(alias="from", description="The first date it changes.")
    to: str | None = Field(description="The first date it no longer does (null: open).")
    before: str | None = Field(description="Its role before: member, observer, or null.")
    after: str | None = Field(description="Its role after.")


class DryRunAnswer(BaseModel):
    """What a submission would record, checked and not appended."""

    dry_run: bool = True
    replayed: bool = Field(description=(
        "Whether the Idempotency-Key was already used for the same submission: recording "
        "it would append nothing and answer with these entries, already on record."))
    events: list[dict[str, Any]] = Field(description=(
        "The entries as they would be recorded (envelopes, with `summary`)."))
    effects: list[Effect]


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false")
    if value not in ("true", "false"):
        raise ProblemError(422, "invalid-request", "Invalid request",
                           f"{name}: {value!r} is not true or false",
                           errors=[{"field": name, "reason": "not true or false"}])
    return value == "true"


async def _dry_run_answer(request: Request, envelopes: Sequence[Envelope], replayed: bool,
                          effects: list[dict[str, Any]]) -> Response:
    body = {"dry_run": True, "replayed": replayed,
            "events": await queries.summarized(request, envelopes), "effects": effects}
    return Response(orjson.dumps(body), status_code=200, media_type="application/json")


MAX_PROBLEMS = 100  # the problems a batch's dry run lists at most
# The submissions a batch's dry run applies at most, in all its checks, as a multiple of
# the batch's size (at least 1,000): finding each fault checks the rest again.
WORK_FACTOR = 10


async def _dry_run_batch(request: Request, log: CoordinationLog, events: list[Any],
                         recorded_by: str, key: str | None) -> Response:
    """A batch checked and not appended; refused, the problem the batch would get, with
    `problems`: every submission found at fault. The problem of one that is malformed is
    found alone; the rules' are found by checking the batch again without each submission
    refused, so one fault can make another (a line naming a network another line failed to
    establish)."""
    check_caller(recorded_by, key)
    if not events:
        raise InvalidSubmission([FieldProblem("", "a batch needs at least one submission")])
    found: list[tuple[int, ConcordError]] = []
    remaining: list[tuple[int, CheckedSubmission]] = []
    for index, raw in enumerate(events):
        try:
            remaining.append((index, parse_submission(raw)))
        except InvalidSubmission as e:
            found.append((index, e))
    complete = not found
    budget, truncated = max(WORK_FACTOR * len(events), 1_000), False
    while remaining:
        budget -= len(remaining)
        if len(found) >= MAX_PROBLEMS or budget < 0:
            truncated = True
            break
        try:
            # The key counts for the batch as sent; a part of it is checked without.
            result = await log.writer.dry_run_async(
                [submission for _, submission in remaining], recorded_by,
                key if complete else None, batch=True)
        except BatchRefused as e:
            found.append((remaining[e.index][0], _renumbered(e.cause, remaining)))
            del remaining[e.index]
            complete = False
            continue
        if not found:
            return await _dry_run_answer(request, result.envelopes, result.replayed,
                                         result.effects)
        break
    # The problem the batch would get: its first malformed submission's (found[0], if
    # any), else the first the rules found, as in the batch sent.
    problem = describe(BatchRefused(*found[0]))
    problem.extensions["problems"] = [
        {"index": index, **_problem_fields(describe(BatchRefused(index, error)))}
        for index, error in sorted(found, key=lambda item: item[0])]
    if truncated:
        # Stopped before every submission was checked: there may be more.
        problem.extensions["problems_truncated"] = True
    raise problem


_NAMED_SUBMISSION = re.compile(r"submission (\d+) of this batch")


def _renumbered(error: ConcordError, remaining: list[tuple[int, CheckedSubmission]]
                ) -> ConcordError:
    """The error with the submissions it names numbered as in the batch sent, not as in the
    part of it checked."""
    if error.args and isinstance(error.args[0], str):
        error.args = (_NAMED_SUBMISSION.sub(
            lambda m: f"submission {remaining[int(m.group(1))][0]} of this batch",
            error.args[0]), *error.args[1:])
    return error


def _problem_fields(problem: ProblemError) -> dict[str, Any]:
    return {"type": problem_type(problem.slug), "status": problem.status,
            "title": problem.title, "detail": problem.detail,
            **{name: value for name, value in problem.extensions.items() if name != "index"}}


class BareRoute(APIRoute):
    """A route documented like any other, but whose endpoint takes the bare Request and
    returns its own Response: no parameter parsing or response validation on the way.

    For the append path alone: in alternating runs of bench/http_append.py here it served
    about 8% more appends a second than the same endpoint as a regular route.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


async def submit_event(request: Request) -> Response:
    """Append one entry; answers with its envelope once it is durable."""
    # Awaits the writer on the event loop: checking a submission never blocks, and a
    # thread per waiting request would only add switching.
    refuse_unknown_query(request)  # a bare route runs no dependencies, not even the app's
    body = await json_body(request)
    raw = _expected_version(body, request.headers.get("if-match"))
    proof = "true" if _flag(request, "proof") else "false"
    log: CoordinationLog = request.app.state.log
    if _flag(request, "dry_run"):
        if proof == "true":
            raise ProblemError(422, "invalid-request", "Invalid request",
                               "proof: a dry run appends nothing, so there is nothing to prove",
                               errors=[{"field": "proof", "reason": "not with dry_run"}])
        found = await log.dry_run_async(
            [raw], batch=False, recorded_by=current_key(request.scope).name,
            idempotency_key=request.headers.get("idempotency-key"))
        return await _dry_run_answer(request, found.envelopes, found.replayed, found.effects)
    envelopes, replayed = await log.submit_replayed_async(
        [raw], batch=False, recorded_by=current_key(request.scope).name,
        idempotency_key=request.headers.get("idempotency-key"))
    envelope: dict[str, Any] = dict(envelopes[0])
    if proof == "true":
        envelope["proof"] = await receipt(request, envelope)
    headers = {"Location": f"/v1/events/{envelope['position']}",
               "ETag": f'"{envelope["version"]}"'}
    if replayed:
        headers[REPLAYED] = "true"
    return Response(orjson.dumps(envelope), status_code=201, media_type="application/json",
                    headers=headers)


router.add_api_route(
    "", submit_event, methods=["POST"], route_class_override=BareRoute,
    status_code=201,
    response_model=Appended,
    responses={**_APPENDED, 200: {
        "description": "With dry_run=true: checked, not appended.",
        "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/DryRunAnswer"}}}},
        **problem_responses(400, 409, 413, 415, 422, 503)},
    openapi_extra={**_schema_body(Submission), "parameters": _PARAMETERS},
)
BODY_COMPONENTS.update(DryRunAnswer.model_json_schema(
    ref_template="#/components/schemas/{model}", by_alias=True).pop("$defs", {}))
BODY_COMPONENTS["DryRunAnswer"] = DryRunAnswer.model_json_schema(
    ref_template="#/components/schemas/{model}", by_alias=True)
BODY_COMPONENTS["DryRunAnswer"].pop("$defs", None)


@router.post(
    "/batch",
    status_code=201,
    response_model=BatchResponse,
    responses={**_APPENDED, 200: {
        "description": "With dry_run=true: checked, not appended.",
        "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/DryRunAnswer"}}}},
        **problem_responses(400, 409, 413, 415, 422, 503)},
    openapi_extra=_schema_body(BatchRequest),
)
async def submit_batch(
    request: Request, body: JsonBody, log: LogDep, settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
    dry_run: Annotated[Literal["true", "false"], Query(
        description=_DRY_RUN["description"])] = "false",
) -> Response:
    """Append a list of entries in one transaction: all of them, or none (with
    dry_run=true, check them and append nothing)."""
    if not isinstance(body, dict) or set(body) != {"events"} or not isinstance(
            body["events"], list):
        raise ProblemError(422, "invalid-request", "Invalid request",
                           'events: the body must be {"events": [submission, ...]}',
                           errors=[{"field": "events", "reason": "required list"}])
    events = body["events"]
    if len(events) > settings.max_batch:
        raise ProblemError(413, "batch-too-large", "Batch too large",
                           f"events: {len(events):,} submissions; a batch holds at most "
                           f"{settings.max_batch:,}")
    if dry_run == "true":
        return await _dry_run_batch(request, log, events, current_key(request.scope).name,
                                    idempotency_key)
    envelopes, replayed = await log.submit_replayed_async(
        events, batch=True, recorded_by=current_key(request.scope).name,
        idempotency_key=idempotency_key)
    return Response(orjson.dumps({"events": envelopes}), status_code=201,
                    media_type="application/json",
                    headers={REPLAYED: "true"} if replayed else None)


@router.get("", response_model=EventPage, responses=problem_responses(422))
def read_events(
    log: LogDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="Entries after this "
                                "position.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most entries to return.")] = 100,
    type_: Annotated[list[EventType] | None, Query(alias="type", description=(  # type: ignore[valid-type]
        "Only entries of these types."))] = None,
) -> dict[str, Any]:
    """The log in order, a page at a time; pass `next_after` as `after` for the next page."""
    # One more than asked tells whether there is a next page.
    events = log.read(after=after, limit=limit + 1, types=type_ or ())
    more = len(events) > limit
    del events[limit:]
    return {"events": events, "next_after": events[-1]["position"] if more else None}


@router.get("/{position}", response_model=EnvelopeModel, responses=problem_responses(404, 422))
def read_event(
    log: LogDep, response: Response, position: Annotated[int, Path(ge=1, le=MAX_POSITION)],
) -> Envelope:
    """One entry by its position; its ETag is the entry's version in its stream."""
    found = log.read(after=position - 1, limit=1)
    if not found or found[0]["position"] != position:
        raise ProblemError(404, "no-such-entry", "No such entry",
                           f"there is no entry at position {position}; the log holds "
                           f"{log.last_position()}")
    response.headers["ETag"] = f'"{found[0]["version"]}"'
    return found[0]
