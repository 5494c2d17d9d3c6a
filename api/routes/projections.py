"""The projections' state, for administrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.schemas import problem_responses
from projections.runner import ProjectionRunner

router = APIRouter(prefix="/v1/projections", tags=["projections"])


class ProjectionView(BaseModel):
    """Where a projection stands."""

    name: str
    position: int
    lag: int
    failure: str | None


@router.get("", response_model=list[ProjectionView], responses=problem_responses(401, 403))
def list_projections(request: Request) -> list[dict[str, Any]]:
    """Each projection's position, how far behind the log it is, and any failure."""
    runner: ProjectionRunner = request.app.state.projections
    end = request.app.state.log.last_position()
    return [{"name": s.name, "position": s.position, "lag": end - s.position,
             "failure": s.failure} for s in runner.status.values()]
