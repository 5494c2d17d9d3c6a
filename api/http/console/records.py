"""The console's pages of what is on record: a state's dossier, conferences, declarations,
instruments, and each entry of the log, with what a browser needs to verify it."""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from concord.api.http import queries
from concord.api.http.console.page import Form, router, stream_page
from concord.api.http.console.render import pretty_json, render
from concord.api.http.errors import ProblemError
from concord.domain.codes import (
    CODE_PATTERN,
    STATE_CODE_PATTERN,
    check_state_code,
    iso_name,
    suggest_state_codes,
)
from concord.domain.envelope import MAX_POSITION
from concord.tlog.leaves import leaf_bytes
from concord.tlog.merkle import leaf_hash

pages = router()


def _no_such(kind: str, code: str, reason: str | None = None) -> ProblemError:
    return ProblemError(404, f"no-such-{kind}", f"No such {kind}",
                        reason or f"{kind} {code} is not on record")


@pages.get("/states", response_class=HTMLResponse)
async def find_state(request: Request, code: Annotated[str | None, Query(
        max_length=100)] = None) -> Response:
    """A state's dossier found by its code or its name ('Chile' finds CHL)."""
    asked = (code or "").strip()
    found: list[str] = []
    if asked:
        if iso_name(asked.upper()):
            return RedirectResponse(f"/states/{asked.upper()}", 303)
        found = suggest_state_codes(asked)
        if len(found) == 1:
            return RedirectResponse(f"/states/{found[0]}", 303)
        if not found and STATE_CODE_PATTERN.fullmatch(asked.upper()):
            # Perhaps a code registered on the log: its page says if it is not.
            return RedirectResponse(f"/states/{asked.upper()}", 303)
    return render(request, "find_state.html", status=200 if found or not asked else 404,
                  section="states", asked=asked, found=found)


@pages.get("/states/{code}", response_class=HTMLResponse)
async def state_page(request: Request, code: str) -> Response:
    """One state's memberships, signatures, delegations and conferences hosted."""
    try:
        check_state_code(code)
    except ValueError as e:
        raise _no_such("state", code, str(e)) from None
    last = await queries.last_position(request)
    dossier = await queries.dossier(request, code, last)
    names = {n["code"]: n["name"] for n in await queries.networks(request, last)}
    return render(request, "state.html", section="states", dossier=dossier,
                  network_names=names)


@pages.get("/conferences", response_class=HTMLResponse)
async def conferences_page(request: Request) -> Response:
    """Every conference on record."""
    return render(request, "conferences.html", section="conferences",
                  conferences=await queries.conferences(
                      request, min_position=await queries.last_position(request)))


@pages.get("/conferences/{code}", response_class=HTMLResponse)
async def conference_page(request: Request, code: str) -> Response:
    """A conference: its schedule's changes, delegations by role, sessions and speakers."""
    if not CODE_PATTERN.fullmatch(code):
        raise _no_such("conference", code)
    conference, _ = await queries.conference(request, code,
                                             await queries.last_position(request))
    return render(request, "conference.html", section="conferences",
                  conference=conference)


@pages.get("/declarations", response_class=HTMLResponse)
async def declarations_page(request: Request) -> Response:
    """Every declaration on record."""
    return render(request, "declarations.html", section="declarations",
                  declarations=await queries.declarations(
                      request, await queries.last_position(request)))


@pages.get("/declarations/{code}", response_class=HTMLResponse)
async def declaration_page(request: Request, code: str) -> Response:
    """A declaration: its signatories and the signatures withdrawn."""
    if not CODE_PATTERN.fullmatch(code):
        raise _no_such("declaration", code)
    declaration, _ = await queries.declaration(request, code,
                                               await queries.last_position(request))
    return render(request, "declaration.html", section="declarations",
                  declaration=declaration)


@pages.get("/entries/{position}", response_class=HTMLResponse)
async def entry_page(request: Request, position: str) -> Response:
    """An entry: its envelope, its leaf and leaf hash, and its verification in the
    browser against the log's signed checkpoint."""
    if not (position.isascii() and position.isdigit()) or not 1 <= int(position) <= MAX_POSITION:
        raise _no_such("entry", position, f"{position!r} is not a position in the log")
    envelope = await queries.entry(request, int(position))
    at = envelope["position"]
    found = await queries.history_at(request, [at])
    summary = found.get(at)
    undone_by = summary["retracted_by"] if summary else None
    related = await queries.history_at(request, [p for p in (
        undone_by, envelope["data"].get("position") if envelope["type"] in (
            "EntryRetracted", "EntryCorrected") else None) if p])
    leaf = leaf_bytes(envelope)
    digest = leaf_hash(leaf)
    last = await queries.last_position(request)
    return render(request, "entry.html", section="history", envelope=envelope,
                  envelope_json=pretty_json(envelope), summary=summary, related=related,
                  undone_by=undone_by, leaf=leaf.decode(), leaf_hash_hex=digest.hex(),
                  leaf_hash_b64=base64.b64encode(digest).decode(), last=last,
                  stream_href=stream_page(envelope["stream"]))


@pages.get("/instruments", response_class=HTMLResponse)
async def instruments_page(request: Request) -> Response:
    """Every instrument on record, with how many states stand where today."""
    _, _, found = await queries.instruments(
        request, min_position=await queries.last_position(request))
    return render(request, "instruments.html", section="instruments", instruments=found)


@pages.get("/instruments/{code}", response_class=HTMLResponse)
async def instrument_page(request: Request, code: str,
                          on: Annotated[str | None, Query(max_length=200)] = None,
                          as_of: Annotated[str | None, Query(max_length=200)] = None
                          ) -> Response:
    """An instrument on a date, as the record stood at a position or a moment: its parties,
    contracting states and signatories then, and every consent on record."""
    if not CODE_PATTERN.fullmatch(code):
        raise _no_such("instrument", code)
    last = await queries.last_position(request)
    form = Form(on=on, as_of=as_of)
    day = form.date("on")
    try:
        found = await queries.instrument(request, code, day, form.value("as_of"), last)
    except ProblemError as e:
        if form.value("as_of") is None:
            raise
        if e.status == 404:
            form.errors["as_of"] = f"{code} was not on record then"
        else:
            form.refuse(e)
        # The record as it stands, beside the reason the one asked for cannot be shown.
        found = await queries.instrument(request, code, day, None, last)
    asked = {"on": found["on"], "as_of": found["as_of"]}
    return render(request, "instrument.html", status=form.status, section="instruments",
                  instrument=found, form=form, last=last,
                  csv_base=f"/v1/instruments/{code}?{urlencode({**asked, 'format': 'csv'})}")
