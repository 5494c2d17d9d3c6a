"""Malformed submissions are refused with the field and the reason, and append nothing."""

from __future__ import annotations

from typing import Any

import pytest

from concord.domain.catalogue import CATALOGUE, parse_submission
from concord.domain.errors import BatchRefused, InvalidSubmission
from concord.log.application import CoordinationLog
from tests.conftest import RECORDER

JOIN = {"network": "RELACOPAZ", "state": "ARG", "role": "member"}

BAD = [
    pytest.param({"type": "StateJoined", "data": JOIN}, "type",
                 "unknown event type 'StateJoined'; did you mean 'StateJoinedNetwork'?",
                 id="unknown-type"),
    pytest.param({"type": "statejoinednetwork", "data": JOIN}, "type",
                 "did you mean 'StateJoinedNetwork'?", id="type-in-lower-case"),
    pytest.param({"type": "Recorded", "data": JOIN}, "type",
                 "known types: NetworkEstablished, ", id="type-nothing-like-a-known-one"),
    pytest.param({"data": JOIN}, "type", "required", id="missing-type"),
    pytest.param({"type": 7, "data": JOIN}, "type", "string", id="type-not-a-string"),
    pytest.param({"type": "StateJoinedNetwork"}, "data", "required", id="missing-data"),
    pytest.param({"type": "StateJoinedNetwork", "data": [1]}, "data", "dictionary",
                 id="data-not-an-object"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "colour": "red"}, "colour",
                 "unknown field", id="unknown-envelope-field"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "since": "2020"}},
                 "data.since", "unknown field", id="unknown-data-field"),
    pytest.param({"type": "StateJoinedNetwork", "data": {"network": "R", "state": "ARG",
                                                         "rol": "member"}},
                 "data.rol", "unknown field; did you mean 'role'? allowed fields: network, "
                 "state, role", id="misspelt-data-field"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "efective_date": "2023-09-12"},
                 "efective_date", "did you mean 'effective_date'?", id="misspelt-envelope-field"),
    pytest.param({"type": "StateJoinedNetwork", "data": {"network": "RELACOPAZ", "state": "ARG"}},
                 "data.role", "required", id="missing-data-field"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "role": "president"}},
                 "data.role", "'member' or 'observer'", id="bad-role"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "state": "AR"}},
                 "data.state", "use 'ARG'", id="alpha-2-code"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "state": "arg"}},
                 "data.state", "'arg' is not a state code; did you mean 'ARG' (Argentina)?",
                 id="lower-case-code"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "state": "cl"}},
                 "data.state", "did you mean 'CHL' (Chile)?", id="lower-case-alpha-2-code"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "state": "Panama"}},
                 "data.state", "did you mean 'PAN' (Panama)?", id="country-name"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "state": "DDR"}},
                 "data.state", "'DDDE'", id="withdrawn-alpha-3"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "state": "A R G"}},
                 "data.state", "not a state code", id="garbage-code"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "state": 32}},
                 "data.state", "string", id="numeric-code"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "network": "-RELA"}},
                 "data.network", "not a valid code", id="bad-network-code"),
    pytest.param({"type": "StateJoinedNetwork", "data": {**JOIN, "network": "N" * 65}},
                 "data.network", "not a valid code", id="code-too-long"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "effective_date": "2023-02-30"},
                 "effective_date", "not a day of the calendar", id="impossible-date"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "effective_date": "12/09/2023"},
                 "effective_date", "YYYY-MM-DD", id="foreign-date-format"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "effective_date": 1694476800},
                 "effective_date", "string", id="timestamp-date"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "effective_date": "2023"},
                 "effective_date", "YYYY-MM-DD", id="year-as-effective-date"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "source": "x" * 501},
                 "source", "at most 500", id="source-too-long"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "source": "   "},
                 "source", "pattern", id="blank-source"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "expected_version": -1},
                 "expected_version", "greater than or equal to 0", id="negative-version"),
    pytest.param({"type": "StateJoinedNetwork", "data": JOIN, "expected_version": "3"},
                 "expected_version", "integer", id="version-as-string"),
    pytest.param({"type": "ConferenceScheduled", "data": {
        "conference": "C", "title": "T", "host_state": "PRY", "starts_on": "2025-13"}},
                 "data.starts_on", "not a day, month or year", id="month-13"),
    pytest.param({"type": "ConferenceScheduled", "data": {
        "conference": "C", "title": "T", "host_state": "PRY", "starts_on": "October 2025"}},
                 "data.starts_on", "YYYY, YYYY-MM or YYYY-MM-DD", id="prose-date"),
    pytest.param({"type": "NetworkEstablished", "data": {"network": "N", "name": "x" * 201}},
                 "data.name", "at most 200", id="name-too-long"),
    pytest.param({"type": "DelegationAttended", "data": {
        "conference": "C", "state": "ARG", "role": "participant",
        "head": {"name": "A", "title": "B", "rank": 1}}},
                 "data.head.rank", "unknown field; allowed fields: name, title",
                 id="nested-unknown-field"),
    pytest.param({"type": "SessionHeld", "data": {
        "conference": "C", "title": "T", "speakers": [{"name": "A", "title": "B",
                                                       "stat": "ARG"}]}},
                 "data.speakers.0.stat", "did you mean 'state'?", id="misspelt-field-in-a-list"),
    pytest.param({"type": "SessionHeld", "data": {
        "conference": "C", "title": "T", "speakers": [{"name": "A", "title": "B",
                                                       "state": "1AB"}]}},
                 "data.speakers.0.state", "not a state code", id="speaker-bad-state"),
    pytest.param({"type": "DeclarationAdopted", "data": {
        "declaration": "D", "title": "T", "text_sha256": "ABC"}},
                 "data.text_sha256", "pattern", id="bad-sha256"),
    pytest.param({"type": "EntryRetracted", "data": {"position": 0, "reason": "r"}},
                 "data.position", "greater than or equal to 1", id="position-zero"),
    pytest.param({"type": "EntryRetracted", "data": {"position": True, "reason": "r"}},
                 "data.position", "integer", id="position-boolean"),
    pytest.param(["StateJoinedNetwork"], "", "JSON object", id="not-an-object"),
]


