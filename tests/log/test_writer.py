"""The writer: group commit under concurrency, atomic batches, optimistic concurrency,
idempotency keys that survive a restart."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from concord.domain.envelope import Envelope
from concord.domain.errors import (
    BatchRefused,
    ConcordError,
    Conflict,
    IdempotencyKeyReused,
    InvalidSubmission,
    LogUnavailable,
    RuleViolation,
)
from concord.log.application import CoordinationLog
from tests.backends import Backend
from tests.conftest import RECORDER, submit

THREADS = 32
PER_THREAD = 200


def adoption(code: str) -> dict[str, Any]:
    return {"type": "DeclarationAdopted", "data": {"declaration": code, "title": code}}


def test_concurrent_submitters_share_commits_and_each_gets_its_own_result(
    log: CoordinationLog,
) -> None:
    results: dict[str, Envelope] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def submitter(thread: int) -> None:
        start.wait()
        try:
            for i in range(PER_THREAD):
                code = f"D-{thread}-{i}"
                results[code] = log.submit(adoption(code), recorded_by=f"recorder-{thread}")
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=submitter, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    total = THREADS * PER_THREAD
    # Check every acknowledged event is in the log exactly once, positions contiguous.
    stored = log.read(limit=total + 1)
    assert [e["position"] for e in stored] == list(range(1, total + 1))
    assert sorted(e["data"]["declaration"] for e in stored) == sorted(results)
    # Check each submitter got the envelope of its own event, as stored.
    by_position = {e["position"]: e for e in stored}
    for code, envelope in results.items():
        assert envelope["data"]["declaration"] == code
        assert by_position[envelope["position"]] == envelope
        assert envelope["recorded_by"] == "recorder-" + code.split("-")[1]
    # Check commits were shared: far fewer transactions than events.
    assert log.writer.commits < total / 2


def test_one_invalid_submission_in_a_crowd_is_refused_alone(log: CoordinationLog) -> None:
    submit(log, "DeclarationAdopted", declaration="TAKEN", title="Taken")
    outcomes: dict[int, Envelope | ConcordError] = {}
    start = threading.Barrier(THREADS)

    def submitter(thread: int) -> None:
        start.wait()
        code = "TAKEN" if thread == 13 else f"FREE-{thread}"
        try:
            outcomes[thread] = log.submit(adoption(code), recorded_by=RECORDER)
        except ConcordError as e:
            outcomes[thread] = e

    threads = [threading.Thread(target=submitter, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert isinstance(outcomes.pop(13), RuleViolation)
    assert all(isinstance(o, dict) for o in outcomes.values())
    assert log.last_position() == THREADS  # the first entry, plus 31 accepted


def test_a_batch_is_appended_whole_in_one_transaction(log: CoordinationLog) -> None:
    commits = log.writer.commits
    envelopes = log.submit_batch([adoption(f"B-{i}") for i in range(1000)],
                                 recorded_by=RECORDER)
    assert [e["position"] for e in envelopes] == list(range(1, 1001))
    assert log.writer.commits == commits + 1


def test_a_batch_with_one_refusal_appends_nothing_and_names_it(log: CoordinationLog) -> None:
    submit(log, "NetworkEstablished", "2023-09-12", network="RELACOPAZ", name="Red")
    batch = [
        {"type": "StateJoinedNetwork", "data": {"network": "RELACOPAZ", "state": "ARG",
                                                "role": "member"}},
        {"type": "DeclarationAdopted", "data": {"declaration": "NEW", "title": "New"}},
        {"type": "StateJoinedNetwork", "data": {"network": "RELACOPAZ", "state": "ARG",
                                                "role": "member"}},
    ]
    with pytest.raises(BatchRefused) as refused:
        log.submit_batch(batch, recorded_by=RECORDER)
    assert refused.value.index == 2
    assert "ARG is already a member of RELACOPAZ" in str(refused.value.cause)
    assert log.last_position() == 1
    # Check the writer forgot the refused batch's effects: the same joins now succeed.
    envelopes = log.submit_batch(batch[:2], recorded_by=RECORDER)
    assert [e["position"] for e in envelopes] == [2, 3]


def test_a_batch_can_create_a_stream_and_use_it(log: CoordinationLog) -> None:
    envelopes = log.submit_batch([
        {"type": "NetworkEstablished", "data": {"network": "N", "name": "N"},
         "effective_date": "2020-01-01"},
        {"type": "StateJoinedNetwork", "data": {"network": "N", "state": "URY",
                                                "role": "member"}},
    ], recorded_by=RECORDER)
    assert [e["version"] for e in envelopes] == [1, 2]


def test_a_refused_batch_that_created_a_stream_leaves_no_trace(log: CoordinationLog) -> None:
    with pytest.raises(BatchRefused):
        log.submit_batch([
            {"type": "NetworkEstablished", "data": {"network": "N", "name": "N"}},
            {"type": "StateLeftNetwork", "data": {"network": "N", "state": "URY"}},
        ], recorded_by=RECORDER)
    # Check the network the batch would have created is not known to the writer either.
    with pytest.raises(RuleViolation, match="network N is not on record"):
        submit(log, "StateJoinedNetwork", network="N", state="URY", role="member")
    assert submit(log, "NetworkEstablished", network="N", name="N")["position"] == 1


def test_a_stale_expected_version_is_refused_with_the_current_version(
    log: CoordinationLog,
) -> None:
    submit(log, "NetworkEstablished", "2023-09-12", network="RELACOPAZ", name="Red")
    ok = log.submit({"type": "StatuteApproved", "data": {"network": "RELACOPAZ", "title": "S"},
                     "expected_version": 1}, recorded_by=RECORDER)
    assert ok["version"] == 2
    with pytest.raises(Conflict) as conflict:
        log.submit({"type": "StatuteApproved", "data": {"network": "RELACOPAZ", "title": "T"},
                    "expected_version": 1}, recorded_by=RECORDER)
    assert (conflict.value.current, conflict.value.expected) == (2, 1)
    assert "network:RELACOPAZ is at version 2" in str(conflict.value)
    assert log.last_position() == 2


def test_expected_version_zero_means_the_stream_must_be_new(log: CoordinationLog) -> None:
    first = {"type": "NetworkEstablished", "data": {"network": "N", "name": "N"},
             "expected_version": 0}
    assert log.submit(first, recorded_by=RECORDER)["version"] == 1
    with pytest.raises(Conflict):
        log.submit(first, recorded_by=RECORDER)


def test_an_idempotent_retry_returns_the_original_and_appends_nothing_after_a_restart(
    log: CoordinationLog, open_log: Callable[[], CoordinationLog]
) -> None:
    original = log.submit(adoption("D"), recorded_by=RECORDER, idempotency_key="req-1")
    batch = log.submit_batch([adoption("E"), adoption("F")], recorded_by=RECORDER,
                             idempotency_key="req-2")
    assert log.submit(adoption("D"), recorded_by=RECORDER, idempotency_key="req-1") == original
    log.close()

    reopened = open_log()
    assert reopened.submit(adoption("D"), recorded_by=RECORDER,
                           idempotency_key="req-1") == original
    assert reopened.submit_batch([adoption("E"), adoption("F")], recorded_by=RECORDER,
                                 idempotency_key="req-2") == batch
    assert reopened.last_position() == 3


def test_the_same_key_with_a_different_submission_is_refused(log: CoordinationLog) -> None:
    log.submit(adoption("D"), recorded_by=RECORDER, idempotency_key="req-1")
    with pytest.raises(IdempotencyKeyReused, match="'req-1' was already used"):
        log.submit(adoption("OTHER"), recorded_by=RECORDER, idempotency_key="req-1")
    with pytest.raises(IdempotencyKeyReused):
        log.submit_batch([adoption("D")], recorded_by=RECORDER, idempotency_key="req-1")
    assert log.last_position() == 1


def test_keys_are_scoped_to_who_records(log: CoordinationLog) -> None:
    a = log.submit(adoption("D"), recorded_by="secretariat-a", idempotency_key="k")
    b = log.submit(adoption("E"), recorded_by="secretariat-b", idempotency_key="k")
    assert (a["position"], b["position"]) == (1, 2)


def test_concurrent_retries_with_one_key_append_once(log: CoordinationLog) -> None:
    answers: list[Envelope] = []
    start = threading.Barrier(16)

    def retry() -> None:
        start.wait()
        answers.append(log.submit(adoption("ONCE"), recorded_by=RECORDER,
                                  idempotency_key="same"))

    threads = [threading.Thread(target=retry) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 16
    assert all(a == answers[0] for a in answers)
    assert log.last_position() == 1


def test_a_refused_submission_does_not_consume_its_key(log: CoordinationLog) -> None:
    with pytest.raises(RuleViolation):
        log.submit({"type": "ConferenceHeld", "data": {"conference": "C"}},
                   recorded_by=RECORDER, idempotency_key="k")
    log.submit({"type": "ConferenceScheduled", "data": {
        "conference": "C", "title": "C", "host_state": "PRY", "starts_on": "2025"}},
        recorded_by=RECORDER)
    held = log.submit({"type": "ConferenceHeld", "data": {"conference": "C"}},
                      recorded_by=RECORDER, idempotency_key="k")
    assert held["position"] == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
def test_a_malformed_idempotency_key_is_refused(log: CoordinationLog, key: str) -> None:
    with pytest.raises(InvalidSubmission, match="idempotency_key"):
        log.submit(adoption("D"), recorded_by=RECORDER, idempotency_key=key)


def test_a_closed_log_refuses_submissions(log: CoordinationLog) -> None:
    log.writer.stop()
    with pytest.raises(LogUnavailable, match="not running"):
        log.submit(adoption("D"), recorded_by=RECORDER)


def test_another_process_writing_to_the_same_file_is_not_lost(
    log: CoordinationLog, open_log: Callable[[], CoordinationLog]
) -> None:
    submit(log, "NetworkEstablished", "2023-09-12", network="RELACOPAZ", name="Red")
    submit(log, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state="ARG",
           role="member")
    other = open_log()  # a second writer on the same SQLite file, as a second process would be
    submit(other, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state="BRA",
           role="member")
    # Check the first writer's cached aggregate is stale, and the conflict is retried, not lost.
    third = submit(log, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state="URY",
                   role="member")
    assert (third["position"], third["version"]) == (4, 4)
    with pytest.raises(RuleViolation, match="BRA is already a member"):
        submit(log, "StateJoinedNetwork", network="RELACOPAZ", state="BRA", role="member")


def test_a_submission_the_writer_fails_on_is_refused_alone(
    log: CoordinationLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concord.domain.declaration import Declaration

    original = Declaration.sign

    def faulty(self: Declaration, p: Any, entry: Any) -> None:
        if p.state == "CHL":
            raise RuntimeError("a fault in the writer, not in the submission")
        original(self, p, entry)

    submit(log, "DeclarationAdopted", "2020-01-01", declaration="D", title="D")
    monkeypatch.setattr(Declaration, "sign", faulty)
    outcomes: dict[str, Envelope | ConcordError] = {}
    start = threading.Barrier(8)

    def submitter(state: str) -> None:
        start.wait()
        try:
            outcomes[state] = log.submit({"type": "DeclarationSigned", "data": {
                "declaration": "D", "state": state}}, recorded_by=RECORDER)
        except ConcordError as e:
            outcomes[state] = e

    states = ["ARG", "BRA", "CHL", "URY", "PRY", "PER", "BOL", "ECU"]
    threads = [threading.Thread(target=submitter, args=(s,)) for s in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(outcomes.pop("CHL"), LogUnavailable)
    assert all(isinstance(o, dict) for o in outcomes.values())
    assert log.last_position() == 8


def test_entries_appended_by_another_writer_are_seen_across_streams(
    log: CoordinationLog, open_log: Callable[[], CoordinationLog]
) -> None:
    submit(log, "NetworkEstablished", "2023-09-12", network="N", name="N")
    with pytest.raises(RuleViolation, match="XKX is neither"):
        submit(log, "StateJoinedNetwork", network="N", state="XKX", role="observer")
    other = open_log()
    registration = submit(other, "StateRegistered", state="XKX", name="Kosovo")
    # Check the first writer sees the registration it did not make...
    submit(log, "StateJoinedNetwork", network="N", state="XKX", role="observer")
    # ...and the retraction of it, made by the other writer, too.
    submit(other, "EntryRetracted", position=registration["position"], reason="test")
    submit(log, "DeclarationAdopted", declaration="D", title="D")
    with pytest.raises(RuleViolation, match="XKX is neither"):
        submit(log, "DeclarationSigned", declaration="D", state="XKX")


def test_a_refused_batch_with_a_retraction_leaves_the_writer_as_the_store_is(
    log: CoordinationLog, open_log: Callable[[], CoordinationLog]
) -> None:
    submit(log, "NetworkEstablished", "2023-09-12", network="N", name="N")
    joined = submit(log, "StateJoinedNetwork", "2023-09-12", network="N", state="ARG",
                    role="member")
    with pytest.raises(BatchRefused) as refused:
        log.submit_batch([
            {"type": "EntryRetracted", "data": {"position": joined["position"], "reason": "r"}},
            {"type": "StateJoinedNetwork", "data": {"network": "N", "state": "ARG",
                                                    "role": "observer"}},
            {"type": "StateLeftNetwork", "data": {"network": "N", "state": "BRA"}},
        ], recorded_by=RECORDER)
    assert refused.value.index == 2
    held = log.writer.cache["network:N"]
    assert held is not None
    fresh = open_log().load("network:N")
    assert fresh is not None and held.state() == fresh.state()
    # Check the writer still holds ARG as a member: the retraction was undone with the batch.
    with pytest.raises(RuleViolation, match="ARG is already a member"):
        submit(log, "StateJoinedNetwork", network="N", state="ARG", role="member")


def test_a_failure_after_the_round_is_stored_does_not_say_nothing_was_appended(
    log: CoordinationLog, monkeypatch: pytest.MonkeyPatch, backend: Backend
) -> None:
    def broken(drafts: object, positions: object) -> list[Envelope]:
        raise RuntimeError("the envelopes could not be built")

    monkeypatch.setattr(log, "envelopes_of", broken)
    with pytest.raises(LogUnavailable, match="may have been appended; read the log"):
        log.submit({"type": "NetworkEstablished", "data": {"network": "N", "name": "N"}},
                   recorded_by=RECORDER)
    monkeypatch.undo()

    # On SQLite the round was committed when storing it returned; on PostgreSQL the round's
    # transaction ends after the round, so the failure took it back. Either way the answer
    # did not claim that nothing was appended.
    stored = 1 if backend.name == "sqlite" else 0
    assert log.last_position() == stored
    assert [e["type"] for e in log.read()] == ["NetworkEstablished"][:stored]


def test_a_dry_run_in_a_round_leaves_the_writer_as_it_found_it(log: CoordinationLog) -> None:
    # One round: a new network, a dry run of a code differing from it in case alone
    # (refused), then a real one (refused as well: the first is the round's).
    from concord.domain.catalogue import parse_submission
    from concord.log.writer import _Job

    def network(code: str) -> Any:
        return [parse_submission({"type": "NetworkEstablished",
                                  "data": {"network": code, "name": code}})]

    writer = log.writer
    writer.stop()
    jobs = [_Job(network("ABC"), RECORDER, None, False),
            _Job(network("Abc"), RECORDER, None, False, dry_run=True),
            _Job(network("aBC"), RECORDER, None, False)]
    writer._commit(jobs)
    assert jobs[0].outcome()[0]["stream"] == "network:ABC"
    for job in jobs[1:]:
        with pytest.raises(RuleViolation, match="differs only in case from ABC"):
            job.outcome()
    assert log.last_position() == 1
    # A dry run accepted is put back: the stream it would create is not held.
    dry = _Job(network("XYZ"), RECORDER, None, False, dry_run=True)
    writer._commit([dry])
    assert dry.outcome()[0]["position"] == 2
    assert writer.cache.get("network:XYZ") is None and "network:xyz" not in writer.created
    assert log.last_position() == 1
