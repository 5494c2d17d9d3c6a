"""The console's overview (the log at a glance), the history of decisions, the changes
between two states of the record, and the static assets the pages load."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from concord.api.http import queries
from concord.api.http.console.page import Form, router
from concord.api.http.console.render import asset_response, assets, entry_rows, render
from concord.api.http.errors import ProblemError
from concord.domain.catalogue import CATALOGUE
from concord.domain.codes import check_iso_date
from concord.projections import history as history_model
from concord.tlog.notes import Checkpoint, split_note

pages = router()

# A form's fields are taken as typed, and checked by the page (so that a refusal is shown
# beside its field): each is text, bounded.
Text = Annotated[str | None, Query(max_length=200)]
From = Annotated[str | None, Query(alias="from", max_length=200)]

LATEST = 10  # entries the overview lists


def checkpoint_facts(note: str, log_key_name: str) -> dict[str, Any]:
    """What a signed checkpoint says, for people: origin, size, root, and who signed it
    (the log, and each witness with the time of its cosignature)."""
    text, signatures = split_note(note)
    checkpoint = Checkpoint.parse(text)
    signers = []
    for name, payload in signatures:
        witness = len(payload) == 4 + 8 + 64  # cosignature/v1: key ID, time, signature
        signers.append({
            "name": name, "key_id": payload[:4].hex(), "log": name == log_key_name,
            "cosigned_at": (datetime.fromtimestamp(int.from_bytes(payload[4:12]), UTC)
                            .strftime("%Y-%m-%dT%H:%M:%SZ") if witness else None)})
    return {"note": note, "origin": checkpoint.origin, "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(), "signers": signers}


@pages.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    """The log at a glance: its networks, latest entries and signed checkpoint."""
    last = await queries.last_position(request)
    found = await queries.networks(request, last)
    networks = []
    for network in found:
        members = await queries.members(request, network["code"], min_position=last)
        networks.append({**network, "members": len(members.rows)})
    latest = await queries.history(request, history_model.Query(
        after=max(last - LATEST, 0), limit=LATEST), min_position=last)
    note = await queries.signed_checkpoint(request)
    return render(request, "overview.html", section="overview", networks=networks,
                  latest=list(reversed(latest.entries)), last=last,
                  checkpoint=checkpoint_facts(note, request.app.state.checkpoints.signer.name),
                  **await queries.counts(request, last))


TYPES = tuple(CATALOGUE)


@pages.get("/history", response_class=HTMLResponse)
async def history_page(
    request: Request, network: Text = None, state: Text = None, conference: Text = None,
    declaration: Text = None, instrument: Text = None,
    type_: Annotated[str | None, Query(alias="type")] = None,
    date_from: From = None, to: Text = None, order: Text = None, after: Text = None,
    limit: Text = None, as_of: Text = None,
) -> Response:
    """The decisions, filtered, with retractions and back-dated entries marked."""
    form = Form(network=network, state=state, conference=conference, declaration=declaration,
                instrument=instrument, type=type_, **{"from": date_from}, to=to, order=order,
                after=after, limit=limit, as_of=as_of)
    filters = {name: form.code(name)
               for name in ("network", "conference", "declaration", "instrument")}
    chosen_state = form.state("state")
    chosen_type = form.value("type")
    if chosen_type is not None and chosen_type not in CATALOGUE:
        form.errors["type"] = f"{chosen_type!r} is not an event type"
        chosen_type = None
    day_from, day_to = form.date("from"), form.date("to")
    chosen_order = form.value("order") or "position"
    if chosen_order not in ("position", "effective_date"):
        form.errors["order"] = "position or effective_date"
        chosen_order = "position"
    count = form.check("limit", _limit) or "100"
    page: queries.HistoryPage | None = None
    if not form.errors:
        try:
            queries.check_dates(day_from, day_to)
            cursor = history_cursor(form.value("after"), chosen_order)
            query = history_model.Query(
                filters["network"], chosen_state, filters["conference"],
                filters["declaration"], (chosen_type,) if chosen_type else (), day_from,
                day_to, chosen_order, cursor, int(count), filters["instrument"])
            page = await queries.history(request, query, form.value("as_of"), whole_log=True)
        except ProblemError as e:
            form.refuse(e)
    undoing: dict[int, dict[str, Any]] = {}
    if page is not None:
        undoing = await queries.history_at(
            request, [e["retracted_by"] for e in page.entries if e["retracted_by"]])
    asked = {name: value for name, value in form.given.items() if value and name != "after"}
    return render(
        request, "history.html", status=form.status, section="history",
        form=form, page=page, table_rows=entry_rows(page.entries, undoing) if page else "",
        types=TYPES,
        network_codes=await queries.network_codes(request),
        next_href=(f"/history?{urlencode({**asked, 'after': page.next_after})}"
                   if page and page.next_after else None),
        csv_href=f"/v1/history?{urlencode({**asked, **_csv_after(form), 'format': 'csv'})}")


def _csv_after(form: Form) -> dict[str, str]:
    after = form.value("after")
    return {"after": after} if after else {}


def _limit(value: str) -> str:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1_000:
        raise ValueError(f"{value!r} is not a number from 1 to 1,000")
    return value


def history_cursor(after: str | None, order: str) -> tuple[str, int] | int:
    """The history's cursor `after` names; a ProblemError naming `after` if it is none."""
    if after is None:
        return 0
    head, comma, tail = after.rpartition(",")
    if comma and order == "effective_date" and tail.isascii() and tail.isdigit() \
            and len(tail) <= 19:
        try:
            return check_iso_date(head), int(tail)
        except ValueError:
            pass
    elif after.isascii() and after.isdigit() and len(after) <= 19:
        return int(after)
    raise queries.invalid(f"after: {after!r} is not a cursor of this order",
                          ("after", "not a cursor of this order"))


@pages.get("/changes", response_class=HTMLResponse)
async def changes_page(request: Request, network: Text = None, date_from: From = None,
                       to: Text = None) -> Response:
    """What changed between two states of the record: the entries recorded in between,
    and, for a network, whose membership changed on which dates."""
    form = Form(network=network, to=to, **{"from": date_from})
    code = form.code("network")
    last = await queries.last_position(request)
    end = await form.position(request, "to")
    start = await form.position(request, "from")
    end = last if end is None else end
    start = max(end - LATEST, 0) if start is None else start
    found = None
    if not form.errors:
        try:
            found = await queries.changes(request, start, end, code)
        except ProblemError as e:
            if e.status == 404 and code is not None:
                form.errors["network"] = e.detail
            else:
                form.refuse(e, {"from_position": "from", "to_position": "to"})
    bounds = await queries.history_at(request, [
        p for p in (found["from_position"], found["to_position"]) if p]) if found else {}
    asked: dict[str, Any] = {"from_position": start, "to_position": end, "format": "csv",
                             **({"network": code} if code else {})}
    return render(request, "changes.html", status=form.status, section="changes",
                  form=form, found=found, start=start, end=end, last=last, bounds=bounds,
                  network_codes=await queries.network_codes(request),
                  csv_entries=f"/v1/changes?{urlencode(asked)}",
                  csv_membership=f"/v1/changes?{urlencode({**asked, 'table': 'membership'})}")


@pages.get("/static/{name}")
async def static(request: Request, name: Annotated[str, Path(max_length=64)]) -> Response:
    """One of the console's scripts and styles."""
    if name not in assets():
        raise ProblemError(404, "no-such-asset", "Not found",
                           f"there is no resource at {request.url.path}")
    return asset_response(request, name)