@pytest.mark.parametrize(("raw", "field", "reason"), BAD)
def test_a_malformed_submission_is_refused_naming_the_field(
    log: CoordinationLog, raw: Any, field: str, reason: str
) -> None:
    with pytest.raises(InvalidSubmission) as refused:
        log.submit(raw, recorded_by=RECORDER)
    problems = {p.field: p.reason for p in refused.value.problems}
    assert field in problems, problems
    assert reason in problems[field]
    assert log.last_position() == 0


def test_every_problem_of_a_submission_is_reported_at_once() -> None:
    with pytest.raises(InvalidSubmission) as refused:
        parse_submission({"type": "StateJoinedNetwork",
                          "data": {"network": "R", "state": "arg", "role": "boss", "x": 1}})
    assert {p.field for p in refused.value.problems} == {"data.state", "data.role", "data.x"}


def test_a_batch_with_one_malformed_submission_names_its_index(log: CoordinationLog) -> None:
    batch = [
        {"type": "NetworkEstablished", "data": {"network": "RELACOPAZ", "name": "Red"}},
        {"type": "StateJoinedNetwork", "data": {**JOIN, "state": "AR"}},
    ]
    with pytest.raises(BatchRefused) as refused:
        log.submit_batch(batch, recorded_by=RECORDER)
    assert refused.value.index == 1
    assert isinstance(refused.value.cause, InvalidSubmission)
    assert log.last_position() == 0


def test_an_empty_batch_is_refused(log: CoordinationLog) -> None:
    with pytest.raises(InvalidSubmission, match="at least one"):
        log.submit_batch([], recorded_by=RECORDER)


@pytest.mark.parametrize("code", ["ARG", "BRA", "CSHH", "SUHH", "YUCS", "DDDE", "XKX"])
def test_iso_alpha_3_former_state_and_registrable_codes_are_well_formed(code: str) -> None:
    submission = parse_submission({"type": "DeclarationSigned",
                                   "data": {"declaration": "D", "state": code}})
    assert submission.data["state"] == code


