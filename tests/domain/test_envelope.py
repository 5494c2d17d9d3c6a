"""The public envelope is a contract: its JSON shape is pinned here."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from concord.domain.envelope import format_stored_timestamp, format_timestamp
from concord.log.application import CoordinationLog
from tests.conftest import RECORDER

SHAPE: dict[str, type | tuple[type, ...]] = {
    "position": int,
    "type": str,
    "stream": str,
    "version": int,
    "effective_date": str,
    "recorded_at": str,
    "recorded_by": str,
    "source": (str, type(None)),
    "data": dict,
    "leaf_index": int,
}


def test_the_envelope_has_exactly_the_published_fields_and_types(log: CoordinationLog) -> None:
    submitted = log.submit({
        "type": "StateRegistered",
        "data": {"state": "XKX", "name": "Kosovo"},
        "effective_date": "2008-02-17",
        "source": "Registry decision 1",
    }, recorded_by=RECORDER)
    read = log.read()[0]
    for envelope in (submitted, read):
        assert list(envelope) == list(SHAPE)
        for field, kind in SHAPE.items():
            assert isinstance(envelope[field], kind), field  # type: ignore[literal-required]
    assert submitted == read
    assert submitted == {
        "position": 1,
        "type": "StateRegistered",
        "stream": "state:XKX",
        "version": 1,
        "effective_date": "2008-02-17",
        "recorded_at": submitted["recorded_at"],
        "recorded_by": RECORDER,
        "source": "Registry decision 1",
        "data": {"state": "XKX", "name": "Kosovo"},
        "leaf_index": 0,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", submitted["recorded_at"])
    assert json.loads(json.dumps(read)) == read


def test_the_effective_date_defaults_to_the_utc_date_of_recording(log: CoordinationLog) -> None:
    before = datetime.now(UTC).date().isoformat()
    envelope = log.submit({"type": "StateRegistered", "data": {"state": "XKX", "name": "K"}},
                          recorded_by=RECORDER)
    after = datetime.now(UTC).date().isoformat()
    assert envelope["effective_date"] in {before, after}
    assert envelope["source"] is None
    assert envelope["recorded_at"].startswith(envelope["effective_date"]) or before != after


def test_reading_pages_through_the_log_by_position_and_type(log: CoordinationLog) -> None:
    log.submit_batch(
        [{"type": "StateRegistered", "data": {"state": f"XK{i}", "name": "K"}} for i in range(5)]
        + [{"type": "DeclarationAdopted", "data": {"declaration": "D", "title": "D"}}],
        recorded_by=RECORDER,
    )
    assert [e["position"] for e in log.read(after=2, limit=2)] == [3, 4]
    assert [e["position"] for e in log.read(types=["DeclarationAdopted"])] == [6]
    assert log.read(after=6) == []


@given(st.datetimes(timezones=st.just(UTC)))
def test_a_stored_timestamp_formats_as_the_datetime_does(moment: datetime) -> None:
    stored = orjson.loads(orjson.dumps({"t": moment}))["t"]
    assert format_stored_timestamp(stored) == format_timestamp(moment)


def test_a_stored_timestamp_in_another_offset_is_turned_to_utc() -> None:
    assert format_stored_timestamp("2026-11-28T10:15:03.120999-03:00") == (
        "2026-11-28T13:15:03.120Z")
