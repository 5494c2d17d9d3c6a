"""Change points over valid time, and the rule every timeline of Concord obeys.

A timeline holds one key's change points (a state in a network, a signatory of a
declaration, a delegation at a conference) ordered by effective date, then by the entry's
version in its stream (versions follow positions within a stream; a correction takes the
place of the entry it corrects). Each point sets the
key's value from its date on: a role, 'signed', or None (left, withdrawn). The rule: every
point is a real change, its value differing from the value just before it. A point that
breaks the rule is a "break"; an entry is refused if it would add a break anywhere in the
timeline, not only at its end.

Timelines are tuples, never changed in place, so an aggregate's snapshot shares them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

P = TypeVar("P")


class Change(NamedTuple):
    """One change point: from `day` on, the key's value is `value` (None: out). `order`
    places it among changes of the same day (the entry's version; for a correction, the
    corrected entry's, whose place it takes); `entry` is the version of the entry stating
    it."""

    day: str
    order: int
    value: str | None
    entry: int


Timeline = tuple[Change, ...]
EMPTY: Timeline = ()


def _order(change: Change) -> tuple[str, int]:
    return change.day, change.order


def added(timeline: Timeline, change: Change) -> Timeline:
    """The timeline with `change` in its place."""
    i = bisect_right(timeline, _order(change), key=_order)
    return (*timeline[:i], change, *timeline[i:])


def breaks(timeline: Timeline) -> list[tuple[Change, Change | None]]:
    """Every change that is no change, with the change before it (None if it is first, so
    that it leaves a key that was never in)."""
    found: list[tuple[Change, Change | None]] = []
    before: Change | None = None
    for change in timeline:
        if change.value == (before.value if before else None):
            found.append((change, before))
        before = change
    return found


def value_on(timeline: Timeline, day: str) -> str | None:
    """The key's value on `day`: that of its last change on or before it (None if none)."""
    i = bisect_right(timeline, day, key=lambda change: change.day)
    return timeline[i - 1].value if i else None


def differences(before: Timeline, after: Timeline
                ) -> list[tuple[str, str | None, str | None, str | None]]:
    """The stretches of dates on which two timelines of one key give different values:
    (from, to, value before, value after), `to` exclusive (None: open)."""
    days = sorted({change.day for change in before} | {change.day for change in after})
    found: list[tuple[str, str | None, str | None, str | None]] = []
    for i, day in enumerate(days):
        was, now = value_on(before, day), value_on(after, day)
        end = days[i + 1] if i + 1 < len(days) else None
        if was == now:
            continue
        if found and found[-1][1] == day and found[-1][2:] == (was, now):
            found[-1] = (found[-1][0], end, was, now)
        else:
            found.append((day, end, was, now))
    return found


def timeline_problems(
    timelines: Mapping[str, Timeline], keys: Iterable[str], floor: str,
    early: Callable[[str, Change], P], no_change: Callable[[str, Change, Change | None], P],
) -> dict[tuple[Any, ...], P]:
    """What breaks the rules in the timelines of `keys`: a first change into a value dated
    before `floor` (the founding, the adoption), and every change that is no change; keyed
    by what it is and the entry it is about."""
    found: dict[tuple[Any, ...], P] = {}
    for key in keys:
        timeline = timelines.get(key, EMPTY)
        if timeline and timeline[0].value is not None and timeline[0].day < floor:
            found["early", key, timeline[0].entry] = early(key, timeline[0])
        for subject, before in breaks(timeline):
            found["same", key, subject.entry] = no_change(key, subject, before)
    return found
