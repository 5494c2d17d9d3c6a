"""The console's charts, drawn on the server as SVG, so that they show without JavaScript:
a network's counts by role over time, and each state's intervals as a timeline.

Every mark carries its figures as data attributes and a title in words: a reader hovering
it, a screen reader, and the browser tests all read the same numbers the drawing shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

WIDTH = 960
COUNTS_HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 28  # the plot's margins, in SVG units
LABELS = 210  # the timeline's column of state names
ROW = 22  # the timeline's row height
BAR = 14  # the height of a bar in a row


@dataclass(frozen=True)
class Span:
    """The dates a chart covers: from `start` to `end`, both drawn."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """How many days it covers, at least one."""
        return max((self.end - self.start).days, 1)


def span_of(intervals: Sequence[dict[str, Any]], until: date) -> Span:
    """The dates from the earliest interval's start to `until` (or the latest date an
    interval names, if later), with a little room on either side."""
    days = [date.fromisoformat(str(i["valid_from"])) for i in intervals]
    days += [date.fromisoformat(str(i["valid_to"])) for i in intervals if i["valid_to"]]
    if not days:
        return Span(until - timedelta(days=365), until)
    first, last = min(days), max(max(days), until)
    room = timedelta(days=max((last - first).days // 50, 15))
    return Span(first - room, last + room)


def _x(span: Span, day: date, left: float, right: float) -> float:
    return left + (day - span.start).days / span.days * (right - left)


def _year_ticks(span: Span) -> list[date]:
    """1 January of every year, every 2nd, 5th... so that at most ten are drawn; months
    when the span is shorter than two years."""
    years = span.end.year - span.start.year
    if years < 2:
        step = 1 if span.days < 200 else 3
        found, month = [], date(span.start.year, span.start.month, 1)
        while month <= span.end:
            if month >= span.start and (month.month - 1) % step == 0:
                found.append(month)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        return found
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if years / s <= 10)
    first = (span.start.year // step + 1) * step
    return [date(y, 1, 1) for y in range(first, span.end.year + 1, step)]


def _tick_label(tick: date, monthly: bool) -> str:
    return tick.strftime("%b %Y") if monthly else str(tick.year)


def _nice_max(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k that is at least `value` (at least 1)."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _plural(count: int, role: str) -> str:
    return f"{count} {role}{'s' * (count != 1)}"


def _readable(day: date) -> str:
    return day.strftime("%-d %b %Y")


@lru_cache(maxsize=4096)
def _words(day: str, shift: int = 0) -> str:
    """'12 Sep 2023' for '2023-09-12', `shift` days later."""
    return _readable(date.fromisoformat(day) + timedelta(days=shift))


def counts_chart(points: Sequence[dict[str, Any]], roles: Sequence[str], span: Span,
                 labelled_by: str) -> Markup:
    """The counts by role as stacked steps: from each point's date to the next one's (the
    last to the span's end), a bar per role, the first role at the bottom."""
    left, right = LEFT, WIDTH - RIGHT
    top, bottom = TOP, COUNTS_HEIGHT - BOTTOM
    peak = _nice_max(max((int(p["total"]) for p in points), default=1))

    def y(count: int) -> float:
        return bottom - count / peak * (bottom - top)

    out = [f'<svg class="chart counts" viewBox="0 0 {WIDTH} {COUNTS_HEIGHT}" role="img" '
           f'aria-labelledby="{labelled_by}" focusable="false">']
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        count = round(peak * fraction)
        if fraction and count == round(peak * (fraction - 0.25)):
            continue
        out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y(count):.1f}" '
                   f'y2="{y(count):.1f}"/><text class="tick" x="{left - 6}" '
                   f'y="{y(count) + 4:.1f}" text-anchor="end">{count}</text>')
    ticks = _year_ticks(span)
    monthly = span.end.year - span.start.year < 2
    for tick in ticks:
        x = _x(span, tick, left, right)
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" '
                   f'y2="{bottom + 4}"/><text class="tick" x="{x:.1f}" y="{bottom + 18}" '
                   f'text-anchor="middle">{_tick_label(tick, monthly)}</text>')
    for i, point in enumerate(points):
        since = date.fromisoformat(str(point["date"]))
        until = date.fromisoformat(str(points[i + 1]["date"])) if i + 1 < len(points) else None
        x1 = _x(span, since, left, right)
        x2 = _x(span, until or span.end, left, right)
        base = 0
        for role in map(escape, roles):
            count = int(point[role])
            if count <= 0:
                continue
            to_text = f" to {_readable(until - timedelta(days=1))}" if until else " on"
            out.append(
                f'<rect class="role-{role}" x="{x1:.2f}" y="{y(base + count):.2f}" '
                f'width="{max(x2 - x1, 0.5):.2f}" height="{y(base) - y(base + count):.2f}" '
                f'data-role="{role}" data-from="{since.isoformat()}" '
                f'data-to="{until.isoformat() if until else ""}" data-count="{count}">'
                f'<title>{_plural(count, role)} from {_readable(since)}{to_text}</title></rect>')
            base += count
    out.append(f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    out.append("</svg>")
    return Markup("".join(out))


def timeline(intervals: Sequence[dict[str, Any]], span: Span, labelled_by: str) -> Markup:
    """A row per state (in order of its first interval), its intervals as bars coloured by
    role; an open interval runs to the span's end. Each role's bars in a row are one shape,
    whose `data-intervals` lists them ('from/to', to empty while it lasts): a network with
    decades of changes stays a page a browser draws at once."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for interval in intervals:
        rows.setdefault(str(interval["state"]), []).append(interval)
    order = sorted(rows, key=lambda s: (min(str(i["valid_from"]) for i in rows[s]),
                                        str(rows[s][0]["name"]), s))
    left, right = LABELS, WIDTH - RIGHT
    height = TOP + len(order) * ROW + BOTTOM
    bottom = height - BOTTOM
    out = [f'<svg class="chart timeline" viewBox="0 0 {WIDTH} {height}" role="img" '
           f'aria-labelledby="{labelled_by}" focusable="false">']
    monthly = span.end.year - span.start.year < 2
    for tick in _year_ticks(span):
        x = _x(span, tick, left, right)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">'
                   f'{_tick_label(tick, monthly)}</text>')
    # A log of decades repeats its dates: each is placed (and read) once.
    placed: dict[str, float] = {}
    scale, first = (right - left) / span.days, span.start.toordinal()

    def x_of(day: str) -> float:
        found = placed.get(day)
        if found is None:
            found = placed[day] = left + (date.fromisoformat(day).toordinal() - first) * scale
        return found

    end_x = _x(span, span.end, left, right)
    for number, state in enumerate(order):
        top = TOP + number * ROW + (ROW - BAR) / 2
        plain = str(rows[state][0]["name"])
        name, label = escape(plain), escape(plain if len(plain) <= 28 else plain[:27] + "…")
        out.append(f'<g class="row" data-state="{escape(state)}"><text class="label" '
                   f'x="{left - 8}" y="{top + BAR - 3:.1f}" text-anchor="end">{label}'
                   f'<title>{name} ({escape(state)})</title></text>')
        by_role: dict[str, list[dict[str, Any]]] = {}
        for interval in rows[state]:
            by_role.setdefault(str(interval["role"]), []).append(interval)
        for role, found in by_role.items():
            shape, listed = [], []
            for interval in found:
                since, until = interval["valid_from"], interval["valid_to"] or ""
                x1 = x_of(since)
                width = max((x_of(until) if until else end_x) - x1, 1.5)
                shape.append(f"M{x1:.1f} {top:.1f}h{width:.1f}v{BAR}H{x1:.1f}z")
                listed.append(f"{since}/{until}")
            words = [f"from {_words(str(i['valid_from']))}" + (
                f" to {_words(str(i['valid_to']), -1)}" if i["valid_to"] else ", and still")
                for i in found[:6]]
            more = f"; {len(found) - 6} more in the table below" if len(found) > 6 else ""
            role_text = escape(role)
            out.append(f'<path class="role-{role_text}" d="{"".join(shape)}" '
                       f'data-role="{role_text}" data-intervals="{" ".join(listed)}"><title>'
                       f'{name}, {role_text}: {"; ".join(words)}{more}</title></path>')
        out.append("</g>")
    out.append(f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    out.append("</svg>")
    return Markup("".join(out))
