"""The log: submit entries, read them in order."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from concord.api.http.auth import current_key
from concord.api.http.deps import JsonBody, LogDep, SettingsDep, json_body, refuse_unknown_query
from concord.api.http.errors import ProblemError
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
from concord.domain.catalogue import IDEMPOTENCY_KEY
from concord.domain.envelope import MAX_POSITION, Envelope
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


_PARAMETERS = [
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
    proof = request.query_params.get("proof", "false")
    if proof not in ("true", "false"):
        raise ProblemError(422, "invalid-request", "Invalid request",
                           f"proof: {proof!r} is not true or false",
                           errors=[{"field": "proof", "reason": "not true or false"}])
    log: CoordinationLog = request.app.state.log
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
    responses={**_APPENDED, **problem_responses(400, 409, 413, 415, 422, 503)},
    openapi_extra={**_schema_body(Submission), "parameters": _PARAMETERS},
)


@router.post(
    "/batch",
    status_code=201,
    response_model=BatchResponse,
    responses={**_APPENDED, **problem_responses(400, 409, 413, 415, 422, 503)},
    openapi_extra=_schema_body(BatchRequest),
)
async def submit_batch(
    request: Request, body: JsonBody, log: LogDep, settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Append a list of entries in one transaction: all of them, or none."""
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
