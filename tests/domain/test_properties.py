"""Property: whatever valid and invalid submissions arrive, the refused ones append nothing,
and rebuilding every aggregate from the reopened log gives the state the writer held."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from concord.domain.errors import ConcordError
from concord.log.application import CoordinationLog, sqlite_env
from tests.conftest import RECORDER

NETWORKS = st.sampled_from(["N1", "N1", "N1", "N2"])
CONFERENCES = st.sampled_from(["C1", "C1", "C1", "C2"])
DECLARATIONS = st.sampled_from(["D1", "D1", "D1", "D2"])
INSTRUMENTS = st.sampled_from(["I1", "I1", "I1", "I2"])
STATES = st.sampled_from(["ARG", "BRA", "URY", "CSHH", "XKX", "XKX", "XKY", "QQQ"])
DAYS = st.sampled_from(["2020-01-01", "2022-09-06", "2023-09-12", "2025-10-08"])
PARTIAL = st.sampled_from(["2022", "2022-09", "2022-09-06", "2025-10-08", "2025-10-09"])
TEXT = st.sampled_from(["A", "Buenos Aires Declaration", "Opening"])

PAYLOADS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "NetworkEstablished": st.fixed_dictionaries({"network": NETWORKS, "name": TEXT}),
    "StatuteApproved": st.fixed_dictionaries(
        {"network": NETWORKS, "title": TEXT}, optional={"conference": CONFERENCES}),
    "StateRegistered": st.fixed_dictionaries({"state": STATES, "name": TEXT}),
    "StateJoinedNetwork": st.fixed_dictionaries(
        {"network": NETWORKS, "state": STATES, "role": st.sampled_from(["member", "observer"])}),
    "StateLeftNetwork": st.fixed_dictionaries(
        {"network": NETWORKS, "state": STATES},
        optional={"notified_on": st.sampled_from(["2020-01-01", "2022-09-06"])}),
    "WithdrawalRevoked": st.fixed_dictionaries({"network": NETWORKS, "state": STATES}),
    "MembershipSuspended": st.fixed_dictionaries({"network": NETWORKS, "state": STATES}),
    "SuspensionLifted": st.fixed_dictionaries({"network": NETWORKS, "state": STATES}),
    "OfficeAssumed": st.fixed_dictionaries(
        {"network": NETWORKS, "office": st.sampled_from(["presidency", "secretariat"]),
         "state": STATES}, optional={"term_ends_on": st.sampled_from(
             ["2022-09-06", "2023-09-12", "2025-10-08"])}),
    "OfficeRelinquished": st.fixed_dictionaries(
        {"network": NETWORKS, "office": st.just("presidency"), "state": STATES}),
    "ConferenceScheduled": st.fixed_dictionaries(
        {"conference": CONFERENCES, "title": TEXT, "host_state": STATES, "starts_on": PARTIAL},
        optional={"ends_on": PARTIAL, "network": NETWORKS}),
    "ConferenceRescheduled": st.fixed_dictionaries(
        {"conference": CONFERENCES, "starts_on": PARTIAL}, optional={"ends_on": PARTIAL}),
    "ConferenceCancelled": st.fixed_dictionaries({"conference": CONFERENCES}),
    "ConferenceHeld": st.fixed_dictionaries({"conference": CONFERENCES}),
    "DelegationAttended": st.fixed_dictionaries(
        {"conference": CONFERENCES, "state": STATES,
         "role": st.sampled_from(["participant", "observer"])}),
    "SessionHeld": st.fixed_dictionaries({"conference": CONFERENCES, "title": TEXT}),
    "DeclarationAdopted": st.fixed_dictionaries(
        {"declaration": DECLARATIONS, "title": TEXT}, optional={"conference": CONFERENCES}),
    "DeclarationSigned": st.fixed_dictionaries({"declaration": DECLARATIONS, "state": STATES}),
    "SignatureWithdrawn": st.fixed_dictionaries({"declaration": DECLARATIONS, "state": STATES}),
    "InstrumentAdopted": st.fixed_dictionaries(
        {"instrument": INSTRUMENTS, "title": TEXT,
         "kind": st.sampled_from(["statute", "agreement", "protocol"])},
        optional={"entry_into_force": st.fixed_dictionaries(
            {"consents_required": st.integers(1, 2)})}),
    "ConsentExpressed": st.fixed_dictionaries(
        {"instrument": INSTRUMENTS, "state": STATES, "form": st.sampled_from(
            ["signature", "ratification", "accession", "definitive-signature"])}),
    "InstrumentEnteredIntoForce": st.fixed_dictionaries(
        {"instrument": INSTRUMENTS}, optional={"state": STATES}),
    "Denunciation": st.fixed_dictionaries(
        {"instrument": INSTRUMENTS, "state": STATES,
         "notified_on": st.sampled_from(["2020-01-01", "2022-09-06"])}),
    "EntryRetracted": st.fixed_dictionaries(
        {"position": st.integers(1, 40), "reason": TEXT}),
}
# A correction of a random position with a random fact: mostly refused (another type, or
# another entity), sometimes accepted, which is what the properties need to see.
CORRECTED = ["StateJoinedNetwork", "StateLeftNetwork", "MembershipSuspended", "OfficeAssumed",
             "DeclarationSigned", "DelegationAttended", "ConferenceScheduled",
             "NetworkEstablished", "ConferenceRescheduled", "ConsentExpressed"]
PAYLOADS["EntryCorrected"] = st.sampled_from(CORRECTED).flatmap(
    lambda type_: st.fixed_dictionaries({
        "position": st.integers(1, 40), "reason": TEXT,
        "replacement": st.fixed_dictionaries({"type": st.just(type_),
                                               "data": PAYLOADS[type_]})}))


# Rules refuse most random submissions; weighting towards the ones that usually apply keeps
# the sequences long enough to say something, while every type still appears.
WEIGHTED_TYPES = sorted(PAYLOADS) + 3 * ["EntryCorrected"] + 4 * [
    "StateJoinedNetwork", "StateLeftNetwork", "DeclarationSigned", "SignatureWithdrawn",
    "DelegationAttended", "SessionHeld", "MembershipSuspended", "SuspensionLifted",
    "OfficeAssumed", "OfficeRelinquished", "WithdrawalRevoked", "ConsentExpressed",
    "ConsentExpressed",
]


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    type_ = draw(st.sampled_from(WEIGHTED_TYPES))
    raw: dict[str, Any] = {"type": type_, "data": draw(PAYLOADS[type_])}
    if draw(st.booleans()):
        raw["effective_date"] = draw(DAYS)
    if draw(st.integers(0, 9)) == 0:
        raw["expected_version"] = draw(st.integers(0, 6))
    malformation = draw(st.integers(0, 30))
    if malformation == 0:
        raw["data"]["unexpected"] = 1
    elif malformation == 1:
        raw["effective_date"] = "2023-02-30"
    return raw


SETUP = [
    {"type": "NetworkEstablished", "data": {"network": "N1", "name": "A"},
     "effective_date": "2020-01-01"},
    {"type": "ConferenceScheduled", "data": {"conference": "C1", "title": "A",
     "host_state": "ARG", "starts_on": "2022-09-06", "ends_on": "2022-09-07"},
     "effective_date": "2022-01-01"},
    {"type": "DeclarationAdopted", "data": {"declaration": "D1", "title": "A"},
     "effective_date": "2020-01-01"},
    {"type": "StateRegistered", "data": {"state": "XKX", "name": "A"}},
    {"type": "InstrumentAdopted", "data": {"instrument": "I1", "title": "A",
     "kind": "agreement"}, "effective_date": "2020-01-01"},
]


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(submissions(), st.lists(submissions(), min_size=2, max_size=3)),
                      min_size=15, max_size=60))
def test_refusals_append_nothing_and_a_rebuild_equals_the_writers_state(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    path = Path(tmp_path_factory.mktemp("property")) / "log.db"
    log = CoordinationLog(sqlite_env(path))
    accepted = len(log.submit_batch(SETUP, recorded_by=RECORDER))
    try:
        for step in steps:
            try:
                if isinstance(step, list):
                    accepted += len(log.submit_batch(step, recorded_by=RECORDER))
                else:
                    log.submit(step, recorded_by=RECORDER)
                    accepted += 1
            except ConcordError:
                pass
        event(f"accepted {min((accepted - len(SETUP)) // 5 * 5, 20)}+")
        # Check refused submissions and batches appended nothing.
        assert log.last_position() == accepted
        held = {sid: a.state() for sid, a in log.writer.cache.items() if a is not None}
        streams = {e["stream"] for e in log.read(limit=10_000)}
    finally:
        log.close()
    # Check every stream in the log is one the writer held, and rebuilds to the same state.
    assert streams <= set(held)
    reopened = CoordinationLog(sqlite_env(path))
    try:
        for stream_id in streams:
            rebuilt = reopened.load(stream_id)
            assert rebuilt is not None
            assert rebuilt.state() == held[stream_id], stream_id
    finally:
        reopened.close()
