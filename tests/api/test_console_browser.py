"""The console in a real browser (Debian's Chromium, driven by Playwright) against a real
`concord serve --demo`: pages, charts, diffs and CSV as a reader meets them, verification
with WebCrypto, the browser as a witness of a rewritten history, the keyboard, and axe-core.

Under CI these fail, not skip, when Chromium cannot start. Set CONCORD_SCREENSHOTS to a
directory to keep the README's pictures from a run.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from concord.tlog.cosignature import Cosigner
from concord.tlog.notes import split_note
from tests.api.console import DemoServer, parse_csv, start_demo
from tests.api.research import NETWORK, record_later_changes

sync_api = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")

DEMO_ENTRIES = 89


@dataclass
class Demo:
    """The demo server, and the positions of the changes recorded after the demo."""

    server: DemoServer
    at: dict[str, int]

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, **params: Any) -> Any:
        answer = self.server.http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo")
    server = start_demo(directory / "data", directory / "server.log")
    try:
        at = record_later_changes(server.http, DEMO_ENTRIES)
        # An instrument (made up for the test), two consents and its entry into force.
        answer = server.http.post("/v1/events/batch", json={"events": [
            {"type": "InstrumentAdopted", "effective_date": "2024-01-10", "data": {
                "instrument": "PACT", "title": "Training Pact", "kind": "agreement",
                "network": NETWORK, "entry_into_force": {"consents_required": 1}}},
            {"type": "ConsentExpressed", "effective_date": "2024-02-01",
             "data": {"instrument": "PACT", "state": "ARG", "form": "signature"}},
            {"type": "ConsentExpressed", "effective_date": "2024-03-01",
             "data": {"instrument": "PACT", "state": "ARG", "form": "ratification"}},
            {"type": "ConsentExpressed", "effective_date": "2024-03-05",
             "data": {"instrument": "PACT", "state": "URY", "form": "signature"}},
            {"type": "InstrumentEnteredIntoForce", "effective_date": "2024-04-01",
             "data": {"instrument": "PACT"}}]})
        assert answer.status_code == 201, answer.text
        at["pact"] = answer.json()["events"][0]["position"]
        yield Demo(server, at)
    finally:
        server.stop()


@dataclass
class Visit:
    """A browser context (its own storage) that records every request and every console
    error of its pages."""

    context: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self) -> Any:
        made = self.context.new_page()
        made.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        made.on("pageerror", lambda e: self.errors.append(str(e)))
        return made


@pytest.fixture
def visit(browser: Any) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    visit = Visit(context)
    context.on("request", lambda r: visit.requests.append(r.url))
    yield visit
    context.close()


def settled(page: Any) -> str:
    """The state the page's check of the log settles in (ok, alarm, failed...)."""
    page.wait_for_function(
        "() => !['checking', undefined].includes(document.getElementById('log-status')"
        ".dataset.state)")
    state: str = page.eval_on_selector("#log-status", "e => e.dataset.state")
    return state


def pages_of(demo: Demo) -> list[str]:
    return ["/", f"/networks/{NETWORK}", f"/networks/{NETWORK}?as_of={demo.at['founded']}",
            "/history", "/history?state=ARG&order=effective_date", "/changes",
            f"/changes?network={NETWORK}&from={DEMO_ENTRIES}", "/states/ARG", "/conferences",
            "/conferences/ALCONU-II", "/declarations", "/declarations/BUENOS-AIRES-2023",
            f"/entries/{demo.at['per_left']}", "/states?code=Nowhere+at+all", "/networks/NOPE",
            "/instruments", "/instruments/PACT",
            f"/instruments/PACT?on=2024-03-15&as_of={demo.at['pact'] + 3}"]


