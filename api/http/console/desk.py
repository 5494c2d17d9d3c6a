"""The clerk's desk: a page to record the network's decisions from a browser.

Its forms are made from the event catalogue itself (the payload models the API checks
submissions with), so a new type appears on the desk with no new page: `form_spec` reads
each model's JSON schema into the fields a form needs. The page's script (static/desk.js)
draws them, checks every submission with the API's dry run before anything is written, and
records with an idempotency key. The key a clerk signs in with stays in the tab
(sessionStorage) and is sent as a bearer header, never as a cookie.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from concord.api.http.console.page import router
from concord.api.http.console.render import render
from concord.domain.catalogue import CATALOGUE, SOURCE_MAX_CHARS
from concord.domain.codes import state_codes

pages = router()

# Fields that name an entity on record: the desk offers the codes on record.
REFERENCES = {"network": "networks", "conference": "conferences",
              "declaration": "declarations", "instrument": "instruments"}
STATE_PATTERN = "^[A-Z][A-Z0-9]{1,15}$"
DATE_FORMAT = "date"
# Types recorded from the desk's own tools for an entry on record, not from a blank form.
UNDOING = ("EntryRetracted", "EntryCorrected")


def _field(name: str, schema: dict[str, Any], defs: dict[str, Any],
           required: bool) -> dict[str, Any]:
    """One field of a form, from its JSON schema: its kind (line, text, code, state, date,
    partial-date, choice, number, group, lines, list), what it takes, whether required."""
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    inner = options[0] if options else schema
    if "$ref" in inner:
        inner = defs[inner["$ref"].rsplit("/", 1)[-1]]
    found: dict[str, Any] = {"name": name, "label": name.replace("_", " ").capitalize(),
                             "required": required}
    if description := (schema.get("description") or inner.get("description")):
        found["help"] = description
    kind = inner.get("type")
    if kind == "object":
        return {**found, "kind": "group", "fields": _fields(inner, defs)}
    if kind == "array":
        items = inner["items"]
        if "$ref" in items:
            model = defs[items["$ref"].rsplit("/", 1)[-1]]
            return {**found, "kind": "list", "max": inner.get("maxItems"),
                    "fields": _fields(model, defs)}
        return {**found, "kind": "lines", "max": inner.get("maxItems"),
                "max_length": items.get("maxLength")}
    if kind == "integer":
        return {**found, "kind": "number", "min": inner.get("minimum"),
                "max": inner.get("maximum")}
    if "enum" in inner or "const" in inner:
        return {**found, "kind": "choice", "options": inner.get("enum", [inner.get("const")])}
    pattern = inner.get("pattern")
    if inner.get("format") == DATE_FORMAT:
        return {**found, "kind": "date"}
    if pattern == STATE_PATTERN:
        return {**found, "kind": "state"}
    if pattern is not None and pattern.startswith("^[0-9]{4}(-"):
        return {**found, "kind": "partial-date"}
    if name in REFERENCES and pattern is not None:
        return {**found, "kind": "code", "list": REFERENCES[name], "pattern": pattern}
    if pattern is not None and "maxLength" not in inner:
        return {**found, "kind": "code", "pattern": pattern}
    if (inner.get("maxLength") or 0) > 500:
        return {**found, "kind": "text", "max_length": inner["maxLength"]}
    return {**found, "kind": "line", "max_length": inner.get("maxLength"),
            **({"pattern": pattern} if pattern and "maxLength" in inner and pattern != "\\S"
               else {})}


def _fields(model: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(model.get("required", ()))
    return [_field(name, schema, defs, name in required)
            for name, schema in model["properties"].items()]


@cache
def form_spec() -> dict[str, Any]:
    """Every type's form, from its payload model, with its description; and the fields
    every submission has."""
    types = {}
    for name, model in CATALOGUE.items():
        schema = model.model_json_schema()
        types[name] = {"description": " ".join((model.__doc__ or "").split()),
                       "fields": _fields(schema, schema.get("$defs", {}))}
    return {"types": types, "undoing": list(UNDOING), "source_max": SOURCE_MAX_CHARS}


@cache
def _states() -> list[tuple[str, str]]:
    return sorted(state_codes(), key=lambda item: item[1])


@pages.get("/desk", response_class=HTMLResponse)
async def desk_page(request: Request, position: Annotated[str | None, Query(
        max_length=20, description="An entry to correct or retract.")] = None) -> Response:
    """The clerk's desk (with `position`, open on that entry, to correct or retract it)."""
    spec = Markup(json.dumps(form_spec()).replace("<", "\\u003c"))
    types = [name for name in CATALOGUE if name not in UNDOING]
    return render(request, "desk.html", section="desk", spec=spec, types=types,
                  states=_states(), position=position or "")
