"""Stored event state as plain JSON, so the database itself reads like the log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import Transcoder


class EventStateTranscoder(Transcoder):
    """Encodes an event's state, a flat object whose one non-JSON value is its timestamp.

    eventsourcing's JSONTranscoder wraps such values in `{"_type_", "_data_"}` objects and
    pays a Python callback for each; orjson writes datetimes as ISO 8601 natively, several
    times faster, and the stored rows stay plain JSON for anyone inspecting the database.
    """

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        state = orjson.loads(data)
        timestamp = state.get("timestamp")
        if isinstance(timestamp, str):
            state["timestamp"] = datetime.fromisoformat(timestamp)
        return state
