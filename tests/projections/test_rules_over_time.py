"""Rules over time, against a naive oracle: random joins, leaves, suspensions, lifts,
assumptions and relinquishments of an office, retractions and corrections, recorded out of
date order, one by one or in batches. Every accept/refuse decision of the writer, every
members answer (on every date, as of every position, with who was suspended) and every
offices answer must equal what a naive replay of the record says."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from concord.domain.errors import ConcordError, RuleViolation
from concord.log.application import CoordinationLog
from concord.projections.membership import Membership, members
from concord.projections.networks import Networks, offices
from concord.projections.store import ProjectionStore
from tests.backends import BACKENDS, example_backend
from tests.conftest import RECORDER
from tests.projections.conftest import catch_up

FOUNDED = "2001-01-02"
DAYS = [f"2001-01-0{d}" for d in range(1, 10)]
STATES = ["ARG", "BRA", "URY"]
# None: a leave; SUSPEND and LIFT: a suspension and its lift, change points of their own.
SUSPEND, LIFT = "suspend", "lift"
ROLES = ["member", "observer", "member", None, None, SUSPEND, SUSPEND, LIFT]


OFFICE = "presidency"
ENDS = [None, None, "2001-01-04", "2001-01-06", "2001-01-08"]


def kind(role: str | None) -> str:
    """The type of entry a change is: a join, a leave, a suspension or a lift."""
    return {None: "leave", SUSPEND: SUSPEND, LIFT: LIFT}.get(role, "join")


@dataclass
class Record:
    """The oracle's record: every entry accepted, by position."""

    entries: dict[int, dict[str, Any]] = field(default_factory=dict)

    def points(self, as_of: int) -> dict[str, list[Any]]:
        """Each state's change points as the record stood at `as_of`."""
        return self.replay(as_of)[0]

    def replay(self, as_of: int) -> tuple[dict[str, list[Any]], bool]:
        """Each state's change points as the record stood at `as_of`, the withdrawals that
        revocations revoked taken out, and whether every revocation found one to revoke
        (in date order, each the withdrawal pending on its date: notice on or before it,
        effect after it; of several, the first to take effect)."""
        seen = {p: e for p, e in self.entries.items() if p <= as_of}
        gone = {e["target"] for e in seen.values() if "target" in e}
        found: dict[str, list[Any]] = {}
        notices: dict[tuple[str, int], str] = {}
        revocations = []
        for position, e in sorted(seen.items()):
            if position in gone or "state" not in e or "assumed" in e:
                continue
            if "revoke" in e:
                revocations.append((e["day"], position, e["state"]))
                continue
            # A correction takes the place of the entry it corrects among same-day changes.
            slot = place(seen, position)
            found.setdefault(e["state"], []).append((e["day"], slot, e["role"]))
            if e.get("notice"):
                notices[e["state"], slot] = e["notice"]
        every = True
        for day, _, state in sorted(revocations):
            changes = found.setdefault(state, [])
            pending = sorted(c for c in changes if c[2] is None
                             and c[0] > day and notices.get((state, c[1]), "9999") <= day)
            if pending:
                changes.remove(pending[0])
            else:
                every = False
        for changes in found.values():
            changes.sort()
        return found, every

    def office_points(self, as_of: int) -> list[tuple[str, int, str, str | None, bool]]:
        """The office's assumptions and relinquishments as the record stood at `as_of`:
        (day, position, state, term end, whether an assumption), in date order."""
        seen = {p: e for p, e in self.entries.items() if p <= as_of}
        gone = {e["target"] for e in seen.values() if "target" in e}
        return sorted((e["day"], position, e["state"], e["ends"], e["assumed"])
                      for position, e in seen.items() if "assumed" in e and position not in gone)


def place(entries: dict[int, dict[str, Any]], position: int) -> int:
    """Where the fact recorded at `position` stands among same-day facts: its position, or
    for a correction, the place of the entry it corrects (down a chain of corrections)."""
    while "target" in entries.get(position, {}):
        position = entries[position]["target"]
    return position


def terms(points: dict[str, list[Any]], office: list[Any]) -> list[tuple[str, str, Any]] | None:
    """The office's terms (holder, from, to) by replaying its points; None if one breaks a
    rule: a holder while the term before runs, a holder that is not a member then, a
    relinquishment by anyone but the holder in its term."""
    found: list[tuple[str, str, Any]] = []
    holder: tuple[str, str | None] | None = None  # state, end of term
    for day, position, state, ends, assumed in office:
        if holder is not None and holder[1] is not None and holder[1] <= day:
            holder = None
        if assumed:
            roles = [role for d, at, role in points.get(state, [])
                     if (d, at) <= (day, position) and role not in (SUSPEND, LIFT)]
            if holder is not None or not roles or roles[-1] != "member":
                return None
            holder = (state, ends)
            found.append((state, day, ends))
        else:
            if holder is None or holder[0] != state:
                return None
            holder = None
            end = found[-1][2]
            found[-1] = (state, found[-1][1], day if end is None or day < end else end)
    return found


