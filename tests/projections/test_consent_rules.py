"""The consent rules over time, against a naive oracle: random signatures, ratifications,
accessions and the other forms, entries into force (general and for one state), and
denunciations, retractions and corrections, recorded out of date order, one by one or in
batches. Every accept/refuse decision of the writer, and the parties, contracting states
and signatories on every date as of every position, must equal what a naive replay of the
record says."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from concord.domain.errors import ConcordError
from concord.log.application import CoordinationLog
from concord.projections.instruments import Instruments, instrument
from concord.projections.store import ProjectionStore
from tests.backends import BACKENDS
from tests.conftest import RECORDER
from tests.projections.conftest import catch_up
from tests.projections.test_rules_over_time import example_log, place

ADOPTED = "2001-01-02"
REQUIRED = 2
DAYS = [f"2001-01-0{d}" for d in range(1, 10)]
STATES = ["ARG", "BRA", "URY"]
# Weighted towards the steps that most often fit, so that examples grow long records.
FORMS = ["signature", "signature", "signature", "ratification", "ratification", "acceptance",
         "approval", "accession", "accession", "definitive-signature"]
GENERAL = None  # the state of a general entry into force


def submission(entry: dict[str, Any]) -> dict[str, Any]:
    """The submission recording an oracle's step."""
    step, day = entry["step"], entry["day"]
    data: dict[str, Any] = {"instrument": "T"}
    if entry["state"] is not None:
        data["state"] = entry["state"]
    if step == "in-force":
        return {"type": "InstrumentEnteredIntoForce", "data": data, "effective_date": day}
    if step == "denunciation":
        return {"type": "Denunciation", "data": {**data, "notified_on": entry["notice"]},
                "effective_date": day}
    return {"type": "ConsentExpressed", "data": {**data, "form": step}, "effective_date": day}


def replay(entries: dict[int, dict[str, Any]], as_of: int) -> list[tuple[Any, ...]]:
    """The steps as the record stood at `as_of`: (day, place, state, step, notice), in date
    order, a correction in the place of the entry it corrects (down a chain of
    corrections)."""
    seen = {p: e for p, e in entries.items() if p <= as_of}
    gone = {e["target"] for e in seen.values() if "target" in e}
    return sorted((e["day"], place(seen, p), e["state"], e["step"], e.get("notice"))
                  for p, e in seen.items() if p not in gone and "step" in e)


def valid(steps: list[tuple[Any, ...]]) -> bool:
    """Whether the steps keep every rule, replayed naively."""
    general = [day for day, _, state, _, _ in steps if state is GENERAL]
    if len(general) > 1 or (general and general[0] < ADOPTED):
        return False
    standing: dict[str, str] = {}  # state -> "signed", "bound" or "stated"
    bound_since: dict[str, str] = {}
    for day, _, state, step, notice in steps:
        if state is GENERAL:
            continue
        now = standing.get(state)
        if day < ADOPTED:
            return False
        if step == "signature" or step in ("accession", "definitive-signature"):
            if now is not None:
                return False
            standing[state] = "signed" if step == "signature" else "bound"
        elif step in ("ratification", "acceptance", "approval"):
            if now != "signed":
                return False
            standing[state] = "bound"
        elif step == "in-force":
            if now != "bound" or not general or day < general[0]:
                return False
            standing[state] = "stated"
        else:
            if now not in ("bound", "stated") or notice < bound_since[state]:
                return False
            del standing[state]
        if standing.get(state) == "bound" and now != "bound":
            bound_since[state] = day
    if general:
        bound = {state for state in STATES if bound_on(steps, state, general[0])}
        if len(bound) < REQUIRED:
            return False
    return True


def bound_on(steps: list[tuple[Any, ...]], state: str, on: str) -> str | None:
    """The day `state`'s consent to be bound in force on `on` was given, if any."""
    since = None
    for day, _, who, step, _ in steps:
        if who != state or day > on:
            continue
        if step in ("ratification", "acceptance", "approval", "accession",
                    "definitive-signature"):
            since = day
        elif step == "denunciation":
            since = None
    return since


