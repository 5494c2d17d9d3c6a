"""Networks: founding, statutes, joining and leaving."""

from __future__ import annotations

import pytest

from concord.domain.errors import NotFound, RuleViolation
from concord.log.application import CoordinationLog
from tests.conftest import submit


def refused(log: CoordinationLog, error: type[Exception], match: str, type_: str,
            effective_date: str | None = None, **data: object) -> None:
    """Submit, expect refusal with a message matching `match`, and check nothing was appended."""
    before = log.last_position()
    with pytest.raises(error, match=match):
        submit(log, type_, effective_date, **data)
    assert log.last_position() == before


def test_a_network_code_cannot_be_used_twice(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, RuleViolation, "network code RELACOPAZ is already in use",
            "NetworkEstablished", network="RELACOPAZ", name="Another")


def test_a_statute_needs_an_existing_network(log: CoordinationLog) -> None:
    refused(log, NotFound, "network RELACOPAZ is not on record.*NetworkEstablished",
            "StatuteApproved", network="RELACOPAZ", title="Constitutive Statute")


def test_a_statute_approved_at_a_conference_needs_that_conference(
    relacopaz: CoordinationLog,
) -> None:
    refused(relacopaz, NotFound, "conference ALCONU-IX is not on record", "StatuteApproved",
            network="RELACOPAZ", title="Constitutive Statute", conference="ALCONU-IX")


def test_a_statute_is_approved(relacopaz: CoordinationLog) -> None:
    envelope = submit(relacopaz, "StatuteApproved", "2023-09-12", network="RELACOPAZ",
                      title="Constitutive Statute", conference="ALCONU-II")
    assert envelope["stream"] == "network:RELACOPAZ"
    assert envelope["version"] == 2


def test_a_state_joins_and_its_membership_is_in_the_stream(relacopaz: CoordinationLog) -> None:
    envelope = submit(relacopaz, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ",
                      state="ARG", role="member")
    assert envelope["type"] == "StateJoinedNetwork"
    assert envelope["data"] == {"network": "RELACOPAZ", "state": "ARG", "role": "member"}


def test_a_state_cannot_join_a_network_twice(relacopaz: CoordinationLog) -> None:
    submit(relacopaz, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state="ARG",
           role="member")
    refused(relacopaz, RuleViolation, "ARG is already a member of RELACOPAZ since 2023-09-12",
            "StateJoinedNetwork", network="RELACOPAZ", state="ARG", role="member")


def test_an_observer_can_become_a_member(relacopaz: CoordinationLog) -> None:
    submit(relacopaz, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state="ESP",
           role="observer")
    refused(relacopaz, RuleViolation, "ESP is already an observer", "StateJoinedNetwork",
            network="RELACOPAZ", state="ESP", role="observer")
    envelope = submit(relacopaz, "StateJoinedNetwork", "2024-01-01", network="RELACOPAZ",
                      state="ESP", role="member")
    assert envelope["data"]["role"] == "member"


def test_a_state_cannot_join_a_network_that_does_not_exist(log: CoordinationLog) -> None:
    refused(log, NotFound, "network NOPE is not on record", "StateJoinedNetwork",
            network="NOPE", state="ARG", role="member")


def test_an_unknown_state_cannot_join(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, NotFound, "state ZZZ is neither an ISO 3166-1 alpha-3 code",
            "StateJoinedNetwork", network="RELACOPAZ", state="ZZZ", role="member")


def test_a_former_state_can_be_recorded_by_its_iso_3166_3_code(relacopaz: CoordinationLog) -> None:
    envelope = submit(relacopaz, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ",
                      state="YUCS", role="observer")
    assert envelope["data"]["state"] == "YUCS"


def test_a_state_cannot_join_before_the_network_was_established(
    relacopaz: CoordinationLog,
) -> None:
    refused(relacopaz, RuleViolation, "established on 2023-09-12", "StateJoinedNetwork",
            "2020-01-01", network="RELACOPAZ", state="ARG", role="member")


def test_a_state_that_is_not_a_member_cannot_leave(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, RuleViolation, "BRA is not in RELACOPAZ on [0-9-]+, so it cannot leave it",
            "StateLeftNetwork", network="RELACOPAZ", state="BRA")


def test_a_state_cannot_leave_before_it_joined(relacopaz: CoordinationLog) -> None:
    submit(relacopaz, "StateJoinedNetwork", "2024-05-01", network="RELACOPAZ", state="BRA",
           role="member")
    refused(relacopaz, RuleViolation, "BRA is not in RELACOPAZ on 2024-04-30, so it cannot "
            "leave it then",
            "StateLeftNetwork", "2024-04-30", network="RELACOPAZ", state="BRA")


def test_a_state_can_leave_and_rejoin(relacopaz: CoordinationLog) -> None:
    submit(relacopaz, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state="BRA",
           role="member")
    submit(relacopaz, "StateLeftNetwork", "2024-01-01", network="RELACOPAZ", state="BRA",
           reason="withdrew")
    again = submit(relacopaz, "StateJoinedNetwork", "2025-01-01", network="RELACOPAZ",
                   state="BRA", role="member")
    assert again["version"] == 4