def valid(points: dict[str, list[Any]]) -> bool:
    """Each change is a real change, nobody joins before the founding, only a member not
    suspended is suspended, and only a suspended member is lifted (leaving, or becoming an
    observer, ends a suspension)."""
    for changes in points.values():
        before, suspended = None, False
        for day, _, role in changes:
            if role == SUSPEND:
                if before != "member" or suspended:
                    return False
                suspended = True
            elif role == LIFT:
                if not suspended:
                    return False
                suspended = False
            else:
                if role == before or (before is None and role is not None and day < FOUNDED):
                    return False
                before = role
                suspended = suspended and role == "member"
    return True


def members_on(points: dict[str, list[Any]], on: str) -> dict[str, tuple[str, str, bool]]:
    """Who is in, in which role and since when, and whether suspended, on `on`."""
    found = {}
    for state, changes in points.items():
        before = [c for c in changes if c[0] <= on and c[2] not in (SUSPEND, LIFT)]
        if not before or before[-1][2] is None:
            continue
        role, since = before[-1][2], before[-1][0]
        # As of a position inside a batch, the record may hold a change that the batch's
        # later entries make real: the role holds since the first of a run.
        for day, _, earlier in reversed(before[:-1]):
            if earlier != role:
                break
            since = day
        found[state] = (role, since, suspended_on(changes, on))
    return found


def suspended_on(changes: list[Any], on: str) -> bool:
    """Whether a suspension is in force on `on`: replayed up to that date."""
    role, suspended = None, False
    for day, _, value in changes:
        if day > on:
            break
        if value == SUSPEND:
            suspended = suspended or role == "member"
        elif value == LIFT:
            suspended = False
        else:
            role = value
            suspended = suspended and role == "member"
    return suspended


def change(state: str, role: str | None, day: str) -> dict[str, Any]:
    if role in (SUSPEND, LIFT):
        return {"type": "MembershipSuspended" if role == SUSPEND else "SuspensionLifted",
                "data": {"network": "N", "state": state}, "effective_date": day}
    if role is None:
        return {"type": "StateLeftNetwork", "data": {"network": "N", "state": state},
                "effective_date": day}
    return {"type": "StateJoinedNetwork",
            "data": {"network": "N", "state": state, "role": role}, "effective_date": day}


STEP = st.one_of(
    st.tuples(st.just("change"), st.sampled_from(STATES), st.sampled_from(ROLES),
              st.sampled_from(DAYS)),
    st.tuples(st.just("assume"), st.sampled_from(STATES), st.sampled_from(DAYS),
              st.sampled_from(ENDS)),
    st.tuples(st.just("relinquish"), st.sampled_from(STATES), st.sampled_from(DAYS)),
    st.tuples(st.just("notice"), st.sampled_from(STATES), st.sampled_from(DAYS),
              st.sampled_from(DAYS)),
    st.tuples(st.just("revoke"), st.sampled_from(STATES), st.sampled_from(DAYS)),
    st.tuples(st.just("retract"), st.integers(2, 30)),
    st.tuples(st.just("correct"), st.integers(2, 30), st.sampled_from(STATES),
              st.sampled_from(ROLES), st.sampled_from(DAYS)),
)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(STEP, st.lists(STEP, min_size=2, max_size=3)),
                      min_size=10, max_size=40))
# A plain leave is not revocable; a revocation whose withdrawal is retracted revokes the
# next one pending instead.
@example(steps=[("change", "ARG", "member", "2001-01-03"), ("change", "ARG", None, "2001-01-06"),
                ("revoke", "ARG", "2001-01-04")])
@example(steps=[("change", "ARG", "member", "2001-01-03"),
                ("notice", "ARG", "2001-01-05", "2001-01-03"),
                ("change", "ARG", "observer", "2001-01-06"),
                ("notice", "ARG", "2001-01-08", "2001-01-03"), ("revoke", "ARG", "2001-01-04"),
                ("retract", 3)])
# A correction of a correction stands where the entry first corrected stood: before the
# same-day leave.
@example(steps=[("change", "ARG", "member", "2001-01-03"), ("change", "ARG", None, "2001-01-03"),
                ("correct", 2, "ARG", "member", "2001-01-03"),
                ("correct", 4, "ARG", "member", "2001-01-03")])
@pytest.mark.parametrize("backend_name", BACKENDS)
def test_decisions_and_members_equal_a_naive_replay(
    tmp_path_factory: pytest.TempPathFactory, backend_name: str, steps: list[Any]
) -> None:
    with example_log(tmp_path_factory, backend_name) as (log, store):
        check(log, store, steps)


@contextmanager
def example_log(tmp_path_factory: pytest.TempPathFactory, backend_name: str
                ) -> Iterator[tuple[CoordinationLog, ProjectionStore]]:
    """A fresh log and its read models on `backend_name`, for one Hypothesis example."""
    path = Path(tmp_path_factory.mktemp("rules")) / "log.db"
    with ExitStack() as stack:
        backend = example_backend(backend_name, path, stack)
        log = stack.enter_context(_closing(CoordinationLog(backend.log_env())))
        store = ProjectionStore(backend.database())
        stack.callback(store.close)
        yield log, store