def standings(steps: list[tuple[Any, ...]], on: str) -> dict[str, set[str]]:
    """Parties, contracting states and signatories on `on`, replayed naively."""
    general = next((day for day, _, state, _, _ in steps if state is GENERAL), None)
    found: dict[str, set[str]] = {"parties": set(), "contracting_states": set(),
                                  "signatories": set()}
    for state in STATES:
        mine = [(day, step) for day, _, who, step, _ in steps if who == state]
        since = bound_on(steps, state, on)
        if since is None:
            last = [step for day, step in mine if day <= on]
            if last and last[-1] == "signature":
                found["signatories"].add(state)
            continue
        # The consent's own date of entry into force may lie after `on`: look ahead to the
        # end of the consent.
        after = [(day, step) for day, step in mine if day >= since]
        stated = None
        for day, step in after[1:]:
            if step == "denunciation":
                break
            if step == "in-force":
                stated = day
        # No state is a party while the instrument is not in force (as of a position inside
        # a batch, a state's own date may be on record before the general one).
        in_force = max(stated or since, general) if general else None
        if in_force is not None and in_force <= on:
            found["parties"].add(state)
        else:
            found["contracting_states"].add(state)
    return found


CONSENT = st.tuples(st.just("consent"), st.sampled_from(STATES), st.sampled_from(FORMS),
                    st.sampled_from(DAYS))
STEP = st.one_of(
    CONSENT, CONSENT, CONSENT,
    st.tuples(st.just("general"), st.sampled_from(DAYS)),
    st.tuples(st.just("stated"), st.sampled_from(STATES), st.sampled_from(DAYS)),
    st.tuples(st.just("denounce"), st.sampled_from(STATES), st.sampled_from(DAYS),
              st.sampled_from(DAYS)),
    st.tuples(st.just("retract"), st.integers(2, 15)),
    st.tuples(st.just("correct"), st.integers(2, 15), st.sampled_from(STATES),
              st.sampled_from(FORMS), st.sampled_from(DAYS)),
)


def _entry(item: tuple[Any, ...]) -> tuple[dict[str, Any], bool]:
    """The oracle's entry for a step, and whether it is well formed."""
    if item[0] == "consent":
        _, state, form, day = item
        return {"state": state, "step": form, "day": day}, True
    if item[0] == "general":
        return {"state": GENERAL, "step": "in-force", "day": item[1]}, True
    if item[0] == "stated":
        return {"state": item[1], "step": "in-force", "day": item[2]}, True
    _, state, day, notice = item
    return {"state": state, "step": "denunciation", "day": day, "notice": notice}, notice <= day


@st.composite
def scripts(draw: st.DrawFn) -> list[Any]:
    """Steps to record: for each state a plausible course (a signature and its ratification,
    or an accession; perhaps its own date of entry into force, perhaps a denunciation), a
    general entry into force, and random steps, retractions and corrections, all mixed
    (a state's course keeps its order of recording), some in batches."""
    courses: list[list[Any]] = []
    for state in STATES:
        days = sorted(draw(st.lists(st.sampled_from(DAYS[1:]), min_size=3, max_size=3)))
        course: list[tuple[str, ...]]
        if draw(st.booleans()):
            course = [("consent", state, "signature", days[0]),
                      ("consent", state, draw(st.sampled_from(FORMS[3:7])), days[1])]
        else:
            course = [("consent", state, draw(st.sampled_from(FORMS[7:])), days[0])]
        if draw(st.booleans()):
            course.append(("stated", state, days[2]))
        if draw(st.booleans()):
            course.append(("denounce", state, days[2], days[1]))
        courses.append(course)
    courses.append([("general", draw(st.sampled_from(DAYS)))])
    noise = draw(st.lists(STEP, max_size=15))
    tags = [i for i, course in enumerate(courses) for _ in course] + [-1] * len(noise)
    order = draw(st.permutations(tags))
    taken = [iter(course) for course in courses]
    mixed = [next(taken[tag]) if tag >= 0 else noise.pop() for tag in order]
    steps: list[Any] = []
    while mixed:
        size = draw(st.sampled_from([1, 1, 1, 2, 3]))
        batch, mixed = mixed[:size], mixed[size:]
        steps.append(batch if len(batch) > 1 else batch[0])
    return steps


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.one_of(scripts(), st.lists(st.one_of(STEP, st.lists(STEP, min_size=2,
                                                                    max_size=3)),
                                             min_size=10, max_size=30)))
# In force with two consents; a retraction of one of them is refused; a late denunciation
# before the entry into force is refused; a state's own date, then a denunciation.
@example(steps=[("consent", "ARG", "signature", "2001-01-02"),
                ("consent", "ARG", "ratification", "2001-01-03"),
                ("consent", "BRA", "accession", "2001-01-04"), ("general", "2001-01-05"),
                ("retract", 4), ("denounce", "BRA", "2001-01-05", "2001-01-04"),
                ("consent", "URY", "definitive-signature", "2001-01-06"),
                ("stated", "URY", "2001-01-08"), ("denounce", "URY", "2001-01-09",
                                                  "2001-01-07"),
                ("correct", 8, "URY", "signature", "2001-01-07")])
