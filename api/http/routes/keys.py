"""API keys, for administrators: list, create, revoke."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from concord.api.http.auth import SCOPE_KEY
from concord.api.http.errors import ProblemError
from concord.api.http.schemas import problem_responses
from concord.api.keys import NAME_PATTERN, KeyError_, KeyStore, Role

router = APIRouter(prefix="/v1/keys", tags=["keys"])
me_router = APIRouter(tags=["keys"])


class KeyCreation(BaseModel):
    """The key to create."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=f"^{NAME_PATTERN.pattern}$", description=(
        "Recorded as `recorded_by` on every entry the key submits; never reused."))
    role: Literal["reader", "recorder", "admin"]


class KeyView(BaseModel):
    """A key as stored (never its token)."""

    name: str
    role: str
    created_at: str
    revoked_at: str | None


class CreatedKey(KeyView):
    """A new key, with its token: shown this once, stored only as a hash."""

    token: str


def _keys(request: Request) -> KeyStore:
    store: KeyStore = request.app.state.keys
    return store


@router.get("", response_model=list[KeyView], responses=problem_responses(401, 403))
def list_keys(request: Request) -> list[dict[str, str | None]]:
    """Every key, revoked ones too."""
    return [key.public() for key in _keys(request).list()]


@router.post("", status_code=201, response_model=CreatedKey,
             responses=problem_responses(400, 401, 403, 409, 422))
def create_key(request: Request, creation: KeyCreation) -> dict[str, str | None]:
    """Create a key; its token is in this answer and nowhere else."""
    try:
        key, token = _keys(request).create(creation.name, Role[creation.role])
    except KeyError_ as e:
        raise ProblemError(409, "key-name-taken", "Key name taken", str(e)) from None
    return {**key.public(), "token": token}


@router.delete("/{name}", response_model=KeyView,
               responses=problem_responses(401, 403, 404, 409, 422))
def revoke_key(request: Request, name: Annotated[str, Path(
        pattern=f"^{NAME_PATTERN.pattern}$")]) -> dict[str, str | None]:
    """Revoke a key: it stops working with the next request. The key stays listed."""
    try:
        return _keys(request).revoke(name).public()
    except LookupError as e:
        raise ProblemError(404, "no-such-key", "No such key", str(e)) from None
    except KeyError_ as e:
        raise ProblemError(409, "last-admin-key", "Last admin key", str(e)) from None


class Me(BaseModel):
    """The key a request was sent with."""

    name: str = Field(description="Recorded as `recorded_by` on every entry it submits.")
    role: Literal["reader", "recorder", "admin"]
    can_write: bool = Field(description="Whether it may submit entries (recorder or admin).")


@me_router.get("/v1/me", response_model=Me, responses=problem_responses(401, 403))
def who_am_i(request: Request) -> dict[str, str | bool]:
    """The name and role of the key sent (as a bearer token): what a client may do with it,
    before it does. 401 without a key, or with one unknown or revoked."""
    key = request.scope.get(SCOPE_KEY)
    if key is None:
        problem = ProblemError(401, "unauthorized", "Unauthorized",
                               "no API key was sent: send 'Authorization: Bearer <token>'")
        problem.headers["WWW-Authenticate"] = "Bearer"
        raise problem
    return {"name": key.name, "role": key.role.name, "can_write": key.role >= Role.recorder}
