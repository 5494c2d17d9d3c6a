"""The console's pages, in-process, on both backends: what each page shows equals what the
JSON API answers, exhaustively over the record's positions and dates; the browser's own
checks are in test_console_browser.py."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from concord.api.http.app import create_app
from concord.api.settings import Settings
from concord.tlog.leaves import leaf_bytes
from tests.api.console import Element, parse_csv, parse_page
from tests.api.research import NETWORK, record_changes

PAGES = ["/", f"/networks/{NETWORK}", "/history", "/changes", "/states/ARG", "/conferences",
         "/conferences/ALCONU-II", "/declarations", "/declarations/BUENOS-AIRES-2023",
         "/entries/1", f"/changes?network={NETWORK}&from=80&to=95",
         "/history?order=effective_date&limit=5"]


@pytest.fixture
def changed(client: TestClient) -> dict[str, int]:
    return record_changes(client)


def page(client: TestClient, path: str, status: int = 200) -> Element:
    answer = client.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == status, answer.text[:2000]
    assert answer.headers["content-type"].startswith("text/html")
    return parse_page(answer.text)


def test_every_page_is_drawn_on_the_server_from_this_server_s_assets_alone(
    client: TestClient, changed: dict[str, int]
) -> None:
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:2000])
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "connect-src 'self'" in policy
        document = parse_page(answer.text)
        assert document.one("h1").text
        assert document.one("main").text  # readable without JavaScript
        for element in document.all():
            for name in ("src", "href", "action"):
                link = element.attrs.get(name)
                if link is None:
                    continue
                # Every link stays on this server: no scheme, no host of its own.
                assert not urlsplit(link).scheme and not urlsplit(link).netloc, (path, link)
                if element.tag in ("script", "link"):
                    asset = client.get(link)
                    assert asset.status_code == 200, link
        scripts = [s.attrs["src"] for s in document.all("script")]
        assert "/static/witness.js" in scripts


def _chart_counts(chart: Element, day: str) -> dict[str, int]:
    """The counts by role the counts chart draws on `day`."""
    counts = {"member": 0, "observer": 0}
    for rect in chart.all("rect", data_role=True):
        start, end = rect.attrs["data-from"], rect.attrs["data-to"]
        if start <= day and (not end or day < end):
            counts[rect.attrs["data-role"]] += int(rect.attrs["data-count"])
    return counts


def test_the_chart_draws_the_members_on_every_date_as_the_record_stood_at_every_position(
    client: TestClient, changed: dict[str, int]
) -> None:
    last = client.get("/v1/events", params={"after": 0, "limit": 1000}).json()["events"][-1][
        "position"]
    founded = client.get(f"/v1/networks/{NETWORK}", params={"min_position": last}).json()[
        "established_at"]
    for as_of in range(founded, last + 1):
        document = page(client, f"/networks/{NETWORK}?as_of={as_of}")
        chart = document.one("svg", class_="chart counts")
        intervals = client.get(f"/v1/networks/{NETWORK}/intervals",
                               params={"as_of": as_of}).json()["intervals"]
        days = {str(i[key]) for i in intervals for key in ("valid_from", "valid_to") if i[key]}
        for change in sorted(days):
            for day in (date.fromisoformat(change) + timedelta(days=d) for d in (-1, 0, 1)):
                members = client.get(f"/v1/networks/{NETWORK}/members",
                                     params={"on": day.isoformat(), "as_of": as_of}).json()
                expected = {"member": 0, "observer": 0}
                for member in members["members"]:
                    expected[member["role"]] += 1
                assert _chart_counts(chart, day.isoformat()) == expected, (as_of, day)
        # Check the timeline: a bar per interval, in the state's row.
        timeline = document.one("svg", class_="chart timeline")
        drawn = sorted((row.attrs["data-state"], bar.attrs["data-role"], *pair.split("/"))
                       for row in timeline.all("g", class_="row") for bar in row.all("path")
                       for pair in bar.attrs["data-intervals"].split())
        assert drawn == sorted((i["state"], i["role"], i["valid_from"], i["valid_to"] or "")
                               for i in intervals)
        assert f"position {as_of}" in document.by_id("record-state").text


def test_the_record_as_it_stood_at_a_moment_is_the_one_the_api_gives(
    client: TestClient, changed: dict[str, int]
) -> None:
    entry = client.get(f"/v1/events/{changed['arg_left']}").json()
    document = page(client, f"/networks/{NETWORK}?as_of={entry['recorded_at']}")
    api = client.get(f"/v1/networks/{NETWORK}/members",
                     params={"as_of": entry["recorded_at"]}).json()
    assert f"position {api['as_of']}" in document.by_id("record-state").text
    assert document.by_id("f-as_of").attrs["value"] == entry["recorded_at"]


def test_a_bad_as_of_or_date_is_named_beside_its_field_and_the_record_as_it_stands_drawn(
    client: TestClient, changed: dict[str, int]
) -> None:
    for query, field, words in [
        ("as_of=yesterday", "as_of", "neither a position nor an RFC 3339 moment"),
        ("as_of=99999", "as_of", "beyond"),
        ("as_of=1", "as_of", "not yet on record"),
        ("on=12/09/2023", "on", "YYYY-MM-DD"),
    ]:
        document = page(client, f"/networks/{NETWORK}?{query}", status=422)
        assert words in document.by_id(f"f-{field}-error").text, query
        assert document.by_id(f"f-{field}").attrs.get("aria-invalid") == "true"
        assert document.one("div", class_="problem").attrs["role"] == "alert"
        # The rest of the page still shows the record as it stands.
        assert document.one("svg", class_="chart counts")


def test_the_history_strikes_what_was_undone_and_marks_what_was_recorded_late(
    client: TestClient, changed: dict[str, int]
) -> None:
    document = page(client, "/history?limit=1000")
    rows = {int(next(row.all("td")).text): row for row in document.one("table").all("tr")
            if list(row.all("td"))}
    retracted = rows[changed["per_left"]]
    assert retracted.attrs["class"] == "undone" and list(retracted.all("del"))
    assert (f"Retracted by entry {changed['per_retracted']}" in retracted.text
            and "Recorded against the wrong state" in retracted.text)
    corrected = rows[changed["chl_joined"]]
    assert f"Corrected by entry {changed['chl_corrected']}" in corrected.text
    assert "The date was wrong" in corrected.text
    # The founding scenario's entries took effect years before they were recorded.
    first = rows[1]
    recorded = client.get("/v1/events/1").json()
    assert "back-dated: recorded" in first.text
    assert recorded["effective_date"] < recorded["recorded_at"][:10]
    assert "back-dated" not in rows[changed["per_retracted"]].text  # effective the same day
    # Check filters, order and the next page, as the API gives them.
    api = client.get("/v1/history", params={"state": "ARG", "limit": 3}).json()
    filtered = page(client, "/history?state=ARG&limit=3")
    positions = [int(next(r.all("td")).text) for r in filtered.one("table").all("tr")
                 if list(r.all("td"))]
    assert positions == [e["position"] for e in api["entries"]]
    following = filtered.one("a", rel="next").attrs["href"]
    assert dict(parse_qsl(urlsplit(following).query))["after"] == api["next_after"]


def test_the_history_as_the_record_stood_hides_later_retractions(
    client: TestClient, changed: dict[str, int]
) -> None:
    before = changed["per_retracted"] - 1
    document = page(client, f"/history?as_of={before}&limit=1000")
    assert f"as the record stood at position {before}" in document.one("h2").text
    api = client.get("/v1/history", params={"as_of": before, "limit": 1000}).json()
    assert api["as_of"] == before
    assert [e["position"] for e in api["entries"]] == list(range(1, before + 1))
    assert next(e for e in api["entries"] if e["position"] == changed["per_left"])[
        "retracted_by"] is None
    assert "Retracted by" not in document.text


def test_a_refused_filter_is_named_beside_its_field(client: TestClient,
                                                     changed: dict[str, int]) -> None:
    for query, field, words in [("state=AR", "state", "'ARG'"), ("from=2024-13-01", "from",
                                "calendar"), ("type=StateJoined", "type", "not an event type"),
                                ("limit=0", "limit", "from 1 to 1,000"),
                                ("after=x", "after", "not a cursor"),
                                ("as_of=tomorrow", "as_of", "neither")]:
        document = page(client, f"/history?{query}", status=422)
        summary = document.one("div", class_="problem").text
        assert f"{field}:" in summary and words in summary, query
        if field != "after":  # the cursor is in the next page's link, not a field
            assert words in document.by_id(f"f-{field}-error").text, query
    document = page(client, "/history?from=2025-01-01&to=2024-01-01", status=422)
    assert "later than to" in document.by_id("f-from-error").text


def test_the_changes_page_lists_exactly_the_entries_between_two_positions(
    client: TestClient, changed: dict[str, int]
) -> None:
    last = changed["mex_left"]
    for start in range(changed["founded"] - 2, last + 1):
        for end in range(start, last + 1):
            document = page(client, f"/changes?network={NETWORK}&from={start}&to={end}")
            api = client.get("/v1/changes", params={
                "from_position": start, "to_position": end, "network": NETWORK}).json()
            shown = [int(row.attrs["data-position"]) for row in document.all(
                "tr", data_position=True)]
            assert shown == [e["position"] for e in api["entries"]] == list(
                range(start + 1, end + 1))
            drawn = [(row.attrs["data-state"], *[td.text for td in row.all("td")])
                     for row in document.all("tr", data_state=True)]
            assert [(state, before, after) for state, _, before, after in drawn] == [
                (m["state"], c["before"] or "not in the network", c["after"] or
                 "not in the network") for m in api["membership"] for c in m["changes"]]


def test_the_changes_between_two_moments(client: TestClient, changed: dict[str, int]) -> None:
    start = client.get(f"/v1/events/{changed['founded']}").json()["recorded_at"]
    end = client.get(f"/v1/events/{changed['mex_left']}").json()["recorded_at"]
    document = page(client, f"/changes?network={NETWORK}&from={start}&to={end}")
    shown = [int(row.attrs["data-position"]) for row in document.all("tr", data_position=True)]
    assert shown[-1] == changed["mex_left"] and shown[0] > changed["founded"] - 1
    document = page(client, "/changes?from=9&to=3", status=422)
    assert "after to_position" in document.by_id("f-from-error").text
    document = page(client, "/changes?network=NOPE", status=422)
    assert "NOPE is not on record" in document.by_id("f-network-error").text


def test_what_is_not_on_record_is_a_page_saying_so(client: TestClient,
                                                   changed: dict[str, int]) -> None:
    for path, words in [("/networks/NOPE", "network NOPE is not on record"),
                        ("/states/AR", "'ARG'"), ("/states/XKX", "not registered"),
                        ("/entries/0", "not a position"), ("/entries/9999", "no entry at"),
                        ("/conferences/NOPE", "not on record"),
                        ("/declarations/NOPE", "not on record"),
                        ("/networks/%20bad", "not a network's code")]:
        document = page(client, path, status=404)
        assert words in document.one("div", class_="problem").text, path
    # A page given a query parameter it does not take says so as a page too.
    assert "unknown query parameter" in page(client, "/?x=1", status=422).text
    # A browser that follows a broken link gets a page; a program gets a problem.
    assert page(client, "/no/such/page", status=404).one("h1").text == "Not found"
    answer = client.get("/no/such/page")
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_state_is_found_by_its_name_or_its_code(client: TestClient,
                                                  changed: dict[str, int]) -> None:
    for asked, found in [("Chile", "CHL"), ("chl", "CHL"), ("Panama", "PAN"), ("ARG", "ARG")]:
        answer = client.get("/states", params={"code": asked}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/states/{found}"
    assert "No state matches" in page(client, "/states?code=Nowhere+at+all", status=404).text
    # A code of the form states take may be one registered on the log: its page says not.
    assert "not registered" in page(client, "/states?code=qqq", status=404).text
    dossier = page(client, "/states/ARG")
    assert "Argentina" in dossier.one("h1").text
    assert "RELACOPAZ" in dossier.text and "ALCONU-II" in dossier.text


def test_an_entry_s_page_shows_the_leaf_and_hash_the_log_serves(
    client: TestClient, changed: dict[str, int]
) -> None:
    for position in (1, changed["per_retracted"], changed["chl_corrected"]):
        document = page(client, f"/entries/{position}")
        envelope = client.get(f"/v1/events/{position}").json()
        leaf = client.get(f"/v1/log/leaves/{position - 1}", params={"min_position": position})
        assert document.by_id("leaf").text == " ".join(leaf.text.split())
        assert leaf_bytes(envelope) == leaf.content
        assert document.by_id("leaf-hash").text == __import__("base64").b64decode(
            leaf.headers["X-Leaf-Hash"]).hex()
        section = document.by_id("verify-section")
        assert section.attrs["data-leaf-index"] == str(position - 1)
    retracted = page(client, f"/entries/{changed['per_left']}")
    assert list(retracted.all("del"))
    assert f"entry {changed['per_retracted']}" in retracted.text


def _csv_rows(answer: dict[str, Any] | list[Any], path: str, table: str | None
              ) -> list[dict[str, Any]]:
    """The JSON rows a CSV link's list holds."""
    if isinstance(answer, list):
        return answer
    if path.endswith("/members"):
        return list(answer["members"])
    if path.endswith("/intervals"):
        return list(answer["intervals"])
    if path.endswith("/series"):
        return list(answer["series"])
    if path == "/v1/history":
        return list(answer["entries"])
    if path == "/v1/changes":
        return list(answer["membership"] if table == "membership" else answer["entries"])
    if path.startswith("/v1/states/"):
        return list(answer[table or "memberships"])
    if path.startswith("/v1/conferences/"):
        if table == "schedule":
            return list(answer["schedule"])
        if table == "sessions":
            return list(answer["sessions"])
        return [*answer["delegations"]["participants"], *answer["delegations"]["observers"]]
    if path.startswith("/v1/declarations/"):
        return list(answer["withdrawn" if table == "withdrawn" else "signed"])
    raise AssertionError(f"no rows known for {path}")


