"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from concord.api.http.deps import LogDep, MetricsDep
from concord.api.http.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, response_model_exclude_none=True)
async def healthz() -> dict[str, str]:
    """The process is alive (it answers without touching the log)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(request: Request, log: LogDep) -> JSONResponse:
    """The log is open and its writer running: the service can take submissions."""
    writer = "running" if log.writer.running else "stopped"
    try:
        position = log.last_position()
        state = "open"
    except Exception:
        position, state = None, "unavailable"
    ready = writer == "running" and state == "open"
    runner = getattr(request.app.state, "projections", None)
    try:
        projections = {name: status.failure or "ok"
                       for name, status in (runner.status.items() if runner else ())}
    except Exception:  # another process runs them, and their state cannot be read now
        projections = {"*": "unavailable"}
    answer: dict[str, Any] = {"status": "ok" if ready else "unavailable", "log": state,
                              "writer": writer, "position": position,
                              "projections": projections}
    if request.app.state.witnesses:
        answer["witnesses"] = _witnesses(request)
    return JSONResponse(answer, status_code=200 if ready else 503)


def _witnesses(request: Request) -> dict[str, Any]:
    """Each configured witness, as the log's database last recorded it."""
    try:
        found = {row.witness: row for row in request.app.state.checkpoints.witness_status()}
    except Exception:
        return {"*": {"url": "", "status": "failing", "cosigned_size": 0,
                      "last_error": "the witnesses' state cannot be read now"}}
    answer = {}
    for witness in request.app.state.witnesses:
        row = found.get(witness.label)
        if row is None:
            answer[witness.label] = {"url": witness.url, "status": "not asked yet",
                                     "cosigned_size": 0, "last_error": None}
        else:
            answer[witness.label] = {"url": witness.url, "cosigned_size": row.cosigned_size,
                                     "status": "failing" if row.failing else "ok",
                                     "last_error": row.last_error}
    return answer


@router.head("/healthz", include_in_schema=False)
async def healthz_head() -> Response:
    """HEAD of /healthz, for load balancers that probe with it."""
    return Response()


@router.head("/readyz", include_in_schema=False)
def readyz_head(request: Request, log: LogDep) -> Response:
    """HEAD of /readyz."""
    return Response(status_code=readyz(request, log).status_code)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics: requests by route and status, latencies, appends, commit sizes."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
