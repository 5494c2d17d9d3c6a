"""Properties of the projections over random sequences of submissions."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concord.domain.envelope import Envelope
from concord.domain.errors import ConcordError
from concord.log.application import CoordinationLog
from concord.projections.membership import members
from concord.projections.rebuild import load
from concord.projections.registry import PROJECTIONS
from concord.projections.store import ProjectionStore
from tests.backends import BACKENDS, Backend, example_backend
from tests.conftest import RECORDER
from tests.domain.test_properties import SETUP, submissions
from tests.projections.conftest import catch_up

DAYS = ["2019-06-01", "2020-01-01", "2022-09-06", "2023-09-12", "2025-10-08", "2027-01-01"]


def revoked(envelopes: list[Envelope], as_of: int) -> set[int]:
    """The positions of the leaves that revocations took out, among the first `as_of`
    entries: each revocation, in date order, takes the leave pending on its date (notice
    on or before it, effect after it; of several, the first to take effect)."""
    seen = [e for e in envelopes if e["position"] <= as_of]
    retracted = {e["data"]["position"] for e in seen
                 if e["type"] in ("EntryRetracted", "EntryCorrected")}
    leaves: list[tuple[str, int, int, str, str, str]] = []  # day, slot, position, ...
    revocations: list[tuple[str, int, str, str]] = []  # day, slot, network, state
    for e in seen:
        if e["position"] in retracted:
            continue
        type_, data, slot = e["type"], e["data"], e["position"]
        if type_ == "EntryCorrected":
            type_, data, slot = (data["replacement"]["type"], data["replacement"]["data"],
                                 data["position"])
        if type_ == "StateLeftNetwork" and data.get("notified_on"):
            leaves.append((e["effective_date"], slot, e["position"], data["network"],
                           data["state"], data["notified_on"]))
        elif type_ == "WithdrawalRevoked":
            revocations.append((e["effective_date"], slot, data["network"], data["state"]))
    taken: set[int] = set()
    for day, _, network, state in sorted(revocations):
        pending = sorted(leaf for leaf in leaves if leaf[2] not in taken
                         and leaf[3:5] == (network, state) and leaf[5] <= day < leaf[0])
        if pending:
            taken.add(pending[0][2])
    return taken


def naive_members(envelopes: list[Envelope], network: str, on: str, as_of: int
                  ) -> dict[str, tuple[str, str]]:
    """Members by replaying the first `as_of` entries: the oracle."""
    seen = [e for e in envelopes if e["position"] <= as_of]
    retracted = {e["data"]["position"] for e in seen
                 if e["type"] in ("EntryRetracted", "EntryCorrected")}
    retracted |= revoked(envelopes, as_of)
    # A correction counts as the fact it puts in place, at its own position.
    seen = [{**e, "type": e["data"]["replacement"]["type"],
             "data": e["data"]["replacement"]["data"]} if e["type"] == "EntryCorrected" else e
            for e in seen]
    founding = [e for e in seen if e["type"] == "NetworkEstablished"
                and e["data"]["network"] == network]
    if not any(f["position"] not in retracted for f in founding):
        return {}
    points: dict[str, list[tuple[str, int, str | None]]] = {}
    for e in seen:
        if e["position"] in retracted or e["type"] not in ("StateJoinedNetwork",
                                                           "StateLeftNetwork"):
            continue
        if e["data"]["network"] == network:
            points.setdefault(e["data"]["state"], []).append(
                (e["effective_date"], e["position"], e["data"].get("role")))
    found = {}
    for state, changes in points.items():
        changes.sort()
        before = [c for c in changes if c[0] <= on]
        if not before or before[-1][2] is None:
            continue
        role = before[-1][2]
        since = before[-1][0]
        for day, _, earlier in reversed(before[:-1]):
            if earlier != role:
                break
            since = day
        found[state] = (role, since)
    return found


def naive_suspended(envelopes: list[Envelope], network: str, on: str, as_of: int) -> set[str]:
    """The members suspended on `on`, by replaying the first `as_of` entries of every
    state's joins, leaves, suspensions and lifts in date order (a correction in the place of
    the entry it corrects): the oracle."""
    seen = [e for e in envelopes if e["position"] <= as_of]
    retracted = {e["data"]["position"] for e in seen
                 if e["type"] in ("EntryRetracted", "EntryCorrected")}
    retracted |= revoked(envelopes, as_of)
    facts = [(e["effective_date"], e["data"]["position"], e["data"]["replacement"]["type"],
              e["data"]["replacement"]["data"]) if e["type"] == "EntryCorrected"
             else (e["effective_date"], e["position"], e["type"], e["data"])
             for e in seen if e["position"] not in retracted]
    if not any(type_ == "NetworkEstablished" and data["network"] == network
               for _, _, type_, data in facts):
        return set()
    held: dict[str, tuple[str | None, bool]] = {}  # state -> role, suspended
    for day, _, type_, data in sorted(facts, key=lambda fact: (fact[0], fact[1])):
        if day > on or data.get("network") != network or "state" not in data:
            continue
        role, suspended = held.get(data["state"], (None, False))
        if type_ == "StateJoinedNetwork":
            role = data["role"]
        elif type_ == "StateLeftNetwork":
            role = None
        elif type_ == "MembershipSuspended":
            suspended = role == "member"
        elif type_ == "SuspensionLifted":
            suspended = False
        held[data["state"]] = (role, suspended and role == "member")
    return {state for state, (_, suspended) in held.items() if suspended}


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(submissions(), min_size=15, max_size=60), data=st.data())
@pytest.mark.parametrize("backend_name", BACKENDS)
def test_members_equal_a_naive_replay_and_increments_equal_a_rebuild(
    tmp_path_factory: pytest.TempPathFactory, backend_name: str, steps: list[dict[str, Any]],
    data: st.DataObject
) -> None:
    path = Path(tmp_path_factory.mktemp("membership")) / "log.db"
    with ExitStack() as stack:
        backend = example_backend(backend_name, path, stack)
        check_projections(backend, steps, data)


def check_projections(backend: Backend, steps: list[dict[str, Any]], data: st.DataObject
                      ) -> None:
    log = CoordinationLog(backend.log_env())
    store = ProjectionStore(backend.database())
    try:
        log.submit_batch(SETUP, recorded_by=RECORDER)
        incremental = [kind() for kind in PROJECTIONS.values()]
        for projection in incremental:
            catch_up(log, store, projection)
        for step in steps:
            try:
                log.submit(step, recorded_by=RECORDER)
            except ConcordError:
                continue
            for projection in incremental:
                catch_up(log, store, projection)  # one entry per transaction
        # A rebuild's bulk load, pages small enough that a page ends mid-sequence.
        load(log, store, [kind(suffix="_rebuilt") for kind in PROJECTIONS.values()],
             page=data.draw(st.sampled_from([3, 10_000]), label="page"))
        reader = store.reader()
        listing = (
            "SELECT name FROM sqlite_master WHERE type='table'" if backend.name == "sqlite"
            else "SELECT table_name FROM information_schema.tables WHERE table_schema="
                 f"'{backend.schema}'")
        tables = [name for (name,) in reader.execute(listing) if name.endswith("_rebuilt")]
        assert len(tables) >= 2 * len(PROJECTIONS)
        for rebuilt in tables:
            table = rebuilt.removesuffix("_rebuilt")
            assert (sorted(reader.execute(f"SELECT * FROM {table}").fetchall(), key=str)
                    == sorted(reader.execute(f"SELECT * FROM {rebuilt}").fetchall(),
                              key=str)), table
        envelopes = log.read(limit=10_000)
        last = log.last_position()
        for _ in range(8):
            on = data.draw(st.sampled_from(DAYS))
            as_of = data.draw(st.integers(1, last))
            for network in ("N1", "N2"):
                found = {m.state: (m.role, m.since)
                         for m in members(reader, network, on, as_of)}
                assert found == naive_members(envelopes, network, on, as_of), (on, as_of)
                held = {m.state for m in members(reader, network, on, as_of) if m.suspended}
                assert held == naive_suspended(envelopes, network, on, as_of), (on, as_of)
    finally:
        store.close()
        log.close()
