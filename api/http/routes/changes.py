"""What changed between two states of the record: the entries recorded in between, and how
a network's membership intervals changed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.reads import caught_up
from concord.api.http.schemas import EnvelopeModel, problem_responses
from concord.domain.catalogue import Code
from concord.domain.codes import state_name
from concord.domain.envelope import MAX_POSITION
from concord.projections import history
from concord.projections.db import Reader
from concord.projections.membership import network_intervals

router = APIRouter(prefix="/v1/changes", tags=["changes"])

# The most positions one answer spans: its entries are read and sent in one piece.
MAX_SPAN = 10_000


class ChangedEntry(EnvelopeModel):
    """An entry recorded in the span, with what it means in a line."""

    summary: str
    retracts: int | None = Field(description=(
        "The position this entry retracts or corrects, if it is a retraction or correction."))
    retracted_by: int | None = Field(description=(
        "The position of the entry's retraction or correction, if one is recorded up to "
        "to_position."))


class IntervalChange(BaseModel):
    """An interval of a state in the network: a role from one date to another."""

    role: str
    valid_from: str
    valid_to: str | None


class StateChange(BaseModel):
    """A state whose intervals in the network differ between the two record states."""

    state: str
    name: str
    before: list[IntervalChange]
    after: list[IntervalChange]


class Changes(BaseModel):
    """The entries recorded in (from_position, to_position], and, for a network, how its
    membership changed between the two record states."""

    model_config = {"json_schema_extra": {"examples": [{
        "from_position": 88, "to_position": 89, "network": "RELACOPAZ", "entries": [{
            "position": 89, "type": "StateLeftNetwork", "stream": "network:RELACOPAZ",
            "version": 20, "effective_date": "2024-06-01",
            "recorded_at": "2026-11-28T10:15:03.120Z", "recorded_by": "cli:concord-demo",
            "source": None, "data": {"network": "RELACOPAZ", "state": "ARG"},
            "leaf_index": 88, "summary": "Argentina left Latin American and Caribbean "
            "Network for Peacekeeping Cooperation (RELACOPAZ)", "retracts": None,
            "retracted_by": None}],
        "membership": [{"state": "ARG", "name": "Argentina",
                        "before": [{"role": "member", "valid_from": "2023-09-12",
                                    "valid_to": None}],
                        "after": [{"role": "member", "valid_from": "2023-09-12",
                                   "valid_to": "2024-06-01"}]}]}]}}

    from_position: int
    to_position: int
    network: str | None
    entries: list[ChangedEntry]
    membership: list[StateChange] | None = Field(description=(
        "With `network`: each state whose intervals differ, before and after; else null."))


def _invalid(detail: str, *errors: tuple[str, str]) -> ProblemError:
    return ProblemError(422, "invalid-request", "Invalid request", detail,
                        errors=[{"field": field, "reason": reason} for field, reason in errors])


@router.get("", response_model=Changes, responses=problem_responses(404, 422, 503))
async def read_changes(
    request: Request,
    from_position: Annotated[int, Query(ge=0, le=MAX_POSITION, description=(
        "The earlier record state: the log up to this position (0: the empty log)."))] = 0,
    to_position: Annotated[int | None, Query(ge=0, le=MAX_POSITION, description=(
        f"The later record state (default: the latest); at most {MAX_SPAN:,} positions "
        "after from_position."))] = None,
    network: Annotated[Code | None, Query(description=(
        "Also how this network's membership intervals changed between the two."))] = None,
) -> dict[str, Any]:
    """The entries recorded between two positions, and how a network's membership changed."""
    end: int = (to_position if to_position is not None
                else await run_in_threadpool(request.app.state.log.last_position))
    if from_position > end:
        raise _invalid(f"from_position ({from_position}) is after to_position ({end})",
                       ("from_position", f"after to_position ({end})"),
                       ("to_position", f"before from_position ({from_position})"))
    if end - from_position > MAX_SPAN:
        raise _invalid(f"to_position: {end - from_position:,} positions after from_position, "
                       f"more than the {MAX_SPAN:,} one answer spans; ask in parts",
                       ("to_position", f"more than {MAX_SPAN:,} positions after "
                                       "from_position"))
    asked = {"from_position": from_position, "to_position": end}
    history_suffix, _ = await caught_up(request, "history", end, asked)
    store = request.app.state.projection_store
    query = history.Query(after=from_position, limit=max(end - from_position, 1))
    found = await run_in_threadpool(
        store.read, "history", history_suffix,
        lambda reader, live: history.history(reader, query, end, live))
    entries = []
    for entry in found:
        retracts = (entry["data"]["position"]
                    if entry["type"] in ("EntryRetracted", "EntryCorrected") else None)
        later = entry["retracted_by"]
        entries.append({**entry, "retracts": retracts,
                        "retracted_by": later if later is not None and later <= end else None})
    membership = None
    if network is not None:
        suffix, _ = await caught_up(request, "membership", end, asked)

        def diff(reader: Reader, suffix: str) -> list[dict[str, Any]] | None:
            known = reader.execute(
                f"SELECT founded_at FROM membership_networks{suffix} WHERE network=?",
                (network,)).fetchone()
            if known is None or known[0] > end:
                return None
            return _diff(network_intervals(reader, network, from_position, suffix),
                         network_intervals(reader, network, end, suffix))

        membership = await run_in_threadpool(store.read, "membership", suffix, diff)
        if membership is None:
            raise ProblemError(404, "no-such-network", "No such network",
                               f"network {network} is not on record as of position {end}")
    return {"from_position": from_position, "to_position": end, "network": network,
            "entries": entries, "membership": membership}


def _diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def by_state(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["state"], []).append(
                {"role": row["role"], "valid_from": row["valid_from"],
                 "valid_to": row["valid_to"]})
        return grouped

    was, now = by_state(before), by_state(after)
    return [{"state": state, "name": state_name(state), "before": was.get(state, []),
             "after": now.get(state, [])}
            for state in sorted(was.keys() | now.keys()) if was.get(state) != now.get(state)]