def test_every_page_renders_with_no_console_error_and_no_request_leaving_the_machine(
    demo: Demo, visit: Visit
) -> None:
    page = visit.page()
    for path in pages_of(demo):
        answer = page.goto(demo.url + path)
        assert answer.status in (200, 404), path
        assert settled(page) == "ok", (path, page.inner_text("#log-status"))
        assert page.locator("h1").count() == 1
    assert visit.requests and all(
        url.startswith(demo.url + "/") or url.startswith("blob:") for url in visit.requests), [
        url for url in visit.requests if not url.startswith(demo.url)]
    # A 404 page is a page, not a console error, though the browser reports its status.
    assert [e for e in visit.errors if "404" not in e] == []


def _drawn(page: Any, day: str) -> dict[str, int]:
    counts: dict[str, int] = page.evaluate(
        """day => {
          const counts = {member: 0, observer: 0};
          for (const r of document.querySelectorAll('svg.counts rect[data-role]')) {
            const from = r.dataset.from, to = r.dataset.to;
            if (from <= day && (!to || day < to)) counts[r.dataset.role] += Number(r.dataset.count);
          }
          return counts;
        }""", day)
    return counts


def test_the_chart_counts_equal_the_api_s_for_five_dates_at_two_positions(
    demo: Demo, visit: Visit
) -> None:
    page = visit.page()
    days = ["2023-09-12", "2024-02-15", "2024-06-01", "2024-12-31", "2025-06-01"]
    for as_of in (demo.at["chl_joined"], demo.at["mex_left"]):
        page.goto(f"{demo.url}/networks/{NETWORK}?as_of={as_of}")
        for day in days:
            members = demo.get(f"/v1/networks/{NETWORK}/members", on=day, as_of=as_of).json()
            expected = {"member": 0, "observer": 0}
            for member in members["members"]:
                expected[member["role"]] += 1
            assert _drawn(page, day) == expected, (as_of, day)
    # The slider redraws the record as it stood, without a reload.
    settled(page)
    page.fill("#record-position", str(demo.at["founded"]))
    page.wait_for_function(
        f"() => document.getElementById('record-state').textContent.includes("
        f"'position {demo.at['founded']}')")
    assert _drawn(page, "2024-06-01") == {"member": 18, "observer": 0}
    assert page.input_value("#f-as_of") == str(demo.at["founded"])
    assert f"as_of={demo.at['founded']}" in page.url
    shots = os.environ.get("CONCORD_SCREENSHOTS")
    if shots:
        page.goto(f"{demo.url}/networks/{NETWORK}")
        settled(page)
        top = page.locator("#record-form").bounding_box()
        bottom = page.locator("#timeline-heading ~ details").bounding_box()
        assert top and bottom
        page.screenshot(path=str(Path(shots) / "console-network.png"), full_page=True,
                        clip={"x": 0, "y": top["y"] - 10, "width": 1280,
                              "height": bottom["y"] - top["y"]})


def test_the_diff_page_lists_exactly_the_entries_between_two_positions(
    demo: Demo, visit: Visit
) -> None:
    page = visit.page()
    page.goto(f"{demo.url}/networks/{NETWORK}")
    start, end = demo.at["founded"] + 1, demo.at["chl_corrected"]
    page.fill("#diff-from", str(start))
    page.fill("#diff-to", str(end))
    page.click("#diff-form button[type=submit]")
    page.wait_for_url("**/changes?**")
    shown = page.eval_on_selector_all("#changed-entries tr[data-position]",
                                      "rows => rows.map(r => Number(r.dataset.position))")
    api = demo.get("/v1/changes", from_position=start, to_position=end, network=NETWORK).json()
    assert shown == [e["position"] for e in api["entries"]] == list(range(start + 1, end + 1))
    states = page.eval_on_selector_all("#membership-changes tr[data-state]",
                                       "rows => rows.map(r => r.dataset.state)")
    assert states == [m["state"] for m in api["membership"] for _ in m["changes"]]


