"""The clerk's desk in Debian's Chromium, against a real `concord serve --demo`: a clerk's
morning end to end, the mistakes of the new-user trial refused beside their fields with
nothing appended, corrections, a file recorded once, a reader's key and a revoked key, and
axe-core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import ADMIN, RECORDER, bearer
from tests.api.console import DemoServer, start_demo

sync_api = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")
expect = sync_api.expect


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    directory = tmp_path_factory.mktemp("desk")
    demo = start_demo(directory / "data", directory / "server.log")
    try:
        yield demo
    finally:
        demo.stop()


def tokens(server: DemoServer) -> dict[str, str]:
    found: dict[str, str] = json.loads((server.data_dir / "tokens.json").read_text())
    return found


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    made = context.new_page()
    made.on("pageerror", lambda e: errors.append(str(e)))
    yield made
    context.close()
    assert errors == []


def last(server: DemoServer) -> int:
    events = server.http.get("/v1/events", params={"after": 0, "limit": 1000}).json()["events"]
    return int(events[-1]["position"])


def sign_in(page: Any, server: DemoServer, token: str) -> None:
    page.goto(server.url + "/desk")
    page.fill("#f-token", token)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#who")).to_contain_text("Signed in as")
    # The codes on record are in the pickers.
    expect(page.locator("#desk[data-lists=loaded]")).to_be_visible()


def choose(page: Any, type_: str, fields: dict[str, str], day: str = "",
           source: str = "") -> None:
    """Fill the record form for `type_` (its fields by data path, as 'data.state')."""
    page.select_option("#f-type", type_)
    for path, value in fields.items():
        target = page.locator(f"[id='f-{path}']")
        if target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)
    page.fill("#f-effective_date", day)
    page.fill("#f-source", source)


def check_and_record(page: Any, summary: str) -> int:
    """Check the form, see its summary, record it: the position it was recorded at."""
    page.click("#check")
    expect(page.locator("#preview")).to_contain_text(summary)
    page.click("#commit")
    recorded = page.locator("#preview .recorded a")
    expect(recorded).to_be_visible()
    return int(recorded.inner_text().removeprefix("entry "))


def refused_beside(page: Any, server: DemoServer, field: str, reason: str) -> None:
    """Check the form: refused, the reason beside `field`, nothing appended."""
    end = last(server)
    page.click("#check")
    expect(page.locator(f"[id='f-{field}-error']")).to_contain_text(reason)
    expect(page.locator("#commit")).to_be_disabled()
    assert last(server) == end


def test_a_clerk_s_morning(page: Any, server: DemoServer, tmp_path: Path) -> None:
    sign_in(page, server, tokens(server)[RECORDER])
    expect(page.locator("#who")).to_have_text("Signed in as secretariat (recorder).")

    # A join, the state picked by its name.
    choose(page, "StateJoinedNetwork", {"data.network": "RELACOPAZ", "data.state": "Chile",
                                        "data.role": "member"}, "2024-05-01", "Communiqué")
    page.click("#check")
    expect(page.locator("#preview")).to_contain_text(
        "Chile joined Latin American and Caribbean Network for Peacekeeping Cooperation "
        "(RELACOPAZ) as member")
    expect(page.locator("#preview table")).to_contain_text("not in")
    # A double click records once: the same idempotency key.
    page.locator("#commit").dblclick()
    expect(page.locator("#preview .recorded")).to_be_visible()
    joined = int(page.locator("#preview .recorded a").inner_text().removeprefix("entry "))
    entry = server.http.get(f"/v1/events/{joined}").json()
    assert (entry["type"], entry["data"]["state"], entry["source"]) == (
        "StateJoinedNetwork", "CHL", "Communiqué")
    assert last(server) == joined

    # A conference scheduled and held, with a delegation and its head.
    choose(page, "ConferenceScheduled", {
        "data.conference": "DESK-2026", "data.title": "Desk Workshop",
        "data.host_state": "URY", "data.starts_on": "2026-03-10",
        "data.ends_on": "2026-03-11"}, "2026-01-15")
    check_and_record(page, "DESK-2026 scheduled: Desk Workshop, Uruguay")
    choose(page, "DelegationAttended", {"data.conference": "DESK-2026", "data.state": "ARG",
                                        "data.role": "participant",
                                        "data.head.name": "A. Delegate",
                                        "data.head.title": "Director"}, "2026-03-10")
    check_and_record(page, "Argentina attended DESK-2026 as participant")
    choose(page, "ConferenceHeld", {"data.conference": "DESK-2026"}, "2026-03-11")
    held = check_and_record(page, "DESK-2026 held")
    assert server.http.get("/v1/conferences/DESK-2026").json()["status"] == "held"

    # The new-user trial's mistakes, each refused beside its field, nothing appended.
    choose(page, "DelegationAttended", {"data.conference": "DESK-2026", "data.state": "AR",
                                        "data.role": "observer"}, "2026-03-10")
    refused_beside(page, server, "data.state", "alpha-2")
    choose(page, "StateJoinedNetwork", {"data.network": "RELACOPAZ", "data.state": "PER",
                                        "data.role": "observer"}, "12/09/2023")
    refused_beside(page, server, "effective_date", "12/09/2023")
    choose(page, "DeclarationSigned", {"data.declaration": "BUENOS-AIRES-2023",
                                       "data.state": "ARG"}, "2023-09-13")
    end = last(server)
    page.click("#check")
    expect(page.locator("#record-problem")).to_contain_text("ARG already signed")
    assert last(server) == end
    choose(page, "StateJoinedNetwork", {"data.network": "RELACOPAS", "data.state": "PER",
                                        "data.role": "observer"}, "2024-01-01")
    refused_beside(page, server, "data.network", "did you mean RELACOPAZ")

    # A correction, from the entry's page: its effect previewed, then recorded.
    page.goto(f"{server.url}/entries/{joined}")
    page.click("#to-desk")
    expect(page.locator("#found-summary")).to_contain_text("Chile joined")
    page.click("#correct-it")
    expect(page.locator("[id='f-data.state']")).to_have_value("CHL")
    page.fill("#f-effective_date", "2024-04-01")
    page.fill("#f-reason", "The date was wrong")
    page.click("#check")
    expect(page.locator("#preview table")).to_contain_text("2024-04-01")
    expect(page.locator("#preview table")).to_contain_text("2024-05-01")
    page.click("#commit")
    expect(page.locator("#preview .recorded")).to_be_visible()
    corrected = server.http.get(f"/v1/events/{last(server)}").json()
    assert corrected["type"] == "EntryCorrected" and corrected["data"]["position"] == joined
    assert corrected["effective_date"] == "2024-04-01"

    # A file with one bad line: nothing appended, the line named; put right, recorded once;
    # uploaded again, nothing appended.
    lines: list[dict[str, Any]] = [
        {"comment": "Observers of the desk workshop"},
        {"type": "DelegationAttended", "effective_date": "2026-03-10",
         "data": {"conference": "DESK-2026", "state": "BRA", "role": "observer"}},
        {"type": "DelegationAttended", "effective_date": "2026-03-10",
         "data": {"conference": "DESK-2026", "state": "PE", "role": "observer"}},
        {"type": "DelegationAttended", "effective_date": "2026-03-10",
         "data": {"conference": "DESK-2026", "state": "MEX", "role": "observer"}},
    ]
    bad = tmp_path / "observers.jsonl"
    bad.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    end = last(server)
    page.set_input_files("#f-file", str(bad))
    page.click("#batch-check")
    problems = page.locator("#batch-problem-list tbody tr")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text("3")
    expect(problems.first).to_contain_text("alpha-2")
    expect(page.locator("#batch-commit")).to_be_disabled()
    assert last(server) == end
    lines[2]["data"]["state"] = "PER"
    good = tmp_path / "observers-fixed.jsonl"
    good.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    page.set_input_files("#f-file", str(good))
    page.click("#batch-check")
    expect(page.locator("#batch-preview")).to_contain_text("Brazil attended DESK-2026")
    page.click("#batch-commit")
    expect(page.locator("#batch-preview .recorded")).to_contain_text("Recorded 3 entries")
    assert last(server) == end + 3
    page.set_input_files("#f-file", str(good))
    page.click("#batch-check")
    expect(page.locator("#batch-preview")).to_contain_text("Already recorded")
    expect(page.locator("#batch-commit")).to_be_disabled()
    assert last(server) == end + 3
    assert held < end


def test_a_reader_key_sees_the_desk_read_only_and_a_revoked_key_is_refused(
    page: Any, server: DemoServer,
) -> None:
    sign_in(page, server, tokens(server)["auditor"])
    expect(page.locator("#who")).to_contain_text("auditor (reader)")
    expect(page.locator("#who")).to_contain_text("read-only")
    expect(page.locator("#check")).to_be_disabled()
    expect(page.locator("#batch-check")).to_be_disabled()
    page.click("#sign-out")
    expect(page.locator("#sign-in")).to_be_visible()

    admin = bearer(tokens(server)[ADMIN])
    made = server.http.post("/v1/keys", json={"name": "clerk-2", "role": "recorder"},
                            headers=admin)
    assert made.status_code == 201, made.text
    sign_in(page, server, made.json()["token"])
    assert server.http.delete("/v1/keys/clerk-2", headers=admin).status_code == 200
    end = last(server)
    choose(page, "StateJoinedNetwork", {"data.network": "RELACOPAZ", "data.state": "PER",
                                        "data.role": "observer"}, "2024-01-01")
    page.click("#check")
    expect(page.locator("#f-token-error")).to_contain_text("refused your key")
    expect(page.locator("#desk")).to_be_hidden()
    assert last(server) == end


def test_axe_finds_no_serious_or_critical_violation_on_the_desk(
    page: Any, server: DemoServer,
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    sign_in(page, server, tokens(server)[RECORDER])
    page.select_option("#f-type", "SessionHeld")
    page.click("[id='f-data.speakers'] > button")
    page.click("#check")
    expect(page.locator("#record-problem")).to_be_visible()
    found = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
               if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_a_csv_file_is_checked_by_line_and_recorded(
    page: Any, server: DemoServer, tmp_path: Path,
) -> None:
    sign_in(page, server, tokens(server)[RECORDER])
    header = ("type,effective_date,source,data.conference,data.title,data.host_state,"
              "data.starts_on,data.state,data.role,data.head.name,data.head.title")
    rows = [
        'ConferenceScheduled,2026-01-20,"Note, p. 1",DESK-CSV,CSV Workshop,COL,2026-02-01,,,,',
        'DelegationAttended,2026-02-01,,DESK-CSV,,,,ECU,participant,B. Head,"Minister, '
        'Defence"',
        'DelegationAttended,2026-02-01,,DESK-CSV,,,,12,observer,,',
    ]
    bad = tmp_path / "workshop.csv"
    bad.write_text("\n".join([header, *rows]) + "\n")
    end = last(server)
    page.set_input_files("#f-file", str(bad))
    page.click("#batch-check")
    problems = page.locator("#batch-problem-list tbody tr")
    expect(problems).to_have_count(1)
    expect(problems.first.locator("td").first).to_have_text("4")
    assert last(server) == end
    good = tmp_path / "workshop-fixed.csv"
    good.write_text("\n".join([header, *rows[:2]]) + "\n")
    page.set_input_files("#f-file", str(good))
    page.click("#batch-check")
    expect(page.locator("#batch-preview")).to_contain_text("Ecuador attended DESK-CSV")
    page.click("#batch-commit")
    expect(page.locator("#batch-preview .recorded")).to_contain_text("Recorded 2 entries")
    delegation = server.http.get(f"/v1/events/{end + 2}").json()
    assert delegation["data"]["head"] == {"name": "B. Head", "title": "Minister, Defence"}
    scheduled = server.http.get(f"/v1/events/{end + 1}").json()
    assert scheduled["source"] == "Note, p. 1"
    # A JSON Lines file's line that is not JSON is named; nothing is sent.
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"comment": "x"}\n{"type": "ConferenceHeld",\n')
    page.set_input_files("#f-file", str(broken))
    page.click("#batch-check")
    expect(page.locator("#batch-problem-list tbody tr").first).to_contain_text("not JSON")
    assert last(server) == end + 2


def test_a_retry_after_a_lost_answer_records_once(page: Any, server: DemoServer) -> None:
    sign_in(page, server, tokens(server)[RECORDER])
    choose(page, "SessionHeld", {"data.conference": "ALCONU-II",
                                 "data.title": "A session recorded once"}, "2023-09-12")
    page.click("#check")
    expect(page.locator("#preview")).to_contain_text("A session recorded once")
    end = last(server)
    lost: list[str] = []

    def deliver_then_lose(route: Any) -> None:
        # The server records it; the answer never reaches the page.
        if route.request.method == "POST" and "dry_run" not in route.request.url and not lost:
            lost.append(route.request.headers["idempotency-key"])
            route.fetch()
            route.abort()
        else:
            route.continue_()

    page.route("**/v1/events*", deliver_then_lose)
    page.click("#commit")
    expect(page.locator("#record-problem")).to_contain_text("could not be reached")
    assert last(server) == end + 1
    # Checked again and recorded again: the same key, so nothing more is appended.
    page.unroute("**/v1/events*")
    page.click("#check")
    expect(page.locator("#preview")).to_contain_text(f"Already recorded (entry {end + 1})")
    expect(page.locator("#commit")).to_be_disabled()
    assert last(server) == end + 1
