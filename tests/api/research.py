"""The founding scenario, and membership changes after it, for the researchers' reads."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from concord.api.scenario import founding_scenario

NETWORK = "RELACOPAZ"


def _post(client: httpx.Client, submission: dict[str, Any]) -> int:
    answer = client.post("/v1/events", json=submission)
    assert answer.status_code == 201, answer.text
    position: int = answer.json()["position"]
    return position


def _join(state: str, role: str, day: str) -> dict[str, Any]:
    return {"type": "StateJoinedNetwork", "effective_date": day,
            "data": {"network": NETWORK, "state": state, "role": role}}


def record_changes(client: httpx.Client) -> dict[str, int]:
    """The founding scenario, then: CHL joins as observer, ARG leaves, ECU becomes an
    observer, PER leaves and the leave is retracted, CHL's join is corrected to an earlier
    date, and MEX's leave is back-dated before ECU's change. Positions by name."""
    answer = client.post("/v1/events/batch",
                         json={"events": list(founding_scenario().submissions)})
    assert answer.status_code == 201, answer.text
    return record_later_changes(client, answer.json()["events"][-1]["position"])


def record_later_changes(client: httpx.Client, founded: int) -> dict[str, int]:
    """The changes `record_changes` makes after the founding scenario (which ends at
    position `founded`), recorded through `client`; positions by name."""
    at = {"founded": founded}
    at["chl_joined"] = _post(client, _join("CHL", "observer", "2024-03-01"))
    at["arg_left"] = _post(client, {"type": "StateLeftNetwork", "effective_date": "2024-06-01",
                                    "data": {"network": NETWORK, "state": "ARG"}})
    at["ecu_observer"] = _post(client, _join("ECU", "observer", "2025-01-01"))
    at["per_left"] = _post(client, {"type": "StateLeftNetwork", "effective_date": "2025-02-01",
                                    "data": {"network": NETWORK, "state": "PER"}})
    at["per_retracted"] = _post(client, {"type": "EntryRetracted", "data": {
        "position": at["per_left"], "reason": "Recorded against the wrong state"}})
    at["chl_corrected"] = _post(client, {
        "type": "EntryCorrected", "effective_date": "2024-02-01", "data": {
            "position": at["chl_joined"], "reason": "The date was wrong",
            "replacement": {"type": "StateJoinedNetwork", "data": {
                "network": NETWORK, "state": "CHL", "role": "observer"}}}})
    at["mex_left"] = _post(client, {"type": "StateLeftNetwork", "effective_date": "2024-12-01",
                                    "data": {"network": NETWORK, "state": "MEX"}})
    return at