def verify(page: Any, url: str) -> str:
    """Open an entry's page, press Verify, and wait for the verdict."""
    page.goto(url)
    page.click("#verify-button")
    page.wait_for_function("() => /^(Verified|Verification failed)/.test("
                           "document.getElementById('verify-result').textContent)")
    verdict: str = page.inner_text("#verify-result")
    return verdict


def test_in_browser_verification_passes_for_every_entry(demo: Demo, visit: Visit) -> None:
    page = visit.page()
    last = demo.get("/v1/events", after=0, limit=1000).json()["events"][-1]["position"]
    for position in range(1, last + 1):
        verdict = verify(page, f"{demo.url}/entries/{position}")
        assert verdict.startswith(f"Verified: the entry {position} shown as JSON above is in "
                                  "the log"), verdict
    results = page.eval_on_selector_all("#verify-steps li", "l => l.map(i => i.dataset.result)")
    assert results == ["passed", "passed", "unasked", "passed", "passed", "passed"]
    shots = os.environ.get("CONCORD_SCREENSHOTS")
    if shots:
        verify(page, f"{demo.url}/entries/{demo.at['chl_corrected']}")
        page.locator("#verify-section").screenshot(path=str(Path(shots) / "console-verify.png"))
    assert visit.errors == []


def test_verification_fails_naming_the_step_when_the_database_was_edited_after_signing(
    visit: Visit, tmp_path: Path
) -> None:
    server = start_demo(tmp_path / "data", tmp_path / "server.log")
    try:
        assert server.http.get("/v1/log/checkpoint").text.count("\n") >= 4  # signed now
    finally:
        server.stop()
    # The operator edits an entry's payload in the database file, the server stopped.
    with sqlite3.connect(tmp_path / "data" / "concord.db") as db:
        state = bytes(db.execute("SELECT state FROM stored_events WHERE rowid=30").fetchone()[0])
        edited = state.replace(b'"cli:concord-demo"', b'"someone-else"')
        assert edited != state
        db.execute("UPDATE stored_events SET state=? WHERE rowid=30", (edited,))
    server = start_demo(tmp_path / "data", tmp_path / "server.log")
    try:
        page = visit.page()
        verdict = verify(page, f"{server.url}/entries/30")
        assert verdict.startswith("Verification failed at step 4, “The entry shown is the "
                                  "leaf the log's tree holds”"), verdict
        steps = page.eval_on_selector_all("#verify-steps li", "l => l.map(i => i.dataset.result)")
        assert steps == ["passed", "passed", "unasked", "failed", "skipped", "skipped"]
        assert "someone-else" in page.inner_text("#envelope")
        # Any other entry still verifies: the edit is named, not the whole log.
        assert verify(page, f"{server.url}/entries/31").startswith("Verified")
    finally:
        server.stop()


