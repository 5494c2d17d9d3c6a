"""Registered codes for entities without an ISO 3166 code."""

from __future__ import annotations

from concord.domain.errors import RuleViolation
from concord.log.application import CoordinationLog
from tests.conftest import submit
from tests.domain.test_network import refused


def test_an_iso_code_cannot_be_registered(log: CoordinationLog) -> None:
    refused(log, RuleViolation, "ARG is the ISO 3166 code of Argentina", "StateRegistered",
            state="ARG", name="Argentina")


def test_a_former_state_code_cannot_be_registered(log: CoordinationLog) -> None:
    refused(log, RuleViolation, "CSHH is the ISO 3166 code of Czechoslovakia",
            "StateRegistered", state="CSHH", name="Czechoslovakia")


def test_a_code_cannot_be_registered_twice(log: CoordinationLog) -> None:
    submit(log, "StateRegistered", state="XKX", name="Kosovo")
    refused(log, RuleViolation, "state code XKX is already in use", "StateRegistered",
            state="XKX", name="Kosovo")


def test_a_registered_code_can_join_sign_and_attend(relacopaz: CoordinationLog) -> None:
    submit(relacopaz, "StateRegistered", state="XKX", name="Kosovo")
    joined = submit(relacopaz, "StateJoinedNetwork", "2024-01-01", network="RELACOPAZ",
                    state="XKX", role="observer")
    signed = submit(relacopaz, "DeclarationSigned", "2024-01-01",
                    declaration="BUENOS-AIRES-2023", state="XKX")
    attended = submit(relacopaz, "DelegationAttended", "2023-09-12", conference="ALCONU-II",
                      state="XKX", role="observer")
    assert {joined["data"]["state"], signed["data"]["state"], attended["data"]["state"]} == {
        "XKX"
    }
