"""The projections' state, for administrators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from concord.api.http.errors import ProblemError
from concord.api.http.schemas import problem_responses
from concord.projections.rebuild import Rebuild
from concord.projections.runner import ProjectionRunner

router = APIRouter(prefix="/v1/projections", tags=["projections"])


class RebuildView(BaseModel):
    """A rebuild under way, or the last one."""

    position: int
    of: int
    state: str = Field(description="running, done, or failed: why.")


class ProjectionView(BaseModel):
    """Where a projection stands."""

    name: str
    position: int
    lag: int
    failure: str | None
    rebuild: RebuildView | None = None


@router.get("", response_model=list[ProjectionView], responses=problem_responses(401, 403))
def list_projections(request: Request) -> list[dict[str, Any]]:
    """Each projection's position, how far behind the log it is, and any failure."""
    runner: ProjectionRunner = request.app.state.projections
    end = request.app.state.log.last_position()
    return [{"name": s.name, "position": s.position, "lag": end - s.position,
             "failure": s.failure, "rebuild": _rebuild(runner.rebuilds.get(s.name))}
            for s in runner.status.values()]


def _rebuild(progress: Rebuild | None) -> dict[str, Any] | None:
    if progress is None:
        return None
    return {"position": progress.position, "of": progress.of, "state": progress.state}


@router.post("/{name}/rebuild", status_code=202, response_model=RebuildView,
             responses=problem_responses(401, 403, 404, 422))
def rebuild_projection(request: Request, name: Annotated[str, Path(max_length=64)]
                       ) -> dict[str, Any] | None:
    """Rebuild a projection from position 0 beside the live one, then swap them; reads are
    served throughout. Follow it with GET /v1/projections."""
    runner: ProjectionRunner = request.app.state.projections
    if name not in runner.status:
        raise ProblemError(404, "no-such-projection", "No such projection",
                           f"there is no projection {name!r}; there are "
                           + ", ".join(runner.status))
    return _rebuild(runner.start_rebuild(name))
