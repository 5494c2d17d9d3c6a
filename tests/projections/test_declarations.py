"""Declarations: adopted, signed, withdrawn, retracted."""

from __future__ import annotations

from concord.api.scenario import founding_scenario
from concord.log.application import CoordinationLog
from concord.projections.declarations import Declarations, declaration, list_declarations
from concord.projections.store import ProjectionStore
from tests.conftest import submit
from tests.projections.conftest import catch_up


def test_the_buenos_aires_declaration_and_its_signatories(
    log: CoordinationLog, store: ProjectionStore
) -> None:
    log.submit_batch(founding_scenario().submissions, recorded_by="concord-demo")
    catch_up(log, store, Declarations(), page=11)
    listed = {d["code"]: d for d in list_declarations(store.reader())}
    assert listed["LIMA-2022"]["signatories"] == 0
    assert listed["LIMA-2022"]["also_known_as"] == ["Vivir en Paz"]
    ba = declaration(store.reader(), "BUENOS-AIRES-2023")
    assert ba is not None and ba["signatories"] == 18 and ba["conference"] == "ALCONU-II"
    assert ba["signed"][0]["state"] == "ARG" and ba["signed"][0]["signed_on"] == "2023-09-12"
    assert ba["withdrawn"] == []
    assert declaration(store.reader(), "NOPE") is None


def test_withdrawals_and_retractions(log: CoordinationLog, store: ProjectionStore) -> None:
    submit(log, "DeclarationAdopted", "2020-01-01", declaration="D", title="D")
    submit(log, "DeclarationSigned", "2020-02-01", declaration="D", state="ARG",
           signatory={"name": "A. Person", "title": "Minister"})
    signed_bra = submit(log, "DeclarationSigned", "2020-02-01", declaration="D", state="BRA")
    withdrawal = submit(log, "SignatureWithdrawn", "2021-01-01", declaration="D", state="ARG",
                        reason="policy")
    catch_up(log, store, Declarations())
    found = declaration(store.reader(), "D")
    assert found is not None
    assert [s["state"] for s in found["signed"]] == ["BRA"]
    assert found["withdrawn"] == [{"state": "ARG", "signed_on": "2020-02-01",
                                   "withdrawn_on": "2021-01-01",
                                   "position": withdrawal["position"], "reason": "policy"}]
    submit(log, "EntryRetracted", position=withdrawal["position"], reason="not withdrawn")
    submit(log, "EntryRetracted", position=signed_bra["position"], reason="never signed")
    catch_up(log, store, Declarations())
    found = declaration(store.reader(), "D")
    assert found is not None
    assert [(s["state"], s["signatory"]) for s in found["signed"]] == [
        ("ARG", {"name": "A. Person", "title": "Minister"})]
    assert found["withdrawn"] == [] and found["signatories"] == 1
    submit(log, "EntryRetracted", position=1, reason="never adopted")
    catch_up(log, store, Declarations())
    assert declaration(store.reader(), "D") is None
    assert list_declarations(store.reader()) == []