def _cell(value: Any) -> str:
    import json
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_every_list_a_page_shows_downloads_as_csv_matching_the_json(
    client: TestClient, changed: dict[str, int]
) -> None:
    links = set()
    for path in PAGES:
        links |= {a.attrs["href"] for a in page(client, path).all("a", class_="csv")}
    assert len(links) >= 20
    for link in sorted(links):
        answer = client.get(link)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(
            "text/csv"), link
        rows = parse_csv(answer.text)
        split = urlsplit(link)
        query = dict(parse_qsl(split.query))
        table = query.pop("table", None)
        del query["format"]
        expected = _csv_rows(client.get(split.path, params=query).json(), split.path, table)
        assert len(rows) == len(expected), link
        for row, item in zip(rows, expected, strict=True):
            for column, cell in row.items():
                assert cell == _cell(item.get(column)), (link, column)


def test_static_assets_are_revalidated_by_their_digest(client: TestClient) -> None:
    answer = client.get("/static/tlog.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    etag = answer.headers["etag"]
    assert client.get("/static/tlog.js", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/static/nothing.js").status_code == 404


def test_pages_need_what_reads_need_and_assets_nothing(tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path / "private", public_read=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as anonymous:
        assert anonymous.get("/").status_code == 401
        assert anonymous.get(f"/networks/{NETWORK}").status_code == 401
        assert anonymous.get("/static/console.css").status_code == 200


def test_text_on_record_is_shown_as_text_never_as_markup(client: TestClient) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    answer = client.post("/v1/events/batch", json={"events": [
        {"type": "DeclarationAdopted", "data": {"declaration": "D-1", "title": hostile}},
        {"type": "DeclarationAdopted", "data": {"declaration": "D-2", "title": "Two"},
         "source": f"a source {hostile}"},
    ]})
    assert answer.status_code == 201, answer.text
    retraction = client.post("/v1/events", json={"type": "EntryRetracted", "data": {
        "position": 2, "reason": f"because {hostile}"}})
    assert retraction.status_code == 201, retraction.text
    for path in ("/", "/history", "/declarations", "/declarations/D-1", "/entries/1",
                 "/entries/2", "/changes?from=0", "/states?code=%3Cb%3E"):
        answer = client.get(path)
        assert answer.status_code in (200, 404), path
        assert "<img" not in answer.text and "&lt;img src=x" in answer.text or \
            path.startswith("/states"), path
        assert "<b>" not in answer.text, path
