"""Rules over time: entries recorded out of date order are checked against the whole
record, and refusals name the entry they contradict by its position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from concord.domain.catalogue import parse_submission
from concord.domain.errors import BatchRefused, Contradiction, InvalidSubmission, RuleViolation
from concord.log.application import CoordinationLog
from concord.log.writer import _Done, _Job
from tests.conftest import RECORDER, submit
from tests.domain.test_network import refused


def join(log: CoordinationLog, state: str, role: str, day: str) -> dict[str, object]:
    return dict(submit(log, "StateJoinedNetwork", day, network="RELACOPAZ", state=state,
                       role=role))


def test_the_ecu_sequence_is_decided_against_the_whole_timeline(
    relacopaz: CoordinationLog,
) -> None:
    member = join(relacopaz, "ECU", "member", "2023-09-12")
    # Check a change in the future of the timeline is accepted.
    observer = join(relacopaz, "ECU", "observer", "2024-01-01")
    # Check a back-dated join as member, while it already was one, is refused, naming the
    # join it repeats.
    refused(relacopaz, Contradiction, rf"ECU is already a member of RELACOPAZ since 2023-09-12 "
            rf"\(position {member['position']}\), so the entry making it a member on "
            r"2023-10-01 \(this entry\) would change nothing",
            "StateJoinedNetwork", "2023-10-01", network="RELACOPAZ", state="ECU",
            role="member")
    # Check an observer join while already an observer is refused.
    refused(relacopaz, Contradiction, rf"ECU is already an observer of RELACOPAZ since "
            rf"2024-01-01 \(position {observer['position']}\)",
            "StateJoinedNetwork", "2024-06-01", network="RELACOPAZ", state="ECU",
            role="observer")
    # Check an observer join before the one recorded is refused for the right reason: it
    # would make the later one no change.
    refused(relacopaz, Contradiction, r"ECU is already an observer of RELACOPAZ since "
            rf"2023-12-01 \(this entry\), so the entry making it an observer on 2024-01-01 "
            rf"\(position {observer['position']}\) would change nothing",
            "StateJoinedNetwork", "2023-12-01", network="RELACOPAZ", state="ECU",
            role="observer")


def test_a_refusal_carries_the_position_of_the_entry_it_contradicts(
    relacopaz: CoordinationLog,
) -> None:
    member = join(relacopaz, "ECU", "member", "2023-09-12")
    with pytest.raises(Contradiction) as refusal:
        join(relacopaz, "ECU", "member", "2023-10-01")
    assert refusal.value.positions == {"before": member["position"]}


def test_a_leave_inserted_before_another_leave_is_refused(relacopaz: CoordinationLog) -> None:
    join(relacopaz, "BRA", "member", "2023-09-12")
    left = submit(relacopaz, "StateLeftNetwork", "2024-06-01", network="RELACOPAZ",
                  state="BRA")
    refused(relacopaz, Contradiction, rf"BRA left RELACOPAZ on 2024-01-01 \(this entry\), so it "
            rf"cannot leave it again on 2024-06-01 \(position {left['position']}\)",
            "StateLeftNetwork", "2024-01-01", network="RELACOPAZ", state="BRA")


def test_an_earlier_membership_is_inserted_into_the_past_as_one_batch(
    relacopaz: CoordinationLog,
) -> None:
    join(relacopaz, "BOL", "member", "2024-01-01")
    past = [
        {"type": "StateJoinedNetwork", "effective_date": "2023-09-12",
         "data": {"network": "RELACOPAZ", "state": "BOL", "role": "member"}},
        {"type": "StateLeftNetwork", "effective_date": "2023-10-01",
         "data": {"network": "RELACOPAZ", "state": "BOL"}},
    ]
    # Check each alone contradicts the record (the join makes the 2024 one no change; the
    # leave leaves a state not in) ...
    for submission in past:
        with pytest.raises(Contradiction):
            relacopaz.submit(submission, recorded_by=RECORDER)
    # ... and together they are consistent, in either order.
    envelopes = relacopaz.submit_batch(list(reversed(past)), recorded_by=RECORDER)
    assert [e["type"] for e in envelopes] == ["StateLeftNetwork", "StateJoinedNetwork"]


def test_a_retraction_that_would_leave_a_later_leave_without_a_join_is_refused(
    relacopaz: CoordinationLog,
) -> None:
    joined = join(relacopaz, "URY", "member", "2023-09-12")
    left = submit(relacopaz, "StateLeftNetwork", "2024-01-01", network="RELACOPAZ",
                  state="URY")
    refused(relacopaz, Contradiction, rf"URY is not in RELACOPAZ on 2024-01-01, so it cannot "
            rf"leave it then \(position {left['position']}\)",
            "EntryRetracted", position=joined["position"], reason="recorded by mistake")
    # Check both go in one batch, the leave first.
    relacopaz.submit_batch([
        {"type": "EntryRetracted", "data": {"position": left["position"], "reason": "no"}},
        {"type": "EntryRetracted", "data": {"position": joined["position"], "reason": "no"}},
    ], recorded_by=RECORDER)


def test_a_signature_back_dated_before_another_is_refused(relacopaz: CoordinationLog) -> None:
    signed = submit(relacopaz, "DeclarationSigned", "2023-10-01",
                    declaration="BUENOS-AIRES-2023", state="ARG")
    refused(relacopaz, Contradiction, rf"ARG already signed BUENOS-AIRES-2023 on 2023-09-12 "
            rf"\(this entry\), so the signature of 2023-10-01 \(position {signed['position']}\)",
            "DeclarationSigned", "2023-09-12", declaration="BUENOS-AIRES-2023", state="ARG")


def test_a_conference_cannot_be_held_before_it_starts(log: CoordinationLog) -> None:
    submit(log, "ConferenceScheduled", "2025-01-01", conference="C", title="C",
           host_state="PRY", starts_on="2025-10")
    refused(log, Contradiction, r"C cannot have been held on 2025-09-30 \(this entry\): it "
            "starts on 2025-10", "ConferenceHeld", "2025-09-30", conference="C")
    submit(log, "ConferenceHeld", "2025-10-01", conference="C")


def test_a_delegation_or_session_outside_the_conference_dates_is_refused(
    relacopaz: CoordinationLog,
) -> None:
    refused(relacopaz, Contradiction, r"ARG's delegation of 2023-09-13 \(this entry\) falls "
            r"outside ALCONU-II's dates \(2023-09-12\)", "DelegationAttended", "2023-09-13",
            conference="ALCONU-II", state="ARG", role="participant")
    refused(relacopaz, Contradiction, r"the session of 2023-09-11 \(this entry\) falls outside",
            "SessionHeld", "2023-09-11", conference="ALCONU-II", title="Opening")


def test_a_rescheduling_that_would_strand_a_delegation_is_refused(log: CoordinationLog) -> None:
    submit(log, "ConferenceScheduled", "2025-01-01", conference="C", title="C",
           host_state="PRY", starts_on="2025-10-08", ends_on="2025-10-09")
    attended = submit(log, "DelegationAttended", "2025-10-08", conference="C", state="ARG",
                      role="participant")
    refused(log, Contradiction, rf"ARG's delegation of 2025-10-08 \(position "
            rf"{attended['position']}\) falls outside C's dates \(2025-11-05\)",
            "ConferenceRescheduled", "2025-09-01", conference="C", starts_on="2025-11-05")


def test_an_effective_date_in_the_future_is_refused_beyond_a_day(log: CoordinationLog) -> None:
    today = datetime.now(UTC).date()
    with pytest.raises(InvalidSubmission, match="only a withdrawal or a denunciation with notice"):
        submit(log, "NetworkEstablished", (today + timedelta(days=2)).isoformat(),
               network="N", name="N")
    submit(log, "NetworkEstablished", (today + timedelta(days=1)).isoformat(), network="N",
           name="N")


def test_a_batch_names_the_submission_its_timeline_refuses(relacopaz: CoordinationLog) -> None:
    with pytest.raises(BatchRefused) as refusal:
        relacopaz.submit_batch([
            {"type": "StateJoinedNetwork", "effective_date": "2023-09-12",
             "data": {"network": "RELACOPAZ", "state": "PER", "role": "member"}},
            {"type": "StateJoinedNetwork", "effective_date": "2023-10-12",
             "data": {"network": "RELACOPAZ", "state": "PER", "role": "member"}},
        ], recorded_by=RECORDER)
    assert refusal.value.index == 1
    assert "since 2023-09-12 (submission 0 of this batch)" in str(refusal.value)


# Codes


def test_a_code_differing_only_in_case_is_refused(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, RuleViolation, "network code relacopaz differs only in case from "
            "RELACOPAZ, which is on record", "NetworkEstablished", network="relacopaz",
            name="Another")
    refused(relacopaz, RuleViolation, "differs only in case from ALCONU-II",
            "ConferenceScheduled", conference="alconu-ii", title="T", host_state="ARG",
            starts_on="2023")


def test_a_code_differing_only_in_case_from_one_in_the_same_batch_is_refused(
    log: CoordinationLog,
) -> None:
    with pytest.raises(BatchRefused, match="differs only in case from ABC"):
        log.submit_batch([
            {"type": "NetworkEstablished", "data": {"network": "ABC", "name": "A"}},
            {"type": "NetworkEstablished", "data": {"network": "abc", "name": "A"}},
        ], recorded_by=RECORDER)


def test_not_on_record_offers_the_nearest_code_and_no_advice_to_create_a_look_alike(
    relacopaz: CoordinationLog,
) -> None:
    with pytest.raises(RuleViolation) as refusal:
        submit(relacopaz, "StateJoinedNetwork", network="relacopaz", state="ARG",
               role="member")
    assert "did you mean RELACOPAZ?" in str(refusal.value)
    assert "NetworkEstablished" not in str(refusal.value)
    with pytest.raises(RuleViolation) as refusal:
        submit(relacopaz, "ConferenceHeld", conference="ALCONU-I")
    assert "did you mean ALCONU-II?" in str(refusal.value)
    assert "ConferenceScheduled" not in str(refusal.value)
    refused(relacopaz, RuleViolation, "record it first with NetworkEstablished",
            "StatuteApproved", network="UNASUR", title="Statute")


# Corrections


def test_a_correction_of_a_founding_entry_keeps_its_code(relacopaz: CoordinationLog) -> None:
    scheduled = relacopaz.read(limit=10)[1]
    assert scheduled["type"] == "ConferenceScheduled"
    corrected = relacopaz.submit({"type": "EntryCorrected", "data": {
        "position": scheduled["position"], "reason": "the city was left out",
        "replacement": {"type": "ConferenceScheduled", "data": {
            **scheduled["data"], "city": "Buenos Aires"}}}}, recorded_by=RECORDER)
    # Check the correction keeps the corrected entry's date, and the conference stays on
    # record under its code.
    assert corrected["effective_date"] == scheduled["effective_date"]
    submit(relacopaz, "DelegationAttended", "2023-09-12", conference="ALCONU-II", state="ARG",
           role="participant")
    # Check the corrected entry cannot be corrected again: the correction stands for it.
    refused(relacopaz, RuleViolation, "has already been corrected: the correction stands",
            "EntryCorrected", position=scheduled["position"], reason="again",
            replacement={"type": "ConferenceScheduled", "data": scheduled["data"]})


def test_a_correction_of_a_join_date_with_a_later_leave_is_accepted(
    relacopaz: CoordinationLog,
) -> None:
    joined = join(relacopaz, "MEX", "member", "2023-09-12")
    submit(relacopaz, "StateLeftNetwork", "2024-01-01", network="RELACOPAZ", state="MEX")
    relacopaz.submit({"type": "EntryCorrected", "effective_date": "2023-09-13", "data": {
        "position": joined["position"], "reason": "joined the next day",
        "replacement": {"type": "StateJoinedNetwork", "data": joined["data"]}}},
        recorded_by=RECORDER)
    # Check the corrected entry is no longer the one to correct.
    refused(relacopaz, RuleViolation, "has already been corrected",
            "EntryCorrected", "2024-02-01", position=joined["position"], reason="r",
            replacement={"type": "StateJoinedNetwork", "data": joined["data"]})


def test_a_correction_keeps_the_type_and_the_entity(relacopaz: CoordinationLog) -> None:
    joined = join(relacopaz, "PRY", "member", "2023-09-12")
    refused(relacopaz, RuleViolation, "its correction must be a StateJoinedNetwork too",
            "EntryCorrected", position=joined["position"], reason="r",
            replacement={"type": "StateLeftNetwork", "data": {"network": "RELACOPAZ",
                                                              "state": "PRY"}})
    submit(relacopaz, "NetworkEstablished", "2023-09-12", network="OTHER", name="Other")
    refused(relacopaz, RuleViolation, "a correction cannot move it to network:OTHER",
            "EntryCorrected", position=joined["position"], reason="r",
            replacement={"type": "StateJoinedNetwork", "data": {
                "network": "OTHER", "state": "PRY", "role": "member"}})


def test_a_correction_that_breaks_the_timeline_is_refused(relacopaz: CoordinationLog) -> None:
    joined = join(relacopaz, "COL", "member", "2023-09-12")
    left = submit(relacopaz, "StateLeftNetwork", "2024-01-01", network="RELACOPAZ",
                  state="COL")
    refused(relacopaz, Contradiction, rf"COL is not in RELACOPAZ on 2024-01-01, so it cannot "
            rf"leave it then \(position {left['position']}\)",
            "EntryCorrected", "2024-02-01", position=joined["position"], reason="later",
            replacement={"type": "StateJoinedNetwork", "data": joined["data"]})


def test_a_refusal_names_by_position_an_entry_accepted_earlier_in_the_same_commit(
    relacopaz: CoordinationLog,
) -> None:
    writer = relacopaz.writer
    first = parse_submission({"type": "StateJoinedNetwork", "effective_date": "2023-09-12",
                              "data": {"network": "RELACOPAZ", "state": "GUY",
                                       "role": "member"}})
    again = parse_submission({"type": "StateJoinedNetwork", "effective_date": "2023-10-01",
                              "data": {"network": "RELACOPAZ", "state": "GUY",
                                       "role": "member"}})
    # Check both are taken in one round: the writer cannot take either until both wait.
    with writer._condition:
        accepted = writer._enqueue(_Job([first], RECORDER, None, False))
        refused_job = writer._enqueue(_Job([again], RECORDER, None, False))
    assert isinstance(accepted.done, _Done) and isinstance(refused_job.done, _Done)
    accepted.done.wait()
    refused_job.done.wait()
    position = accepted.outcome()[0]["position"]
    with pytest.raises(Contradiction, match=rf"since 2023-09-12 \(position {position}\)"):
        refused_job.outcome()
