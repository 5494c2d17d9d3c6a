"""Every error as an RFC 9457 problem (application/problem+json), mapped in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from concord.domain.errors import (
    BatchRefused,
    ConcordError,
    Conflict,
    Contradiction,
    FieldProblem,
    IdempotencyKeyReused,
    InvalidSubmission,
    LogUnavailable,
    NotFound,
    RuleViolation,
)

logger = logging.getLogger("concord.api")

PROBLEM_JSON = "application/problem+json"
_PREFIX = "urn:concord:problem:"
PAGE_FLAG = "concord.page"
"""Set in a request's scope by the console's pages: an error answering it is a page too,
made by the app's `page_error(request, status, title, detail, errors)`."""


def problem_type(slug: str) -> str:
    """The `type` of a problem with this slug."""
    return _PREFIX + slug if slug else "about:blank"


class ProblemError(Exception):
    """An error raised by the API layer itself, already in problem terms."""

    def __init__(self, status: int, slug: str, title: str, detail: str,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] = {}

    def response(self, request: Request | None) -> Response:
        """The problem as a response."""
        return problem_response(request, self.status, self.slug, self.title, self.detail,
                                headers=self.headers or None, **self.extensions)


def problem_response(
    request: Request | None, status: int, slug: str, title: str, detail: str,
    headers: dict[str, str] | None = None, **extensions: Any,
) -> Response:
    """A problem details response (a page, for a request a console page answers)."""
    if request is not None and request.scope.get(PAGE_FLAG):
        page: Response = request.app.state.page_error(request, status, title, detail,
                                                      extensions.get("errors"))
        page.headers.update(headers or {})
        return page
    body: dict[str, Any] = {
        "type": _PREFIX + slug if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _fields(problems: list[FieldProblem]) -> list[dict[str, str]]:
    return [{"field": p.field, "reason": p.reason} for p in problems]


def concord_problem(request: Request, error: ConcordError) -> Response:
    """The problem response for an error of the write side."""
    return describe(error).response(request)


def describe(error: ConcordError) -> ProblemError:
    """The problem an error of the write side is (for a batch, naming the submission)."""
    if isinstance(error, BatchRefused):
        prefix = f"events.{error.index}"
        problem = _describe(error.cause, prefix)
        if not problem.detail.startswith(prefix):
            problem.detail = f"{prefix}: {problem.detail}"
        problem.extensions["index"] = error.index
        return problem
    return _describe(error)


def _describe(error: ConcordError, prefix: str = "") -> ProblemError:
    """The problem an error of the write side is; field names placed under `prefix`."""
    if isinstance(error, InvalidSubmission):
        problems = error.prefixed(prefix).problems if prefix else error.problems
        return ProblemError(422, "invalid-submission", "Invalid submission",
                            "; ".join(str(p) for p in problems), errors=_fields(problems))
    if isinstance(error, Conflict):
        return ProblemError(409, "version-conflict", "Version conflict", str(error),
                            stream=error.stream, expected_version=error.expected,
                            current_version=error.current)
    if isinstance(error, Contradiction):
        # The entries it names, by position, for a client to show or fetch.
        return ProblemError(409, "rule-violation", "Rule violation", str(error),
                            contradicts=[
                                {"position": position,
                                 "effective_date": error.entries[name].effective_date}
                                for name, position in error.positions.items()])
    if isinstance(error, NotFound):
        if error.field is None:
            return ProblemError(409, "not-on-record", "Not on record", str(error))
        field = f"{prefix}.data.{error.field}" if prefix else f"data.{error.field}"
        return ProblemError(409, "not-on-record", "Not on record", str(error),
                            errors=[{"field": field, "reason": str(error)}])
    if isinstance(error, RuleViolation):
        return ProblemError(409, "rule-violation", "Rule violation", str(error))
    if isinstance(error, IdempotencyKeyReused):
        return ProblemError(422, "idempotency-key-reused", "Idempotency key reused", str(error))
    if isinstance(error, LogUnavailable):
        problem = ProblemError(503, "log-unavailable", "Log unavailable", str(error))
        problem.headers["Retry-After"] = "1"
        return problem
    return ProblemError(500, "internal", "Internal error", str(error))


_HTTP_TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict",
    413: "Content too large", 415: "Unsupported media type", 422: "Unprocessable content",
    429: "Too many requests", 500: "Internal error", 503: "Service unavailable",
}


def install_error_handlers(app: FastAPI) -> None:
    """Map every error raised while answering a request to a problem response."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, error: ProblemError) -> Response:
        return error.response(request)

    @app.exception_handler(ConcordError)
    async def _concord(request: Request, error: ConcordError) -> Response:
        return concord_problem(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        problems = []
        for item in error.errors():
            loc = [str(part) for part in item.get("loc", ()) if part not in ("query", "path",
                                                                              "header", "body")]
            reason = str(item.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(FieldProblem(".".join(loc), reason))
        return problem_response(request, 422, "invalid-request", "Invalid request",
                                "; ".join(str(p) for p in problems), errors=_fields(problems))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        title = _HTTP_TITLES.get(error.status_code, "Error")
        detail = error.detail if isinstance(error.detail, str) else title
        if error.status_code == 404 and detail == "Not Found":
            detail = f"there is no resource at {request.url.path}"
            # A person following a broken link to the console gets a page, not JSON.
            if (hasattr(request.app.state, "page_error") and not
                    request.url.path.startswith(("/v1/", "/docs", "/redoc", "/openapi"))
                    and "text/html" in request.headers.get("accept", "")):
                request.scope[PAGE_FLAG] = True
        if error.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(request, error.status_code, "", title, detail,
                                headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        logger.exception("unhandled error answering %s %s", request.method, request.url.path)
        request_id = request.scope.get("concord.request_id")
        headers = {"X-Request-ID": request_id} if request_id else {}
        # This answer is sent outside every middleware: it repeats what they would add.
        if request.scope.get("concord.any_origin"):
            headers["Access-Control-Allow-Origin"] = "*"
        return problem_response(request, 500, "internal", "Internal error",
                                "the server failed to answer this request; its log says why",
                                headers=headers or None)
