"""The public envelope of an entry: the contract every reader and verifier relies on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

_ZERO = timedelta(0)


class Envelope(TypedDict):
    """One entry of the log as the public sees it (DESIGN §2)."""

    position: int
    type: str
    stream: str
    version: int
    effective_date: str
    recorded_at: str
    recorded_by: str
    source: str | None
    data: dict[str, Any]


def make_envelope(
    position: int, event_type: str, stream: str, version: int, state: Mapping[str, Any]
) -> Envelope:
    """The envelope of an entry from its position, identity and stored state."""
    return {
        "position": position,
        "type": event_type,
        "stream": stream,
        "version": version,
        "effective_date": state["effective_date"],
        "recorded_at": format_timestamp(state["timestamp"]),
        "recorded_by": state["recorded_by"],
        "source": state["source"],
        "data": state["data"],
    }


def format_timestamp(moment: datetime) -> str:
    """UTC, to the millisecond, with a 'Z': '2026-11-28T10:15:03.120Z'."""
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