def check(log: CoordinationLog, store: ProjectionStore, steps: list[Any]) -> None:
    record = Record()
    log.submit({"type": "NetworkEstablished", "data": {"network": "N", "name": "N"},
                "effective_date": FOUNDED}, recorded_by=RECORDER)
    record.entries[1] = {"founding": True}
    for step in steps:
        batch = step if isinstance(step, list) else [step]
        # Check the writer decides as the oracle does: a batch as a whole.
        trial = Record(dict(record.entries))
        submissions: list[dict[str, Any]] = []
        ok = True
        for item in batch:
            position = log.last_position() + len(submissions) + 1
            submission, entry, fits = _try(trial, item, position, log.last_position())
            ok = ok and fits
            submissions.append(submission)
            if entry is not None:
                trial.entries[position] = entry
        ok = ok and trial.replay(10**9)[1] and valid(trial.points(10**9)) and terms(
            trial.points(10**9), trial.office_points(10**9)) is not None
        try:
            if isinstance(step, list):
                log.submit_batch(submissions, recorded_by=RECORDER)
            else:
                log.submit(submissions[0], recorded_by=RECORDER)
        except RuleViolation:
            assert not ok, (batch, record.entries)
            continue
        except ConcordError:
            assert not ok, (batch, record.entries)
            continue
        assert ok, (batch, record.entries)
        record = trial
    event(f"accepted {min((len(record.entries) - 1) // 4 * 4, 16)}+")
    # Check every members answer, on every date, as of every position.
    catch_up(log, store, Membership())
    catch_up(log, store, Networks())
    reader = store.reader()
    for as_of in range(1, log.last_position() + 1):
        points = record.points(as_of)
        held = terms(points, record.office_points(as_of))
        assert held is not None
        for on in DAYS:
            found = {m.state: (m.role, m.since, m.suspended)
                     for m in members(reader, "N", on, as_of)}
            assert found == members_on(points, on), (on, as_of, record.entries)
            expected = [{"office": OFFICE, "state": state, "since": start, "until": end}
                        for state, start, end in held
                        if start <= on and (end is None or on < end) and start != end]
            assert offices(reader, "N", on, as_of) == expected, (on, as_of, record.entries)


def _try(trial: Record, item: tuple[Any, ...], position: int, committed: int
         ) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
    """The submission for `item`, the entry the oracle records if it is accepted, and
    whether its target (for a retraction or correction) can be retracted at all."""
    if item[0] == "change":
        _, state, role, day = item
        return change(state, role, day), {"state": state, "role": role, "day": day}, True
    if item[0] == "assume":
        _, state, day, ends = item
        data = {"network": "N", "office": OFFICE, "state": state,
                **({"term_ends_on": ends} if ends else {})}
        return ({"type": "OfficeAssumed", "data": data, "effective_date": day},
                {"state": state, "day": day, "ends": ends, "assumed": True},
                ends is None or ends > day)
    if item[0] == "notice":
        _, state, day, notified = item
        return ({"type": "StateLeftNetwork", "effective_date": day,
                 "data": {"network": "N", "state": state, "notified_on": notified}},
                {"state": state, "role": None, "day": day, "notice": notified},
                notified <= day)
    if item[0] == "revoke":
        _, state, day = item
        return ({"type": "WithdrawalRevoked", "effective_date": day,
                 "data": {"network": "N", "state": state}},
                {"state": state, "day": day, "revoke": True, "role": "revoke"}, True)
    if item[0] == "relinquish":
        _, state, day = item
        return ({"type": "OfficeRelinquished", "effective_date": day,
                 "data": {"network": "N", "office": OFFICE, "state": state}},
                {"state": state, "day": day, "ends": None, "assumed": False}, True)
    target = item[1]
    # Only committed entries can be retracted or corrected (a batch's own have no position
    # yet), and only once.
    standing = target <= committed and _standing(trial, target)
    if item[0] == "retract":
        submission = {"type": "EntryRetracted", "data": {"position": target, "reason": "r"}}
        return submission, {"target": target}, standing
    _, _, state, role, day = item
    original = trial.entries.get(target, {})
    # A correction keeps the corrected entry's type (these replacements are never offices
    # or revocations).
    standing = standing and "assumed" not in original and "revoke" not in original
    # A correction keeps the corrected entry's type: a join stays a join, a leave a leave.
    if standing and kind(original.get("role")) != kind(role):
        role = original.get("role")
    replacement = change(state, role, day)
    submission = {"type": "EntryCorrected", "effective_date": day, "data": {
        "position": target, "reason": "r",
        "replacement": {"type": replacement["type"], "data": replacement["data"]}}}
    return submission, {"target": target, "state": state, "role": role, "day": day}, standing


def _standing(trial: Record, target: int) -> bool:
    entry = trial.entries.get(target)
    if entry is None or "state" not in entry:
        return False  # no such entry, the founding (not tried here), or a retraction
    return all(e.get("target") != target for e in trial.entries.values())


class _closing:
    def __init__(self, log: CoordinationLog) -> None:
        self.log = log

    def __enter__(self) -> CoordinationLog:
        return self.log

    def __exit__(self, *_: object) -> None:
        self.log.close()
