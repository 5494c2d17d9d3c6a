"""The public envelope of an entry: the contract every reader and verifier relies on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import orjson

MAX_POSITION = 2**63 - 1
"""The largest position (and stream version) an entry can have: SQLite's and PostgreSQL's
largest integer."""

MAX_LEAF_BYTES = 65_535
"""The most bytes an entry's leaf (its envelope's canonical JSON, without leaf_index) may
have: a C2SP tlog-tiles entry bundle prefixes each leaf with its length as a uint16."""

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
    leaf_index: int


def make_envelope(
    position: int, event_type: str, stream: str, version: int, state: Mapping[str, Any]
) -> Envelope:
    """The envelope of an entry from its position, identity and state (its timestamp a
    datetime, or ISO 8601 as stored)."""
    stamp = state["timestamp"]
    return {
        "position": position,
        "type": event_type,
        "stream": stream,
        "version": version,
        "effective_date": state["effective_date"],
        "recorded_at": (format_stored_timestamp(stamp) if isinstance(stamp, str)
                        else format_timestamp(stamp)),
        "recorded_by": state["recorded_by"],
        "source": state["source"],
        "data": state["data"],
        # The entry's leaf in the Merkle tree: dense from 0 in log order. Positions are
        # dense from 1 here (SQLite assigns them under its write lock), so it is one less.
        "leaf_index": position - 1,
    }


def format_stored_timestamp(stored: str) -> str:
    """`format_timestamp` of an ISO 8601 timestamp as stored, without parsing it when it is
    already UTC ('2026-11-28T10:15:03.120456+00:00' or '2026-11-28T10:15:03+00:00')."""
    if stored.endswith("+00:00") and len(stored) in (25, 32) and stored[10] == "T":
        return (stored[:23] if len(stored) == 32 else stored[:19] + ".000") + "Z"
    return format_timestamp(datetime.fromisoformat(stored))


def format_timestamp(moment: datetime) -> str:
    """UTC, to the millisecond, with a 'Z': '2026-11-28T10:15:03.120Z'."""
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def leaf_size_at_most(event_type: str, stream: str, version: int,
                      state: Mapping[str, Any]) -> int:
    """The bytes the leaf of an entry with this content takes at the largest position: its
    leaf at any position has at most that many (the leaf's key order changes no length)."""
    return leaf_size(make_envelope(MAX_POSITION, event_type, stream, version, state))


def leaf_size(envelope: Envelope) -> int:
    """The bytes of an envelope's leaf: its JSON without leaf_index (the order of its keys,
    which the leaf sorts, changes no length)."""
    return len(orjson.dumps({k: v for k, v in envelope.items() if k != "leaf_index"}))
