"""Change points over valid time, and the rule every timeline of Concord obeys.

A timeline holds one key's change points (a state in a network, a signatory of a
declaration, a delegation at a conference) ordered by effective date, then by the entry's
version in its stream (versions follow positions within a stream). Each point sets the
key's value from its date on: a role, 'signed', or None (left, withdrawn). The rule: every
point is a real change, its value differing from the value just before it. A point that
breaks the rule is a "break"; an entry is refused if it would add a break anywhere in the
timeline, not only at its end.

Timelines are tuples, never changed in place, so an aggregate's snapshot shares them.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple


class Change(NamedTuple):
    """One change point: from `day` on, the key's value is `value` (None: out)."""

    day: str
    version: int
    value: str | None


Timeline = tuple[Change, ...]
EMPTY: Timeline = ()


def _order(change: Change) -> tuple[str, int]:
    return change.day, change.version


def added(timeline: Timeline, change: Change) -> Timeline:
    """The timeline with `change` in its place."""
    i = bisect_right(timeline, _order(change), key=_order)
    return (*timeline[:i], change, *timeline[i:])


def removed(timeline: Timeline, version: int) -> Timeline:
    """The timeline without the change of `version` (unchanged if it has none)."""
    return tuple(c for c in timeline if c.version != version)


def value_on(timeline: Timeline, day: str) -> Change | None:
    """The change in force on `day` (the last one dated on or before it), if any."""
    i = bisect_right(timeline, (day, 2**63), key=_order)
    return timeline[i - 1] if i else None


def breaks(timeline: Timeline) -> dict[int, Change | None]:
    """Every change that is no change: its version -> the change before it (None if it is
    first, so that it leaves a key that was never in)."""
    found: dict[int, Change | None] = {}
    before: Change | None = None
    for change in timeline:
        if change.value == (before.value if before else None):
            found[change.version] = before
        before = change
    return found


def following(timeline: Timeline, version: int) -> Change | None:
    """The change after the one of `version`, if any."""
    for i, change in enumerate(timeline):
        if change.version == version:
            return timeline[i + 1] if i + 1 < len(timeline) else None
    return None
