"""Every entry's leaf fits in 65,535 bytes, the most a C2SP tlog-tiles entry bundle holds:
the largest entries the catalogue accepts, with every field and list at its bound in the
costliest characters it allows, are appended and stay below it; beyond a bound they are
refused, and the writer's last check refuses a leaf that would not fit, appending nothing."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from concord.domain.catalogue import MAX_SPEAKERS, OFFICE_MAX_CHARS, parse_submission
from concord.domain.envelope import MAX_LEAF_BYTES, MAX_POSITION, Envelope, leaf_size_at_most
from concord.domain.errors import BatchRefused, InvalidSubmission
from concord.log.application import CoordinationLog
from concord.tlog.leaves import leaf_bytes

# Four bytes in UTF-8 and in canonical JSON: no character the catalogue accepts costs more.
COSTLY = "\U0001d11e"
RECORDER = "cli:" + "r" * 64  # the longest name an entry can be recorded by
CODE = "C" + "c" * 63  # the longest code
STATE = "Q" + "Z" * 15  # the longest state code, registered
SOURCE = COSTLY * 500


def text(length: int) -> str:
    return COSTLY * length


def speakers(count: int = MAX_SPEAKERS, name: int = 100,
             office: int = OFFICE_MAX_CHARS) -> list[Any]:
    return [{"name": text(name), "title": text(office), "state": STATE}] * count


def maximal_session() -> dict[str, Any]:
    return {"conference": CODE, "title": text(300), "speakers": speakers()}


def maximal_declaration() -> dict[str, Any]:
    return {"declaration": "D" + "d" * 63, "title": text(300),
            "also_known_as": [text(300)] * 20, "conference": CODE, "network": "N" + "n" * 63,
            "text_sha256": "f" * 64}


def submit(log: CoordinationLog, type_: str, data: dict[str, Any]) -> Envelope:
    return log.submit({"type": type_, "data": data, "effective_date": "2025-10-09",
                       "source": SOURCE}, recorded_by=RECORDER)


def leaf_at_most(envelope: Envelope) -> int:
    """The entry's leaf, were it at the largest position and version."""
    return len(leaf_bytes({**envelope, "position": MAX_POSITION, "version": MAX_POSITION}))


def test_no_character_the_catalogue_accepts_costs_more_than_four_bytes_in_a_leaf() -> None:
    accepted = ["a", '"', "\\", "\x7f", "\x80", "é", "\u2028", "中", "\ufeff", COSTLY]
    assert max(len(orjson.dumps(c)) - 2 for c in accepted) == len(orjson.dumps(COSTLY)) - 2 == 4
    # Control characters (six bytes: \u0001) and lone surrogates are refused.
    for char in ["\x01", "\x1f", "\x0b", "\t", "\ud800"]:
        with pytest.raises(InvalidSubmission, match="data.name: must not contain"):
            parse_submission({"type": "StateRegistered", "data": {"state": STATE,
                                                                  "name": f"A{char}"}})
    # Multi-line text keeps its tabs and line breaks, two bytes each.
    parse_submission({"type": "EntryRetracted", "data": {"position": 1,
                                                         "reason": "a\tb\r\nc"}})


def test_the_largest_entries_the_catalogue_accepts_have_leaves_under_the_bundle_limit(
    log: CoordinationLog,
) -> None:
    appended = [
        submit(log, "StateRegistered", {"state": STATE, "name": text(200)}),
        submit(log, "NetworkEstablished", {"network": "N" + "n" * 63, "name": text(200),
                                           "acronym": text(64), "purpose": text(2000)}),
        submit(log, "ConferenceScheduled", {
            "conference": CODE, "title": text(300), "network": "N" + "n" * 63,
            "edition": text(64), "host_state": STATE, "city": text(200),
            "starts_on": "2025-10-08", "ends_on": "2025-10-09"}),
        submit(log, "ConferenceHeld", {"conference": CODE}),
        submit(log, "DelegationAttended", {"conference": CODE, "state": STATE,
                                           "role": "participant",
                                           "head": {"name": text(100),
                                                    "title": text(OFFICE_MAX_CHARS)}}),
    ]
    session = submit(log, "SessionHeld", maximal_session())
    declaration = submit(log, "DeclarationAdopted", maximal_declaration())
    appended += [session, declaration]
    # Check the largest of all: a correction, its reason at its bound, whose replacement is
    # the largest session; and the correction of the largest declaration.
    for corrected, replacement in ((session, "SessionHeld"), (declaration,
                                                             "DeclarationAdopted")):
        appended.append(submit(log, "EntryCorrected", {
            "position": corrected["position"], "reason": text(2000),
            "replacement": {"type": replacement, "data": corrected["data"]}}))
    sizes = [leaf_at_most(envelope) for envelope in appended]
    assert all(len(leaf_bytes(envelope)) <= size for envelope, size in zip(appended, sizes,
                                                                           strict=True))
    assert max(sizes) <= MAX_LEAF_BYTES
    # The largest is the corrected session, and it is large: the bounds are used, with
    # about 1 KB to spare.
    assert max(sizes) == sizes[-2] > 57_000
    # Check the writer's bound is the leaf at the largest position (its version known).
    assert [leaf_size_at_most(e["type"], e["stream"], e["version"], {
        **e, "timestamp": "2026-11-28T10:15:03.120456+00:00"}) for e in appended] == [
        len(leaf_bytes({**e, "position": MAX_POSITION})) for e in appended]


@pytest.mark.parametrize(("data", "field"), [
    ({**maximal_session(), "speakers": speakers(MAX_SPEAKERS + 1)}, "data.speakers"),
    ({**maximal_session(), "speakers": speakers(name=101)}, "data.speakers.0.name"),
    ({**maximal_session(), "speakers": speakers(office=OFFICE_MAX_CHARS + 1)},
     "data.speakers.0.title"),
    ({**maximal_session(), "title": text(301)}, "data.title"),
], ids=["51-speakers", "long-speaker-name", "long-office", "long-title"])
def test_an_entry_beyond_a_bound_is_refused_naming_the_field(
    log: CoordinationLog, data: dict[str, Any], field: str,
) -> None:
    with pytest.raises(InvalidSubmission) as refused:
        submit(log, "SessionHeld", data)
    assert refused.value.problems[0].field == field
    assert log.last_position() == 0


def test_the_writer_refuses_an_entry_whose_leaf_would_not_fit_and_appends_nothing(
    log: CoordinationLog,
) -> None:
    # The catalogue's bounds keep every entry it accepts under the limit; with a lower
    # limit, the writer's last check is what refuses.
    log.writer.max_leaf_bytes = 2_000
    purpose = {"network": "N", "name": "N", "purpose": "p" * 2_000}
    with pytest.raises(InvalidSubmission) as refused:
        log.submit({"type": "NetworkEstablished", "data": purpose, "source": "s" * 500},
                   recorded_by=RECORDER)
    (problem,) = refused.value.problems
    assert problem.field == "data.purpose"
    assert "more than the 2,000 a leaf may have" in problem.reason
    with pytest.raises(BatchRefused) as batch:
        log.submit_batch([{"type": "NetworkEstablished", "data": {"network": "M", "name": "M"}},
                          {"type": "NetworkEstablished", "data": purpose, "source": SOURCE}],
                         recorded_by=RECORDER)
    assert batch.value.index == 1
    assert log.last_position() == 0
    # Check the writer goes on: a small entry is appended, and the code refused is free.
    assert log.submit({"type": "NetworkEstablished", "data": {"network": "N", "name": "N"}},
                      recorded_by=RECORDER)["position"] == 1
