"""The researchers' reads: membership intervals, series of counts, changes between two
record states, and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.research import NETWORK, record_changes

INTERVALS = f"/v1/networks/{NETWORK}/intervals"
SERIES = f"/v1/networks/{NETWORK}/series"
MEMBERS = f"/v1/networks/{NETWORK}/members"


@pytest.fixture
def changed(client: TestClient) -> dict[str, int]:
    return record_changes(client)


def test_intervals_as_the_record_stood_at_each_position(
    client: TestClient, changed: dict[str, int]
) -> None:
    now = client.get(INTERVALS, params={"min_position": changed["mex_left"]}).json()
    assert now["network"] == NETWORK and now["as_of"] == changed["mex_left"]
    rows = now["intervals"]
    assert [(r["state"], r["valid_from"]) for r in rows] == sorted(
        (r["state"], r["valid_from"]) for r in rows)
    by_state: dict[str, list[tuple[str, str, str | None]]] = {}
    for r in rows:
        by_state.setdefault(r["state"], []).append((r["role"], r["valid_from"], r["valid_to"]))
    assert rows[0] == {"state": "ARG", "name": "Argentina", "role": "member",
                       "valid_from": "2023-09-12", "valid_to": "2024-06-01"}
    assert by_state["CHL"] == [("observer", "2024-02-01", None)]
    assert by_state["ECU"] == [("member", "2023-09-12", "2025-01-01"),
                               ("observer", "2025-01-01", None)]
    assert by_state["PER"] == [("member", "2023-09-12", None)]
    assert by_state["MEX"] == [("member", "2023-09-12", "2024-12-01")]
    # Check the record as it stood before the correction and the retraction.
    before = client.get(INTERVALS, params={"as_of": changed["per_left"]}).json()["intervals"]
    assert [(r["role"], r["valid_from"]) for r in before if r["state"] == "CHL"] == [
        ("observer", "2024-03-01")]
    assert [r["valid_to"] for r in before if r["state"] == "PER"] == ["2025-02-01"]
    founding = client.get(INTERVALS, params={"as_of": changed["founded"]}).json()["intervals"]
    assert len(founding) == 18 and all(r["valid_to"] is None for r in founding)


def test_intervals_of_an_unknown_network_or_beyond_the_log_are_refused(
    client: TestClient, changed: dict[str, int]
) -> None:
    missing = client.get("/v1/networks/NOPE/intervals")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get(INTERVALS, params={"as_of": 1}).status_code == 404  # not yet founded
    beyond = client.get(INTERVALS, params={"as_of": changed["mex_left"] + 1})
    assert beyond.status_code == 422 and "as_of" in beyond.json()["detail"]


def _counts(client: TestClient, day: str, as_of: int) -> dict[str, int]:
    found = client.get(MEMBERS, params={"on": day, "as_of": as_of}).json()["members"]
    counts = {"member": 0, "observer": 0}
    for m in found:
        counts[m["role"]] += 1
    return {**counts, "total": sum(counts.values())}


def test_the_series_agrees_with_the_members_on_every_date_at_every_position(
    client: TestClient, changed: dict[str, int]
) -> None:
    positions = sorted(set(changed.values()))
    for as_of in positions:
        series = client.get(SERIES, params={"as_of": as_of}).json()
        assert series["roles"] == ["member", "observer"]
        points = series["series"]
        days = sorted({p["date"] for p in points})
        assert [p["date"] for p in points] == days
        # Each point's day, the day before it and the day after: every count is the one of
        # the latest point on or before the day.
        probes = {"2023-09-11", "2026-01-01"}
        for p in points:
            probes |= {p["date"], _shift(p["date"], -1), _shift(p["date"], 1)}
        for day in sorted(probes):
            latest = [p for p in points if p["date"] <= day]
            expected = ({k: latest[-1][k] for k in ("member", "observer", "total")} if latest
                        else {"member": 0, "observer": 0, "total": 0})
            assert _counts(client, day, as_of) == expected, (as_of, day)
        # Consecutive points differ: a point is a date on which a count changes.
        for first, second in zip(points, points[1:], strict=False):
            assert first | {"date": ""} != second | {"date": ""}


def _shift(day: str, days: int) -> str:
    from datetime import date, timedelta
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def test_the_series_within_dates(client: TestClient, changed: dict[str, int]) -> None:
    whole = client.get(SERIES, params={"min_position": changed["mex_left"]}).json()["series"]
    assert [p["date"] for p in whole] == ["2023-09-12", "2024-02-01", "2024-06-01",
                                          "2024-12-01", "2025-01-01"]
    assert whole[-1] == {"date": "2025-01-01", "member": 15, "observer": 2, "total": 17}
    part = client.get(SERIES, params={"from": "2024-02-01", "to": "2024-12-01"}).json()
    assert part["series"] == whole[1:4]
    wrong = client.get(SERIES, params={"from": "2025-01-01", "to": "2024-01-01"})
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"from", "to"}
    assert client.get("/v1/networks/NOPE/series").status_code == 404


def _parsed(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="')
    assert answer.text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(answer.text, newline="")))


def _as_cells(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, str]]:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    return [{column: cell(row[column]) for column in columns} for row in rows]


def test_csv_has_the_rows_of_the_json(client: TestClient, changed: dict[str, int]) -> None:
    end = changed["mex_left"]
    cases: list[tuple[str, dict[str, Any], str, list[str]]] = [
        (MEMBERS, {"on": "2024-07-01"}, "members",
         ["state", "name", "role", "since", "suspended"]),
        (INTERVALS, {}, "intervals", ["state", "name", "role", "valid_from", "valid_to"]),
        (SERIES, {"from": "2024-01-01"}, "series", ["date", "member", "observer", "total"]),
        ("/v1/history", {"network": NETWORK, "limit": 30}, "entries",
         ["position", "type", "stream", "version", "effective_date", "recorded_at",
          "recorded_by", "source", "data", "leaf_index", "summary", "retracted_by"]),
        ("/v1/declarations/BUENOS-AIRES-2023", {}, "signed",
         ["state", "name", "signed_on", "position", "signatory"]),
    ]
    for path, params, key, columns in cases:
        params = {**params, "min_position": end}
        rows = client.get(path, params=params).json()[key]
        assert rows, path
        expected = _as_cells(rows, columns)
        by_format = _parsed(client.get(path, params={**params, "format": "csv"}))
        assert by_format == expected, path
        assert list(by_format[0]) == columns
        by_accept = client.get(path, params=params, headers={"Accept": "text/csv"})
        assert _parsed(by_accept) == expected, path
        assert client.get(path, params={**params, "format": "json"}).json()[key] == rows
    # Check a cell with a comma and quotes survives: the history's summaries and sources.
    history = client.get("/v1/history", params={"limit": 5, "format": "csv"}).text
    assert '"' in history
    wrong = client.get(MEMBERS, params={"format": "xml"})
    assert wrong.status_code == 422


def test_the_changes_between_two_record_states(
    client: TestClient, changed: dict[str, int]
) -> None:
    start, end = changed["founded"], changed["mex_left"]
    answer = client.get("/v1/changes", params={"from_position": start, "to_position": end,
                                               "network": NETWORK}).json()
    assert [e["position"] for e in answer["entries"]] == list(range(start + 1, end + 1))
    by_position = {e["position"]: e for e in answer["entries"]}
    retraction = by_position[changed["per_retracted"]]
    assert retraction["retracts"] == changed["per_left"]
    assert retraction["summary"].startswith(f"entry {changed['per_left']} retracted")
    correction = by_position[changed["chl_corrected"]]
    assert correction["retracts"] == changed["chl_joined"]
    assert correction["summary"].startswith(f"entry {changed['chl_joined']} corrected")
    assert by_position[changed["per_left"]]["retracted_by"] == changed["per_retracted"]
    membership = {m["state"]: m for m in answer["membership"]}
    # PER's leave was recorded and retracted in between: its intervals are as they were.
    assert sorted(membership) == ["ARG", "CHL", "ECU", "MEX"]
    assert membership["CHL"] == {"state": "CHL", "name": "Chile", "before": [], "after": [
        {"role": "observer", "valid_from": "2024-02-01", "valid_to": None}], "changes": [
        {"from": "2024-02-01", "to": None, "before": None, "after": "observer"}]}
    # Check the dates on which a role differs: ARG from its leave on, ECU from 2025.
    assert membership["ARG"]["changes"] == [
        {"from": "2024-06-01", "to": None, "before": "member", "after": None}]
    assert membership["ECU"]["changes"] == [
        {"from": "2025-01-01", "to": None, "before": "member", "after": "observer"}]
    assert membership["ARG"]["before"] == [
        {"role": "member", "valid_from": "2023-09-12", "valid_to": None}]
    assert membership["ARG"]["after"] == [
        {"role": "member", "valid_from": "2023-09-12", "valid_to": "2024-06-01"}]
    # Check each membership change agrees with the intervals at both positions.
    for at in (start, end):
        intervals = client.get(INTERVALS, params={"as_of": at}).json()["intervals"]
        side = "before" if at == start else "after"
        for state, change in membership.items():
            assert change[side] == [{k: r[k] for k in ("role", "valid_from", "valid_to")}
                                    for r in intervals if r["state"] == state]
    # Check a span whose record states differ only in a retracted leave.
    one = client.get("/v1/changes", params={"from_position": changed["per_left"] - 1,
                                            "to_position": changed["per_left"],
                                            "network": NETWORK}).json()
    assert [m["state"] for m in one["membership"]] == ["PER"]
    assert one["entries"][0]["retracted_by"] is None  # not yet retracted at to_position
    plain = client.get("/v1/changes", params={"from_position": end - 1}).json()
    assert plain["to_position"] == end and plain["membership"] is None
    assert [e["position"] for e in plain["entries"]] == [end]
    assert client.get("/v1/changes", params={"from_position": end}).json()["entries"] == []


def test_bad_spans_of_changes_are_refused_naming_the_field(
    client: TestClient, changed: dict[str, int]
) -> None:
    end = changed["mex_left"]

    def fields(params: dict[str, Any], status: int = 422) -> set[str]:
        answer = client.get("/v1/changes", params=params)
        assert answer.status_code == status, (params, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        return {e["field"] for e in answer.json().get("errors", ())}

    assert fields({"from_position": 5, "to_position": 4}) == {"from_position", "to_position"}
    assert fields({"from_position": 0, "to_position": 10_001}) == {"to_position"}
    assert fields({"from_position": 0, "to_position": end + 1}) == {"to_position"}
    assert fields({"from_position": end + 1}) == {"from_position", "to_position"}
    fields({"from_position": 0, "network": "NOPE"}, 404)
    fields({"from_position": 0, "to_position": 1, "network": NETWORK}, 404)  # not yet founded


def _at_moment(envelopes: list[dict[str, Any]], moment: str) -> int:
    """The last position of the longest stretch from position 1 all recorded by `moment`."""
    position = 0
    for e in envelopes:
        if e["recorded_at"] > moment:
            break
        position = e["position"]
    return position


def test_as_of_a_moment_is_the_record_as_it_stood_then(
    client: TestClient, changed: dict[str, int]
) -> None:
    envelopes = client.get("/v1/events", params={"limit": 1000}).json()["events"]
    stamps = sorted({e["recorded_at"] for e in envelopes})
    first = datetime.fromisoformat(stamps[0])
    probes = [*stamps, (first - timedelta(milliseconds=1)).isoformat(timespec="milliseconds")
              .replace("+00:00", "Z")]
    established = next(e["position"] for e in envelopes if e["type"] == "NetworkEstablished")
    for moment in probes:
        position = _at_moment(envelopes, moment)
        for path in (INTERVALS, SERIES, MEMBERS):
            answer = client.get(path, params={"as_of": moment})
            if position < established:
                assert answer.status_code == 404, (path, moment)
                continue
            assert answer.status_code == 200, (path, moment, answer.text)
            assert answer.json()["as_of"] == position
            assert answer.json() == client.get(path, params={"as_of": position}).json()
    # Check the same moment in another offset, and in lower case.
    last = datetime.fromisoformat(stamps[-1]).astimezone(timezone(timedelta(hours=-3)))
    for moment in (last.isoformat(timespec="milliseconds"), stamps[-1].lower()):
        answer = client.get(INTERVALS, params={"as_of": moment}).json()
        assert answer["as_of"] == changed["mex_left"], moment


def test_a_malformed_as_of_is_refused_naming_it(client: TestClient,
                                                changed: dict[str, int]) -> None:
    for value in ("2026-11-28", "yesterday", "2026-13-01T00:00:00Z", "2026-11-28T10:15:03",
                  "2026-11-28T25:00:00Z", "-1", "0001-01-01T00:00:00+01:00", "1" * 25):
        for path in (INTERVALS, SERIES, MEMBERS):
            answer = client.get(path, params={"as_of": value})
            assert answer.status_code == 422, (path, value, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in answer.json()["errors"]] == ["as_of"], value