def test_a_history_rewritten_with_the_same_key_fails_the_remembered_checkpoint_loudly(
    visit: Visit, tmp_path: Path
) -> None:
    honest = start_demo(tmp_path / "honest", tmp_path / "honest.log")
    port = honest.port
    try:
        page = visit.page()
        page.goto(honest.url + "/")
        assert settled(page) == "ok"
        remembered = page.evaluate("() => JSON.parse(localStorage['concord.checkpoint'])")
        assert remembered["size"] == DEMO_ENTRIES
    finally:
        honest.stop()
    # The operator rewrites the record with the same key, at the same address: a new log
    # whose entries were recorded at other times, and one more.
    forged_dir = tmp_path / "forged"
    forged_dir.mkdir()
    (forged_dir / "signing.key").write_bytes((tmp_path / "honest" / "signing.key").read_bytes())
    (forged_dir / "signing.key").chmod(0o600)
    forged = start_demo(forged_dir, tmp_path / "forged.log", port=port)
    try:
        appended = forged.http.post("/v1/events", json={
            "type": "StateLeftNetwork", "effective_date": "2024-01-01",
            "data": {"network": NETWORK, "state": "ARG"}})
        assert appended.status_code == 201, appended.text
        page.goto(forged.url + "/")
        assert settled(page) == "alarm"
        alert = page.inner_text("#log-status [role=alert]")
        assert f"does not extend the one of {DEMO_ENTRIES} entries" in alert, alert
        links = page.eval_on_selector_all(
            "#log-status a[download]", "l => l.map(a => [a.download, a.href])")
        assert [name for name, _ in links] == [f"checkpoint-{DEMO_ENTRIES}-verified.txt",
                                               f"checkpoint-{DEMO_ENTRIES + 1}-served.txt"]
        with page.expect_download() as saved:
            page.click("text=Download the checkpoint verified before")
        kept = Path(saved.value.path()).read_text()
        assert kept == remembered["note"]
        # The browser keeps what it verified: the alarm stays on the next visit.
        page.goto(forged.url + f"/networks/{NETWORK}")
        assert settled(page) == "alarm"
        assert page.evaluate("() => JSON.parse(localStorage['concord.checkpoint']).size") == \
            DEMO_ENTRIES
        # An entry's verification names the step too.
        assert "step 6" in verify(page, f"{forged.url}/entries/1")
        violations = _serious(page)
        assert violations == [], violations
    finally:
        forged.stop()


def test_the_witnesses_a_reader_trusts_are_checked_in_the_browser(
    visit: Visit, tmp_path: Path
) -> None:
    server = start_demo(tmp_path / "data", tmp_path / "server.log")
    try:
        note = server.http.get("/v1/log/checkpoint").text
    finally:
        server.stop()
    # Two member states' witnesses cosigned the checkpoint (their lines kept by the log as
    # its collector keeps them); a third did not.
    text = split_note(note)[0]
    size = int(text.split("\n")[1])
    witnesses = [Cosigner.generate(f"{state}.example/witness") for state in ("arg", "bra", "chl")]
    with sqlite3.connect(tmp_path / "data" / "concord.db") as db:
        for witness in witnesses[:2]:
            db.execute("INSERT INTO concord_cosignatures VALUES (?, ?, ?, ?)",
                       (size, witness.verifier().label, witness.cosign(text, 1_800_000_000),
                        1_800_000_000))
    server = start_demo(tmp_path / "data", tmp_path / "server.log")
    try:
        page = visit.page()
        page.goto(server.url + "/")
        assert settled(page) == "ok"
        assert "arg.example/witness, bra.example/witness; add the keys" in page.inner_text(
            "#log-status")

        def trust(keys: list[Cosigner], quorum: int) -> None:
            page.click("#log-status summary")
            page.fill("#trusted-witnesses", "\n".join(w.verifier().key_string() for w in keys))
            page.fill("#witness-quorum", str(quorum))
            page.click("#keep-witnesses")
            page.wait_for_function(
                "() => document.getElementById('trusted-result').textContent !== ''")
            assert page.inner_text("#trusted-result").startswith("Kept"), page.inner_text(
                "#trusted-result")

        trust(witnesses[:2], 2)
        page.reload()
        assert settled(page) == "ok"
        assert "2 of the 2 witnesses this browser trusts cosigned it" in page.inner_text(
            "#log-status")
        assert verify(page, f"{server.url}/entries/3").startswith("Verified")
        steps = page.eval_on_selector_all("#verify-steps li", "l => l.map(i => i.dataset.result)")
        assert steps[2] == "passed"
        # Demanding the third witness too: the checkpoint falls short, and says why.
        trust(witnesses, 3)
        page.reload()
        assert settled(page) == "failed"
        assert "2 of the 3 witnesses this browser trusts cosigned it" in page.inner_text(
            "#log-status")
        verdict = verify(page, f"{server.url}/entries/3")
        assert verdict.startswith("Verification failed at step 3, “The witnesses' "
                                  "cosignatures”"), verdict
        # A key that is not a witness's is refused, and nothing is kept.
        page.click("#log-status summary")
        page.fill("#trusted-witnesses", server.http.get("/v1/log/public-key").text)
        page.click("#keep-witnesses")
        page.wait_for_function(
            "() => document.getElementById('trusted-result').textContent.startsWith('Not')")
        assert "cosignature/v1 key" in page.inner_text("#trusted-result")
    finally:
        server.stop()


