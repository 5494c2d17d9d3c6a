"""The console's drawing and wording, without a server: charts, dates, delays."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from concord.api.http.console.charts import Span, counts_chart, span_of, timeline
from concord.api.http.console.render import day, delay, fingerprint
from concord.api.http.queries import role_changes
from concord.projections.membership import intervals, series
from tests.api.console import parse_page


def test_a_counts_chart_stacks_the_roles_from_each_change_to_the_next() -> None:
    points = [{"date": "2023-09-12", "member": 18, "observer": 0, "total": 18},
              {"date": "2024-02-01", "member": 18, "observer": 1, "total": 19}]
    svg = parse_page(counts_chart(points, ("member", "observer"), Span(
        date(2023, 1, 1), date(2025, 1, 1)), "t"))
    bars = [(r.attrs["data-role"], r.attrs["data-from"], r.attrs["data-to"],
             r.attrs["data-count"]) for r in svg.all("rect")]
    assert bars == [("member", "2023-09-12", "2024-02-01", "18"),
                    ("member", "2024-02-01", "", "18"), ("observer", "2024-02-01", "", "1")]
    titles = [r.one("title").text for r in svg.all("rect")]
    assert titles[0] == "18 members from 12 Sep 2023 to 31 Jan 2024"
    assert titles[2] == "1 observer from 1 Feb 2024 on"
    # The observer's bar sits on the members' one.
    member, observer = list(svg.all("rect"))[1:]
    assert float(observer.attrs["y"]) + float(observer.attrs["height"]) == float(
        member.attrs["y"])


def test_a_timeline_has_a_row_per_state_in_order_of_joining_with_names_escaped() -> None:
    rows: list[dict[str, Any]] = [
        {"state": "ZZZ", "name": "<script>", "role": "member", "valid_from": "2020-01-01",
         "valid_to": "2021-01-01"},
        {"state": "AAA", "name": "Later", "role": "observer", "valid_from": "2022-01-01",
         "valid_to": None}]
    drawn = timeline(rows, span_of(rows, date(2023, 1, 1)), "t")
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    svg = parse_page(drawn)
    assert [g.attrs["data-state"] for g in svg.all("g")] == ["ZZZ", "AAA"]
    bars = [(p.attrs["data-role"], p.attrs["data-intervals"]) for p in svg.all("path")]
    assert bars == [("member", "2020-01-01/2021-01-01"), ("observer", "2022-01-01/")]
    assert [p.one("title").text for p in svg.all("path")] == [
        "<script>, member: from 1 Jan 2020 to 31 Dec 2020",
        "Later, observer: from 1 Jan 2022, and still"]


def test_year_ticks_stay_few_whatever_the_span() -> None:
    for years in (0, 1, 3, 30, 300, 3000):
        span = Span(date(1000, 1, 1), date(1000 + years, 6, 1))
        ticks = parse_page(counts_chart([], ("member",), span, "t")).all("text")
        assert 0 < len([t for t in ticks if t.attrs.get("text-anchor") == "middle"]) <= 13


def test_dates_and_delays_read_as_people_write_them() -> None:
    assert day("2023-09-12") == "12 Sep 2023"
    assert day("2025-10") == "Oct 2025"
    assert day("2025") == "2025"
    assert delay("2022-09-06", "2026-11-28T10:15:03.120Z") == "4 years, 2 months"
    assert delay("2026-11-01", "2026-11-28T10:15:03.120Z") == "27 days"
    assert delay("2025-11-28", "2026-11-28T00:00:00.000Z") == "1 year"
    assert delay("2026-11-28", "2026-11-28T10:15:03.120Z") == ""
    assert delay("2026-11-29", "2026-11-28T23:59:59.000Z") == ""


def test_a_fingerprint_is_the_sha256_of_the_key_in_groups_of_four() -> None:
    key = "concord.localhost/log+57164c3a+AeCKT9LMRoMMbKoXRXDEk5yvrGRtUTXLbk70KHzvne+w"
    groups = fingerprint(key).split(" ")
    assert len(groups) == 16 and all(len(g) == 4 for g in groups)
    assert "".join(groups) == hashlib.sha256(key.encode()).hexdigest()


ROLES = st.sampled_from(["member", "observer", None])
POINTS = st.lists(st.tuples(st.integers(0, 40), ROLES), max_size=8)


def _intervals(points: list[tuple[int, str | None]]) -> list[dict[str, str | None]]:
    start = date(2020, 1, 1)
    ordered = sorted(points, key=lambda p: p[0])
    return [{"role": role, "valid_from": begin, "valid_to": end}
            for role, begin, end in intervals(
                [((start + timedelta(days=d)).isoformat(), r) for d, r in ordered])]


@given(POINTS, POINTS)
def test_role_changes_name_exactly_the_days_on_which_the_roles_differ(
    before: list[tuple[int, str | None]], after: list[tuple[int, str | None]]
) -> None:
    was, now = _intervals(before), _intervals(after)
    stretches = role_changes(was, now)

    def role(found: list[dict[str, str | None]], day: str) -> str | None:
        return next((str(i["role"]) for i in found if str(i["valid_from"]) <= day and (
            i["valid_to"] is None or day < str(i["valid_to"]))), None)

    for offset in range(-2, 45):
        on = (date(2020, 1, 1) + timedelta(days=offset)).isoformat()
        inside = [s for s in stretches if s["from"] <= on and (s["to"] is None
                                                                or on < s["to"])]
        differ = role(was, on) != role(now, on)
        assert len(inside) == int(differ), on
        if differ:
            assert (inside[0]["before"], inside[0]["after"]) == (role(was, on), role(now, on))
    # Adjacent stretches with the same roles are one.
    for first, second in zip(stretches, stretches[1:], strict=False):
        assert first["to"] != second["from"] or (first["before"], first["after"]) != (
            second["before"], second["after"])


@given(POINTS, st.integers(-5, 45), st.integers(-5, 45))
def test_a_series_from_a_date_starts_with_the_counts_standing_on_it(
    points: list[tuple[int, str | None]], start: int, end: int
) -> None:
    found = [{**i, "state": "S"} for i in _intervals(points)]
    whole = series(found)
    first = (date(2020, 1, 1) + timedelta(days=start)).isoformat()
    last = (date(2020, 1, 1) + timedelta(days=end)).isoformat()
    part = series(found, first, last)

    def standing(day: str) -> dict[str, int] | None:
        rows = [p for p in whole if p["date"] <= day]
        return rows[-1] if rows else None

    inside = [p for p in whole if first <= p["date"] <= last]
    if first > last:
        assert part == []
    elif inside and inside[0]["date"] == first or standing(first) is None:
        assert part == inside
    else:
        assert part == [{**standing(first), "date": first}, *inside]  # type: ignore[dict-item]