@pytest.mark.parametrize("starts_on", ["2025", "2025-10", "2025-10-08"])
def test_a_conference_may_start_on_a_year_a_month_or_a_day(starts_on: str) -> None:
    submission = parse_submission({"type": "ConferenceScheduled", "data": {
        "conference": "ALCONU-III", "title": "III", "host_state": "PRY", "starts_on": starts_on}})
    assert submission.data["starts_on"] == starts_on


def test_the_catalogue_has_exactly_the_public_types_of_the_design() -> None:
    assert set(CATALOGUE) == {
        "NetworkEstablished", "StatuteApproved", "StateRegistered", "StateJoinedNetwork",
        "StateLeftNetwork", "WithdrawalRevoked", "MembershipSuspended", "SuspensionLifted",
        "OfficeAssumed",
        "OfficeRelinquished", "ConferenceScheduled", "ConferenceRescheduled",
        "ConferenceCancelled", "ConferenceHeld", "DelegationAttended", "SessionHeld",
        "DeclarationAdopted", "DeclarationSigned", "SignatureWithdrawn", "InstrumentAdopted",
        "ConsentExpressed", "InstrumentEnteredIntoForce", "Denunciation", "EntryRetracted",
        "EntryCorrected",
    }


def test_optional_fields_left_out_or_null_are_not_recorded() -> None:
    with_null = parse_submission({"type": "StateLeftNetwork",
                                  "data": {"network": "R", "state": "ARG", "reason": None}})
    without = parse_submission({"type": "StateLeftNetwork",
                                "data": {"network": "R", "state": "ARG"}})
    assert with_null.data == without.data == {"network": "R", "state": "ARG"}
    assert with_null.fingerprint() == without.fingerprint()


@pytest.mark.parametrize(("raw", "field"), [
    ({"type": "EntryRetracted", "data": {"position": 2**63, "reason": "r"}}, "data.position"),
    ({"type": "StateJoinedNetwork", "data": JOIN, "expected_version": 2**63},
     "expected_version"),
    ({"type": "ConferenceScheduled", "data": {"conference": "C", "title": "T",
      "host_state": "PRY", "starts_on": "٢٠٢٥"}}, "data.starts_on"),
    ({"type": "StateJoinedNetwork", "data": JOIN, "effective_date": "٢٠٢٣-٠٩-١٢"},
     "effective_date"),
], ids=["position-beyond-64-bits", "version-beyond-64-bits", "arabic-indic-year",
        "arabic-indic-date"])
def test_numbers_beyond_storage_and_non_ascii_digits_are_refused(
    log: CoordinationLog, raw: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidSubmission) as refused:
        log.submit(raw, recorded_by=RECORDER)
    assert field in {p.field for p in refused.value.problems}
    assert log.last_position() == 0


def test_a_conference_may_end_in_the_last_month_of_the_calendar(log: CoordinationLog) -> None:
    envelope = log.submit({"type": "ConferenceScheduled", "data": {
        "conference": "C", "title": "T", "host_state": "PRY", "starts_on": "9999-12-01",
        "ends_on": "9999-12"}}, recorded_by=RECORDER)
    assert envelope["data"]["ends_on"] == "9999-12"


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_a_type_one_character_off_is_pointed_at_the_right_type(name: str) -> None:
    with pytest.raises(InvalidSubmission) as refused:
        parse_submission({"type": name[:-1], "data": {}})
    assert [str(p) for p in refused.value.problems] == [
        f"type: unknown event type {name[:-1]!r}; did you mean {name!r}?"]


def test_a_misspelt_field_is_pointed_at_the_field_of_its_own_type() -> None:
    with pytest.raises(InvalidSubmission) as refused:
        parse_submission({"type": "ConferenceScheduled", "data": {
            "conference": "C", "title": "T", "host_state": "PRY", "starts_on": "2025",
            "Edition": "III"}})
    assert [str(p) for p in refused.value.problems] == [
        "data.Edition: unknown field; did you mean 'edition'? allowed fields: conference, "
        "title, network, edition, host_state, city, starts_on, ends_on"]
