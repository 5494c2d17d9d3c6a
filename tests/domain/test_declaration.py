"""Declarations: adopted, signed, signatures withdrawn."""

from __future__ import annotations

from concord.domain.errors import NotFound, RuleViolation
from concord.log.application import CoordinationLog
from tests.conftest import submit
from tests.domain.test_network import refused


def test_a_declaration_code_cannot_be_used_twice(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, RuleViolation, "declaration code BUENOS-AIRES-2023 is already in use",
            "DeclarationAdopted", declaration="BUENOS-AIRES-2023", title="Again")


def test_a_declaration_adopted_at_a_conference_needs_the_conference(log: CoordinationLog) -> None:
    refused(log, NotFound, "conference NOPE is not on record", "DeclarationAdopted",
            declaration="D", title="D", conference="NOPE")


def test_a_declaration_of_a_network_needs_the_network(log: CoordinationLog) -> None:
    refused(log, NotFound, "network NOPE is not on record", "DeclarationAdopted",
            declaration="D", title="D", network="NOPE")


def test_only_an_adopted_declaration_can_be_signed(log: CoordinationLog) -> None:
    refused(log, NotFound, "declaration LIMA-2022 is not on record.*DeclarationAdopted",
            "DeclarationSigned", declaration="LIMA-2022", state="PER")


def test_a_state_cannot_sign_twice(relacopaz: CoordinationLog) -> None:
    submit(relacopaz, "DeclarationSigned", "2023-09-12", declaration="BUENOS-AIRES-2023",
           state="ARG", signatory={"name": "Jorge Taiana", "title": "Minister of Defence"})
    refused(relacopaz, RuleViolation, "ARG already signed BUENOS-AIRES-2023 on 2023-09-12",
            "DeclarationSigned", declaration="BUENOS-AIRES-2023", state="ARG")


def test_a_state_cannot_sign_before_adoption(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, RuleViolation, "it was adopted on 2023-09-12", "DeclarationSigned",
            "2023-09-11", declaration="BUENOS-AIRES-2023", state="ARG")


def test_an_unknown_state_cannot_sign(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, NotFound, "state QQQ is neither", "DeclarationSigned",
            declaration="BUENOS-AIRES-2023", state="QQQ")


def test_only_a_signatory_can_withdraw(relacopaz: CoordinationLog) -> None:
    refused(relacopaz, RuleViolation, "BRA has not signed BUENOS-AIRES-2023",
            "SignatureWithdrawn", declaration="BUENOS-AIRES-2023", state="BRA")


def test_a_signature_is_withdrawn_then_given_again(relacopaz: CoordinationLog) -> None:
    submit(relacopaz, "DeclarationSigned", "2023-09-12", declaration="BUENOS-AIRES-2023",
           state="BRA")
    refused(relacopaz, RuleViolation, "BRA has not signed BUENOS-AIRES-2023 by 2023-01-01, so "
            "it cannot withdraw its signature then", "SignatureWithdrawn",
            "2023-01-01", declaration="BUENOS-AIRES-2023", state="BRA")
    submit(relacopaz, "SignatureWithdrawn", "2024-02-01", declaration="BUENOS-AIRES-2023",
           state="BRA", reason="policy change")
    again = submit(relacopaz, "DeclarationSigned", "2025-02-01",
                   declaration="BUENOS-AIRES-2023", state="BRA")
    assert again["version"] == 4