# A correction of a correction stands where the entry first corrected stood: before the
# same-day ratification.
@example(steps=[("consent", "ARG", "signature", "2001-01-03"),
                ("consent", "ARG", "ratification", "2001-01-03"),
                ("correct", 2, "ARG", "signature", "2001-01-03"),
                ("correct", 4, "ARG", "signature", "2001-01-03")])
@pytest.mark.parametrize("backend_name", BACKENDS)
def test_decisions_and_standings_equal_a_naive_replay(
    tmp_path_factory: pytest.TempPathFactory, backend_name: str, steps: list[Any]
) -> None:
    with example_log(tmp_path_factory, backend_name) as (log, store):
        check(log, store, steps)


def check(log: CoordinationLog, store: ProjectionStore, steps: list[Any]) -> None:
    entries: dict[int, dict[str, Any]] = {1: {"adopted": True}}
    log.submit({"type": "InstrumentAdopted", "effective_date": ADOPTED, "data": {
        "instrument": "T", "title": "T", "kind": "agreement",
        "entry_into_force": {"consents_required": REQUIRED}}}, recorded_by=RECORDER)
    def record(step: Any) -> bool:
        """Submit a step (or a batch); check the writer decides as the oracle does."""
        nonlocal entries
        batch = step if isinstance(step, list) else [step]
        trial = dict(entries)
        submissions: list[dict[str, Any]] = []
        ok = True
        for item in batch:
            position = log.last_position() + len(submissions) + 1
            found, fits = _try(trial, item, log.last_position())
            ok = ok and fits
            submissions.append(found[0])
            if found[1] is not None:
                trial[position] = found[1]
        ok = ok and valid(replay(trial, 10**9))
        try:
            if isinstance(step, list):
                log.submit_batch(submissions, recorded_by=RECORDER)
            else:
                log.submit(submissions[0], recorded_by=RECORDER)
        except ConcordError:
            assert not ok, (batch, entries)
            return False
        assert ok, (batch, entries)
        entries = trial
        return True

    # What is refused is tried once more at the end, alone: recorded late, a step often
    # lands before entries recorded earlier.
    refused = [item for step in steps if not record(step)
               for item in (step if isinstance(step, list) else [step])]
    for item in refused:
        record(item)
    event(f"accepted {min((len(entries) - 1) // 4 * 4, 16)}+ entries")
    catch_up(log, store, Instruments())
    reader = store.reader()
    for as_of in range(1, log.last_position() + 1):
        steps_then = replay(entries, as_of)
        for on in DAYS:
            found = instrument(reader, "T", on, as_of)
            assert found is not None
            got = {name: {item["state"] for item in found[name]}
                   for name in ("parties", "contracting_states", "signatories")}
            assert got == standings(steps_then, on), (on, as_of, entries)


def _try(trial: dict[int, dict[str, Any]], item: tuple[Any, ...], committed: int
         ) -> tuple[tuple[dict[str, Any], dict[str, Any] | None], bool]:
    """The submission for `item` and the entry the oracle records if it is accepted, and
    whether it can be accepted at all, its rules over time aside."""
    if item[0] not in ("retract", "correct"):
        entry, fits = _entry(item)
        return (submission(entry), entry), fits
    target = item[1]
    original = trial.get(target)
    # Only committed entries can be retracted or corrected (a batch's own have no position
    # yet), and only once.
    standing = (target <= committed and original is not None and "step" in original
                and all(e.get("target") != target for e in trial.values()))
    if item[0] == "retract":
        return ({"type": "EntryRetracted", "data": {"position": target, "reason": "r"}},
                {"target": target}), standing
    _, _, state, form, day = item
    # A correction keeps the corrected entry's type.
    if original is None or "step" not in original:
        original = {"state": state, "step": form, "day": day}
    if original["step"] in ("in-force", "denunciation"):
        fixed = {**original, "day": day}
        if "notice" in fixed:
            fixed["notice"] = min(fixed["notice"], day)
        if fixed["state"] is not GENERAL:
            fixed["state"] = state
    else:
        fixed = {"state": state, "step": form, "day": day}
    replacement = submission(fixed)
    return ({"type": "EntryCorrected", "effective_date": day, "data": {
        "position": target, "reason": "r", "replacement": {
            "type": replacement["type"], "data": replacement["data"]}}},
        {**fixed, "target": target}), standing
