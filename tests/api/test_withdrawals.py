"""Withdrawals given with notice, through the API, on both backends: Venezuela's notice to
the OAS of 28 April 2017, effective 27 April 2019, and a withdrawal still pending, revoked
and put back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.api.test_suspensions import OAS, dossier, last, members, post


def test_venezuela_s_notice_to_the_oas(client: TestClient) -> None:
    client.post("/v1/events", json=OAS)
    post(client, "StateJoinedNetwork", "1948-04-30", state="VEN", role="member")
    post(client, "StateJoinedNetwork", "1948-04-30", state="ARG", role="member")
    notice = post(client, "StateLeftNetwork", "2019-04-27", state="VEN",
                  notified_on="2017-04-28", reason="Denunciation of the Charter")
    assert notice["data"]["notified_on"] == "2017-04-28"
    # A member until the withdrawal takes effect, gone from then on.
    assert members(client, "2017-04-28") == {"ARG": False, "VEN": False}
    assert members(client, "2019-04-26") == {"ARG": False, "VEN": False}
    assert members(client, "2019-04-27") == {"ARG": False}
    # As the record stood before the notice was recorded, Venezuela was still in.
    assert "VEN" in members(client, "2020-01-01", notice["position"] - 1)
    assert "VEN" not in members(client, "2020-01-01", notice["position"])
    # Long in effect: nothing pending.
    assert dossier(client, "VEN")["pending_withdrawals"] == []
    history = client.get("/v1/history", params={"state": "VEN", "type": "StateLeftNetwork",
                                                "min_position": last(client)}).json()
    assert history["entries"][0]["summary"] == (
        "Venezuela, Bolivarian Republic of left Organization of American States (OAS) "
        "(notice given on 2017-04-28)")
    # A revocation after the withdrawal took effect has nothing to revoke.
    late = client.post("/v1/events", json={"type": "WithdrawalRevoked",
                                           "effective_date": "2019-05-01",
                                           "data": {"network": "OAS", "state": "VEN"}})
    assert late.status_code == 409
    assert "no withdrawal of VEN from OAS is pending on 2019-05-01" in late.json()["detail"]


def test_a_pending_withdrawal_revoked_and_put_back(client: TestClient) -> None:
    today = datetime.now(UTC).date()
    later = (today + timedelta(days=400)).isoformat()
    client.post("/v1/events", json={"type": "NetworkEstablished", "effective_date": "2000-01-01",
                                    "data": {"network": "N", "name": "A network"}})

    def n(type_: str, day: str, **data: Any) -> Any:
        return post(client, type_, day, network="N", state="URY", **data)

    def on(day: str, as_of: int | None = None) -> dict[str, bool]:
        return members(client, day, as_of, network="N")

    n("StateJoinedNetwork", "2000-01-01", role="member")
    # Only a withdrawal with notice may lie in the future, and its notice may not.
    future = client.post("/v1/events", json={"type": "StateLeftNetwork", "effective_date": later,
                                             "data": {"network": "N", "state": "URY"}})
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "effective_date"
    ahead = client.post("/v1/events", json={
        "type": "StateLeftNetwork", "effective_date": later,
        "data": {"network": "N", "state": "URY", "notified_on": later}})
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["field"] == "data.notified_on"

    notice = n("StateLeftNetwork", later, notified_on=today.isoformat())
    assert "URY" in on(today.isoformat()) and on(later) == {}
    pending = [{"network": "N", "notified_on": today.isoformat(), "effective_date": later,
                "position": notice["position"]}]
    assert dossier(client, "URY")["pending_withdrawals"] == pending
    page = client.get("/states/URY").text
    assert 'id="pending-heading"' in page and f'href="/entries/{notice["position"]}"' in page

    revoked = n("WithdrawalRevoked", today.isoformat(), reason="Stays")
    assert "URY" in on(later)
    assert on(later, revoked["position"] - 1) == {}
    assert dossier(client, "URY")["pending_withdrawals"] == []
    assert dossier(client, "URY")["memberships"][0]["valid_to"] is None

    # Retracting the revocation puts the withdrawal back; retracting the notice then ends it.
    retracted = client.post("/v1/events", json={"type": "EntryRetracted", "data": {
        "position": revoked["position"], "reason": "Recorded in error"}})
    assert retracted.status_code == 201, retracted.text
    assert on(later) == {}
    assert dossier(client, "URY")["pending_withdrawals"] == pending
    gone = client.post("/v1/events", json={"type": "EntryRetracted", "data": {
        "position": notice["position"], "reason": "No notice was given"}})
    assert gone.status_code == 201, gone.text
    assert "URY" in on(later)
    assert dossier(client, "URY")["pending_withdrawals"] == []


def test_a_correction_keeps_a_withdrawal_revoked_and_its_dates_checked(
    client: TestClient,
) -> None:
    client.post("/v1/events", json={"type": "NetworkEstablished", "effective_date": "2000-01-01",
                                    "data": {"network": "N", "name": "A network"}})

    def n(type_: str, day: str, **data: Any) -> Any:
        return post(client, type_, day, network="N", state="ARG", **data)

    n("StateJoinedNetwork", "2010-01-01", role="member")
    first = n("StateLeftNetwork", "2015-06-01", notified_on="2014-01-01")
    n("StateJoinedNetwork", "2015-07-01", role="observer")
    n("StateLeftNetwork", "2016-06-01", notified_on="2014-02-01")
    n("WithdrawalRevoked", "2014-03-01")
    assert members(client, "2015-06-15", network="N") == {"ARG": False}
    # Corrected in its place, the first withdrawal is still the one revoked.
    corrected = client.post("/v1/events", json={"type": "EntryCorrected", "data": {
        "position": first["position"], "reason": "The reason was left out",
        "replacement": {"type": "StateLeftNetwork", "data": {
            "network": "N", "state": "ARG", "notified_on": "2014-01-01",
            "reason": "Budget"}}}})
    assert corrected.status_code == 201, corrected.text
    assert members(client, "2015-06-15", network="N") == {"ARG": False}
    assert members(client, "2016-06-01", network="N") == {}

    # A correction without a date keeps the corrected entry's, and is checked with it.
    later = (datetime.now(UTC).date() + timedelta(days=400)).isoformat()
    n("StateJoinedNetwork", "2020-01-01", role="member")
    pending = n("StateLeftNetwork", later, notified_on="2020-06-01")
    end = last(client)
    dropped = client.post("/v1/events", json={"type": "EntryCorrected", "data": {
        "position": pending["position"], "reason": "No notice",
        "replacement": {"type": "StateLeftNetwork", "data": {"network": "N", "state": "ARG"}}}})
    assert dropped.status_code == 422, dropped.text
    assert dropped.json()["errors"][0]["field"] == "effective_date"
    past = client.post("/v1/events", json={"type": "EntryCorrected", "data": {
        "position": first["position"], "reason": "Notice later",
        "replacement": {"type": "StateLeftNetwork", "data": {
            "network": "N", "state": "ARG", "notified_on": "2015-07-01"}}}})
    assert past.status_code == 422, past.text
    assert past.json()["errors"][0]["field"] == "data.replacement.data.notified_on"
    assert last(client) == end
    unknown = client.post("/v1/events", json={"type": "WithdrawalRevoked", "data": {
        "network": "N", "state": "QQQ"}})
    assert unknown.json()["type"] == "urn:concord:problem:not-on-record", unknown.text


def test_dates_decide_which_withdrawal_a_revocation_cancels(client: TestClient) -> None:
    client.post("/v1/events", json={"type": "NetworkEstablished", "effective_date": "2000-01-01",
                                    "data": {"network": "N", "name": "A network"}})

    def n(type_: str, day: str, **data: Any) -> Any:
        return post(client, type_, day, network="N", state="ARG", **data)

    def on(day: str, as_of: int | None = None) -> dict[str, bool]:
        return members(client, day, as_of, network="N")

    n("StateJoinedNetwork", "2010-01-01", role="member")
    n("StateLeftNetwork", "2016-06-01", notified_on="2014-01-01")
    n("WithdrawalRevoked", "2014-03-01")
    assert "ARG" in on("2016-06-01")
    # A withdrawal recorded later, but pending on the revocation's date and taking effect
    # first, is the one the revocation cancels; the other stands again.
    late = n("StateLeftNetwork", "2015-06-01", notified_on="2014-02-01")
    assert "ARG" in on("2015-06-15") and on("2016-06-01") == {}
    assert "ARG" in on("2016-06-01", late["position"] - 1)
    # Corrected, and its correction corrected, it stays the one cancelled.
    again = late
    for reason in ("Reason one", "Reason two"):
        again = client.post("/v1/events", json={"type": "EntryCorrected", "data": {
            "position": again["position"], "reason": reason, "replacement": {
                "type": "StateLeftNetwork", "data": {"network": "N", "state": "ARG",
                                                     "notified_on": "2014-02-01"}}}}).json()
        assert again["type"] == "EntryCorrected", again
        assert "ARG" in on("2015-06-15") and on("2016-06-01") == {}
