"""Retractions: a wrong entry stays in the log and stops counting from the retraction on."""

from __future__ import annotations

from collections.abc import Callable

from concord.domain.errors import NotFound, RuleViolation
from concord.log.application import CoordinationLog
from tests.conftest import submit
from tests.domain.test_network import refused


def test_a_retraction_names_a_position_that_exists(log: CoordinationLog) -> None:
    refused(log, NotFound, "there is no entry at position 5", "EntryRetracted",
            position=5, reason="typo")


def test_a_retracted_join_stays_in_the_log_and_the_state_can_join_again(
    relacopaz: CoordinationLog,
) -> None:
    wrong = submit(relacopaz, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ",
                   state="ARG", role="observer")
    retraction = submit(relacopaz, "EntryRetracted", position=wrong["position"],
                        reason="ARG joined as a member, not an observer")
    # Check the retraction lands in the retracted entry's stream and names its position.
    assert retraction["stream"] == "network:RELACOPAZ"
    assert retraction["data"] == {"position": wrong["position"],
                                  "reason": "ARG joined as a member, not an observer"}
    # Check the wrong entry is still in the log, unchanged.
    assert relacopaz.read(after=wrong["position"] - 1, limit=1) == [wrong]
    # Check the rules now see the corrected record: ARG is in no role, so it cannot leave...
    refused(relacopaz, RuleViolation, "ARG is not in RELACOPAZ", "StateLeftNetwork",
            network="RELACOPAZ", state="ARG")
    # ...and it can join (again, as an observer too).
    submit(relacopaz, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state="ARG",
           role="observer")


def test_an_entry_cannot_be_retracted_twice(relacopaz: CoordinationLog) -> None:
    wrong = submit(relacopaz, "DeclarationSigned", "2023-09-12",
                   declaration="BUENOS-AIRES-2023", state="CHL")
    submit(relacopaz, "EntryRetracted", position=wrong["position"], reason="Chile did not sign")
    refused(relacopaz, RuleViolation, f"position {wrong['position']} has already been retracted",
            "EntryRetracted", position=wrong["position"], reason="again")


def test_a_retraction_cannot_be_retracted(relacopaz: CoordinationLog) -> None:
    wrong = submit(relacopaz, "DeclarationSigned", "2023-09-12",
                   declaration="BUENOS-AIRES-2023", state="CHL")
    retraction = submit(relacopaz, "EntryRetracted", position=wrong["position"], reason="no")
    refused(relacopaz, RuleViolation, "is itself a retraction", "EntryRetracted",
            position=retraction["position"], reason="undo")


def test_retracting_the_founding_entry_voids_the_entity_and_its_code(
    relacopaz: CoordinationLog,
) -> None:
    founding = relacopaz.read(limit=1)[0]
    assert founding["type"] == "NetworkEstablished"
    submit(relacopaz, "EntryRetracted", position=founding["position"], reason="test entry")
    refused(relacopaz, NotFound, "network RELACOPAZ is not on record: the entry that created "
            "it was retracted", "StateJoinedNetwork", network="RELACOPAZ", state="ARG",
            role="member")
    refused(relacopaz, RuleViolation, "codes are never reused", "NetworkEstablished",
            network="RELACOPAZ", name="Again")


def test_a_retracted_signature_rule_holds_after_reopening(
    relacopaz: CoordinationLog, open_log: Callable[[], CoordinationLog]
) -> None:
    wrong = submit(relacopaz, "DeclarationSigned", "2023-09-12",
                   declaration="BUENOS-AIRES-2023", state="CHL")
    submit(relacopaz, "EntryRetracted", position=wrong["position"], reason="Chile did not sign")
    relacopaz.close()
    reopened = open_log()
    refused(reopened, RuleViolation, "CHL has not signed", "SignatureWithdrawn",
            declaration="BUENOS-AIRES-2023", state="CHL")
