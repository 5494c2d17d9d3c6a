"""A network's page: its founding and statutes, its membership over time as the record
stood at any position or moment, and its members on any date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from fastapi.responses import HTMLResponse

from concord.api.http import queries
from concord.api.http.console.charts import counts_chart, span_of, timeline
from concord.api.http.console.page import Form, router
from concord.api.http.console.render import render
from concord.api.http.errors import ProblemError
from concord.domain.codes import CODE_PATTERN
from concord.projections.membership import roles, series

pages = router()

Text = Annotated[str | None, Query(max_length=200)]
SHOWN_INTERVALS = 500  # the intervals the page lists; the CSV has them all


@pages.get("/networks/{code}", response_class=HTMLResponse)
async def network_page(request: Request, code: str, on: Text = None,
                       as_of: Text = None) -> Response:
    """A network's facts, membership chart and timeline, and its members on a date, as the
    record stood at a position or a moment."""
    if not CODE_PATTERN.fullmatch(code):
        raise ProblemError(404, "no-such-network", "No such network",
                           f"{code!r} is not a network's code")
    # A page shows the log as it stands when asked: its read models caught up with it.
    last = await queries.last_position(request)
    network, _ = await queries.network(request, code, last)
    form = Form(on=on, as_of=as_of)
    day = form.date("on")
    try:
        members = await queries.members(request, code, day, form.value("as_of"), None, last)
    except ProblemError as e:
        if e.status == 404 and form.value("as_of") is not None:
            form.errors["as_of"] = (f"{network['code']} was not yet on record then: it was "
                                    f"established by entry {network['established_at']}")
        else:
            form.refuse(e)
        if form.value("as_of") is not None:
            raise
        # The record as it stands, beside the reason the one asked for cannot be shown.
        members = await queries.members(request, code, day, None, None, last)
    position = members.as_of
    _, intervals = await queries.intervals(request, code, str(position))
    at = (await queries.history_at(request, [position])).get(position)
    span = span_of(intervals, datetime.now(UTC).date())
    points = series(intervals)
    asked = {"as_of": str(position)}
    _, _, offices = await queries.offices(request, code, members.on, str(position))
    return render(
        request, "network.html", status=form.status, section="networks",
        network=network, form=form, members=members, offices=offices, position=position,
        last=last, at=at,
        intervals=intervals, shown_intervals=SHOWN_INTERVALS, points=points, roles=roles(),
        counts_svg=counts_chart(points, roles(), span, "counts-title"),
        timeline_svg=timeline(intervals, span, "timeline-title"),
        downloads=_csv_links(code, members, asked))


def _csv_links(code: str, members: queries.Members, asked: dict[str, Any]) -> dict[str, str]:
    base = f"/v1/networks/{code}"
    return {
        "members": f"{base}/members?{urlencode({'on': members.on, **asked, 'format': 'csv'})}",
        "intervals": f"{base}/intervals?{urlencode({**asked, 'format': 'csv'})}",
        "series": f"{base}/series?{urlencode({**asked, 'format': 'csv'})}",
    }
