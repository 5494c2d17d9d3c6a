"""Membership on any date, as the record stood at any position."""

from __future__ import annotations

from typing import Any

import pytest

from concord.api.scenario import founding_scenario
from concord.domain.errors import ConcordError
from concord.log.application import CoordinationLog
from concord.projections.membership import Membership, members
from concord.projections.store import ProjectionStore
from tests.conftest import RECORDER
from tests.projections.conftest import catch_up

NETWORK = ("NetworkEstablished", "2000-01-01", {"network": "N", "name": "N"})


def join(state: str, day: str, role: str = "member") -> tuple[str, str, dict[str, Any]]:
    return "StateJoinedNetwork", day, {"network": "N", "state": state, "role": role}


def leave(state: str, day: str) -> tuple[str, str, dict[str, Any]]:
    return "StateLeftNetwork", day, {"network": "N", "state": state}


def retract(position: int) -> tuple[str, str, dict[str, Any]]:
    return "EntryRetracted", "2026-01-01", {"position": position, "reason": "wrong"}


# Each case: the entries in the order recorded (positions 1, 2, ...), then queries
# (on, as_of, expected {state: (role, since)}).
CASES = {
    "a-join": (
        [NETWORK, join("ARG", "2023-09-12")],
        [("2023-09-11", 2, {}), ("2023-09-12", 2, {"ARG": ("member", "2023-09-12")}),
         ("2024-01-01", 1, {})],
    ),
    "leave-and-rejoin": (
        [NETWORK, join("BRA", "2020-01-01"), leave("BRA", "2022-01-01"),
         join("BRA", "2024-01-01")],
        [("2021-06-01", 4, {"BRA": ("member", "2020-01-01")}), ("2023-01-01", 4, {}),
         ("2025-01-01", 4, {"BRA": ("member", "2024-01-01")}), ("2025-01-01", 3, {}),
         ("2021-06-01", 3, {"BRA": ("member", "2020-01-01")})],
    ),
    "observer-becomes-member": (
        [NETWORK, join("ESP", "2020-01-01", "observer"), join("ESP", "2022-01-01")],
        [("2021-01-01", 3, {"ESP": ("observer", "2020-01-01")}),
         ("2023-01-01", 3, {"ESP": ("member", "2022-01-01")}),
         ("2023-01-01", 2, {"ESP": ("observer", "2020-01-01")})],
    ),
    "back-dated-entry": (
        [NETWORK, join("URY", "2023-01-01"), join("URY", "2019-01-01", "observer")],
        [("2020-01-01", 2, {}), ("2020-01-01", 3, {"URY": ("observer", "2019-01-01")}),
         ("2024-01-01", 3, {"URY": ("member", "2023-01-01")})],
    ),
    "retracted-join": (
        [NETWORK, join("CHL", "2020-01-01"), retract(2)],
        [("2021-01-01", 2, {"CHL": ("member", "2020-01-01")}), ("2021-01-01", 3, {})],
    ),
    "retracted-leave": (
        [NETWORK, join("PER", "2020-01-01"), leave("PER", "2022-01-01"), retract(3)],
        [("2023-01-01", 3, {}), ("2023-01-01", 4, {"PER": ("member", "2020-01-01")})],
    ),
    "retracted-network": (
        [NETWORK, join("ARG", "2020-01-01"), join("BRA", "2020-01-01", "observer"),
         retract(1)],
        [("2021-01-01", 3, {"ARG": ("member", "2020-01-01"),
                            "BRA": ("observer", "2020-01-01")}),
         ("2021-01-01", 4, {})],
    ),
}


def record(log: CoordinationLog, entries: list[tuple[str, str, dict[str, Any]]]) -> None:
    for position, (type_, day, data) in enumerate(entries, start=1):
        envelope = log.submit({"type": type_, "data": data, "effective_date": day},
                              recorded_by=RECORDER)
        assert envelope["position"] == position


@pytest.mark.parametrize("case", CASES)
def test_members_on_a_date_as_of_a_position(
    log: CoordinationLog, store: ProjectionStore, case: str
) -> None:
    entries, queries = CASES[case]
    record(log, entries)
    catch_up(log, store, Membership())
    for on, as_of, expected in queries:
        found = {m.state: (m.role, m.since) for m in members(store.reader(), "N", on, as_of)}
        assert found == expected, (on, as_of)


def test_the_role_filter(log: CoordinationLog, store: ProjectionStore) -> None:
    record(log, [NETWORK, join("ARG", "2020-01-01"), join("ESP", "2020-01-01", "observer")])
    catch_up(log, store, Membership())
    assert [m.state for m in members(store.reader(), "N", "2021-01-01", 3, "observer")] == [
        "ESP"]


def test_relacopaz_in_the_founding_scenario(log: CoordinationLog,
                                            store: ProjectionStore) -> None:
    scenario = founding_scenario()
    log.submit_batch(scenario.submissions, recorded_by="concord-demo")
    catch_up(log, store, Membership(), page=7)
    today = members(store.reader(), "RELACOPAZ", "2026-11-28", log.last_position())
    assert len(today) == 18
    assert {m.role for m in today} == {"member"} and {m.since for m in today} == {"2023-09-12"}
    assert "ARG" in {m.state for m in today} and "CHL" not in {m.state for m in today}
    assert members(store.reader(), "RELACOPAZ", "2023-09-11", log.last_position()) == []
    first_join = next(i for i, s in enumerate(scenario.submissions, start=1)
                      if s["type"] == "StateJoinedNetwork")
    assert len(members(store.reader(), "RELACOPAZ", "2026-01-01", first_join)) == 1


def test_refused_submissions_leave_no_trace(log: CoordinationLog,
                                            store: ProjectionStore) -> None:
    record(log, [NETWORK, join("ARG", "2020-01-01")])
    with pytest.raises(ConcordError):
        log.submit({"type": "StateJoinedNetwork", "data": {"network": "N", "state": "ARG",
                    "role": "member"}}, recorded_by=RECORDER)
    catch_up(log, store, Membership())
    assert len(members(store.reader(), "N", "2021-01-01", 99)) == 1