def cell(value: Any) -> str:
    """A JSON value as its CSV cell: null empty, booleans as JSON writes them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_csv_downloads_parse_and_match_the_json(demo: Demo, visit: Visit) -> None:
    page = visit.page()
    checked = 0
    cases: list[tuple[str, str, Callable[[dict[str, Any]], list[dict[str, Any]]]]] = [
        (f"/networks/{NETWORK}", f"/v1/networks/{NETWORK}/members", lambda a: a["members"]),
        (f"/networks/{NETWORK}", f"/v1/networks/{NETWORK}/intervals",
         lambda a: a["intervals"]),
        (f"/networks/{NETWORK}", f"/v1/networks/{NETWORK}/series", lambda a: a["series"]),
        ("/history?limit=20", "/v1/history", lambda a: a["entries"]),
        ("/declarations/BUENOS-AIRES-2023", "/v1/declarations/BUENOS-AIRES-2023",
         lambda a: a["signed"]),
        (f"/changes?network={NETWORK}&from=80", "/v1/changes", lambda a: a["entries"]),
    ]
    for path, json_path, rows_of in cases:
        page.goto(demo.url + path)
        link = page.locator(f"a.csv[href^='{json_path}?']").first
        href = link.get_attribute("href")
        with page.expect_download() as saved:
            link.click()
        rows = parse_csv(Path(saved.value.path()).read_text())
        answer = demo.server.http.get(href.replace("format=csv", "format=json")).json()
        expected = rows_of(answer)
        assert rows and len(rows) == len(expected), path
        for row, item in zip(rows, expected, strict=True):
            assert {k: v for k, v in row.items() if not isinstance(item.get(k), dict | list)} \
                == {k: cell(item.get(k)) for k in row
                    if not isinstance(item.get(k), dict | list)}
        checked += 1
    assert checked == 6


def test_keyboard_navigation_reaches_every_control(demo: Demo, visit: Visit) -> None:
    page = visit.page()
    for path in [p for p in pages_of(demo) if not p.startswith("/history?")]:
        page.goto(demo.url + path)
        settled(page)
        wanted = page.evaluate(
            """() => {
              // What a closed <details> holds is reached once it is opened: open them all.
              document.querySelectorAll('details').forEach(d => d.open = true);
              const all = document.querySelectorAll('a[href], button:not([disabled]), ' +
                'input:not([type=hidden]), select, summary, [tabindex]:not([tabindex="-1"])');
              let n = 0;
              for (const e of all) if (e.getClientRects().length) e.dataset.probe = n++;
              return n;
            }""")
        reached: set[int] = set()
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        for _ in range(3 * wanted + 20):
            page.keyboard.press("Tab")
            probe = page.evaluate("() => document.activeElement.dataset.probe")
            if probe is not None:
                reached.add(int(probe))
            if len(reached) == wanted:
                break
        assert len(reached) == wanted, (path, wanted, sorted(set(range(wanted)) - reached))


def _serious(page: Any) -> list[tuple[str, str, list[str]]]:
    from axe_playwright_python.sync_playwright import Axe
    found = Axe().run(page).response["violations"]
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
            if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_or_critical_violation_on_any_page(
    demo: Demo, visit: Visit
) -> None:
    page = visit.page()
    for path in pages_of(demo):
        page.goto(demo.url + path)
        settled(page)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        assert _serious(page) == [], path
    verify(page, f"{demo.url}/entries/2")
    assert _serious(page) == []
