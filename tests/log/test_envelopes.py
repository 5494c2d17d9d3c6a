"""Envelopes read straight from stored rows are the envelopes the library's objects give:
the same keys, values and bytes, whatever the stored state holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from concord.domain.commands import TOPICS_BY_TYPE, public_type
from concord.domain.envelope import make_envelope
from concord.log.application import CoordinationLog, envelopes
from concord.tlog.leaves import leaf_bytes
from tests.conftest import submit

TOPICS = sorted(topic for topics in TOPICS_BY_TYPE.values() for topic in topics)
TEXT = st.text(max_size=30)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12)


@st.composite
def stamps(draw: st.DrawFn) -> str:
    """Timestamps as a writer stores them: UTC with or without microseconds, or another
    offset."""
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 1, 1)))
    offset = draw(st.sampled_from([UTC, timezone(timedelta(hours=-3)),
                                   timezone(timedelta(hours=5, minutes=30))]))
    return moment.replace(tzinfo=offset).isoformat()


@settings(max_examples=400)
@given(position=st.integers(1, 2**62), stream=TEXT, version=st.integers(1, 2**40),
       topic=st.sampled_from(TOPICS), stamp=stamps(), day=TEXT, by=TEXT,
       source=st.none() | TEXT, data=st.dictionaries(TEXT, JSON, max_size=6))
def test_an_envelope_from_its_row_is_the_one_make_envelope_gives(
        position: int, stream: str, version: int, topic: str, stamp: str, day: str, by: str,
        source: str | None, data: dict[str, Any]) -> None:
    stored = orjson.dumps({"originator_id": stream, "originator_version": version,
                           "timestamp": stamp, "effective_date": day, "recorded_by": by,
                           "source": source, "data": data})
    (fast,) = envelopes([(position, stream, version, topic, stored)])
    expected = make_envelope(position, public_type(topic), stream, version,
                             orjson.loads(stored))
    assert fast == expected
    assert orjson.dumps(fast) == orjson.dumps(expected)
    assert leaf_bytes(fast) == leaf_bytes(expected)


def test_the_log_reads_what_the_library_reads(log: CoordinationLog) -> None:
    submit(log, "NetworkEstablished", "2023-09-12", network="RELACOPAZ", name="Red")
    for state in ("ARG", "BRA", "CHL"):
        submit(log, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state=state,
               role="member")
    submit(log, "EntryRetracted", position=3, reason="recorded twice")
    # The library's own objects, the way the log read before: the oracle.
    notifications = log.recorder.select_notifications(start=1, limit=100)
    expected = [make_envelope(n.id, public_type(n.topic), str(n.originator_id),
                              n.originator_version, orjson.loads(n.state))
                for n in notifications]
    assert len(expected) == 5
    read = log.read(limit=100)
    assert orjson.dumps(read) == orjson.dumps(expected)
    assert log.read(after=2, limit=2) == expected[2:4]
    assert log.read(types=["StateJoinedNetwork"]) == expected[1:4]
    assert log.envelopes_at([4, 2]) == [expected[3], expected[1]]
    assert log.entry_at(5) == (expected[4]["stream"], expected[4]["version"], "EntryRetracted")
    assert log.entry_at(6) is None
    assert log.streams_written(after=1, upto=3) == {expected[1]["stream"],
                                                    expected[2]["stream"]}
