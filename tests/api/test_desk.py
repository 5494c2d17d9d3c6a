"""The clerk's desk, as the server draws it: a form for every event type, made from the
catalogue's models, and the links to it."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from concord.api.http.console.desk import UNDOING, form_spec
from concord.domain.catalogue import CATALOGUE
from tests.api.console import parse_page


def _names(fields: list[dict[str, object]]) -> set[str]:
    return {str(field["name"]) for field in fields}


def test_every_type_has_a_form_with_every_field_of_its_model() -> None:
    spec = form_spec()
    assert set(spec["types"]) == set(CATALOGUE)
    for name, model in CATALOGUE.items():
        fields = spec["types"][name]["fields"]
        assert _names(fields) == set(model.model_fields), name
        required = {str(f["name"]) for f in fields if f["required"]}
        assert required == {n for n, f in model.model_fields.items() if f.is_required()}, name
    kinds = {f["name"]: f["kind"] for f in spec["types"]["ConferenceScheduled"]["fields"]}
    assert kinds == {"conference": "code", "title": "line", "network": "code",
                     "edition": "line", "host_state": "state", "city": "line",
                     "starts_on": "partial-date", "ends_on": "partial-date"}
    head = next(f for f in spec["types"]["DelegationAttended"]["fields"] if f["name"] == "head")
    assert head["kind"] == "group" and _names(head["fields"]) == {"name", "title"}
    speakers = next(f for f in spec["types"]["SessionHeld"]["fields"]
                    if f["name"] == "speakers")
    assert speakers["kind"] == "list" and speakers["max"] == 50
    terms = next(f for f in spec["types"]["InstrumentAdopted"]["fields"]
                 if f["name"] == "entry_into_force")
    assert terms["fields"][0]["kind"] == "number"
    forms = {f["name"]: f for f in spec["types"]["ConsentExpressed"]["fields"]}
    assert forms["form"]["options"][0] == "signature"


def test_the_desk_page_carries_its_forms_and_the_states(client: TestClient) -> None:
    answer = client.get("/desk")
    assert answer.status_code == 200
    page = parse_page(answer.text)
    spec = json.loads(page.by_id("desk-spec").text)
    assert spec == json.loads(json.dumps(form_spec()))
    offered = [option.attrs["value"] for option in page.by_id("f-type").all("option")]
    assert offered == [name for name in CATALOGUE if name not in UNDOING]
    states = {option.attrs["value"]: option.attrs["label"]
              for option in page.by_id("list-states").all("option")}
    assert states["CHL"] == "Chile" and states["CSHH"].startswith("Czechoslovakia")
    assert page.one("a", href="/desk").text == "Desk"


def test_an_entry_page_links_to_its_correction(client: TestClient) -> None:
    made = client.post("/v1/events", json={"type": "NetworkEstablished", "data": {
        "network": "N", "name": "A network"}, "effective_date": "2000-01-01"}).json()
    page = parse_page(client.get(f"/entries/{made['position']}").text)
    assert page.by_id("to-desk").attrs["href"] == f"/desk?position={made['position']}"
