"""Conferences: scheduled to a year, month or day; rescheduled, cancelled, held, attended."""

from __future__ import annotations

import pytest

from concord.domain.errors import NotFound, RuleViolation
from concord.log.application import CoordinationLog
from tests.conftest import submit
from tests.domain.test_network import refused


@pytest.fixture
def scheduled(relacopaz: CoordinationLog) -> CoordinationLog:
    submit(relacopaz, "ConferenceScheduled", "2023-09-12", conference="ALCONU-III",
           title="III ALCONU", host_state="PRY", starts_on="2025", network="RELACOPAZ")
    return relacopaz


def test_a_conference_code_cannot_be_used_twice(scheduled: CoordinationLog) -> None:
    refused(scheduled, RuleViolation, "conference code ALCONU-III is already in use",
            "ConferenceScheduled", conference="ALCONU-III", title="Again", host_state="PRY",
            starts_on="2026")


def test_a_conference_needs_a_known_host_state(log: CoordinationLog) -> None:
    refused(log, NotFound, "host_state QQQ is neither", "ConferenceScheduled",
            conference="X", title="X", host_state="QQQ", starts_on="2025")


def test_a_conference_of_a_network_needs_the_network(log: CoordinationLog) -> None:
    refused(log, NotFound, "network RELACOPAZ is not on record", "ConferenceScheduled",
            conference="X", title="X", host_state="PRY", starts_on="2025", network="RELACOPAZ")


def test_a_conference_cannot_end_before_it_starts(log: CoordinationLog) -> None:
    refused(log, RuleViolation, "ends_on 2025-10-07 is before starts_on 2025-10-08",
            "ConferenceScheduled", conference="X", title="X", host_state="PRY",
            starts_on="2025-10-08", ends_on="2025-10-07")


def test_a_reduced_precision_end_may_share_the_start_month(log: CoordinationLog) -> None:
    envelope = submit(log, "ConferenceScheduled", conference="X", title="X", host_state="PRY",
                      starts_on="2025-10-08", ends_on="2025-10")
    assert envelope["data"]["ends_on"] == "2025-10"


def test_a_year_only_conference_is_rescheduled_to_exact_days_and_held(
    scheduled: CoordinationLog,
) -> None:
    moved = submit(scheduled, "ConferenceRescheduled", "2025-06-01", conference="ALCONU-III",
                   starts_on="2025-10-08", ends_on="2025-10-09")
    held = submit(scheduled, "ConferenceHeld", "2025-10-09", conference="ALCONU-III")
    assert (moved["version"], held["version"]) == (2, 3)


def test_a_held_conference_cannot_be_rescheduled_cancelled_or_held_again(
    scheduled: CoordinationLog,
) -> None:
    submit(scheduled, "ConferenceHeld", "2025-10-09", conference="ALCONU-III")
    refused(scheduled, RuleViolation, r"ALCONU-III was held on 2025-10-09 \(position 6\), so "
            "it cannot be rescheduled", "ConferenceRescheduled", conference="ALCONU-III",
            starts_on="2026")
    refused(scheduled, RuleViolation, r"ALCONU-III would be both held \(position 6\) and "
            r"cancelled \(this entry\)", "ConferenceCancelled", conference="ALCONU-III")
    refused(scheduled, RuleViolation, r"ALCONU-III was already held on 2025-10-09 \(position "
            "6\\), so it cannot be held again", "ConferenceHeld", conference="ALCONU-III")


def test_a_cancelled_conference_cannot_be_held(scheduled: CoordinationLog) -> None:
    submit(scheduled, "ConferenceCancelled", conference="ALCONU-III", reason="no quorum")
    refused(scheduled, RuleViolation, r"ALCONU-III would be both held \(this entry\) and "
            "cancelled", "ConferenceHeld", conference="ALCONU-III")


def test_an_unknown_conference_cannot_be_held(log: CoordinationLog) -> None:
    refused(log, NotFound, "conference ALCONU-IX is not on record.*ConferenceScheduled",
            "ConferenceHeld", conference="ALCONU-IX")


def test_a_delegation_attends_a_held_conference(relacopaz: CoordinationLog) -> None:
    envelope = submit(relacopaz, "DelegationAttended", "2023-09-12", conference="ALCONU-II",
                      state="ARG", role="participant",
                      head={"name": "Jorge Taiana", "title": "Minister of Defence"})
    assert envelope["data"]["head"] == {"name": "Jorge Taiana", "title": "Minister of Defence"}


def test_a_delegation_is_not_recorded_twice_in_the_same_role(relacopaz: CoordinationLog) -> None:
    submit(relacopaz, "DelegationAttended", "2023-09-12", conference="ALCONU-II", state="ESP",
           role="observer")
    refused(relacopaz, RuleViolation, "ESP's delegation is already recorded at ALCONU-II",
            "DelegationAttended", conference="ALCONU-II", state="ESP", role="observer")


def test_a_delegation_may_attend_while_the_conference_is_under_way(log: CoordinationLog) -> None:
    submit(log, "ConferenceScheduled", conference="C", title="C", host_state="PRY",
           starts_on="2025-10-08", ends_on="2025-10-09")
    envelope = submit(log, "DelegationAttended", "2025-10-09", conference="C", state="BOL",
                      role="participant")
    assert envelope["version"] == 2
    refused(log, RuleViolation, r"CHL's delegation of 2025-10-10 \(this entry\) falls outside "
            r"C's dates \(2025-10-08 to 2025-10-09\)",
            "DelegationAttended", "2025-10-10", conference="C", state="CHL", role="participant")


def test_a_delegation_cannot_attend_a_conference_known_only_to_the_year(
    scheduled: CoordinationLog,
) -> None:
    refused(scheduled, RuleViolation, "neither held nor under way", "DelegationAttended",
            "2025-10-08", conference="ALCONU-III", state="PRY", role="participant")


def test_a_session_needs_a_held_conference(scheduled: CoordinationLog) -> None:
    refused(scheduled, RuleViolation, "not held: record ConferenceHeld before its sessions",
            "SessionHeld", conference="ALCONU-III", title="Opening")


def test_a_session_speaker_needs_a_known_state(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, NotFound, "speakers.1.state QQQ is neither", "SessionHeld",
            conference="ALCONU-II", title="Opening",
            speakers=[{"name": "A", "title": "B", "state": "ARG"},
                      {"name": "C", "title": "D", "state": "QQQ"}])
