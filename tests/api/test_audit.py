"""Auditing without trusting the operator: `concord export`, `checkpoint` and `verify`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from concord.api.audit.client import server_url
from concord.api.cli.app import app
from concord.api.http.app import create_app
from concord.api.settings import Settings
from tests.api.conftest import Server
from tests.backends import Backend

runner = CliRunner()


@pytest.fixture
def backend(db_path: Path) -> Backend:
    """These tests tamper with the SQLite file itself."""
    return Backend("sqlite", db_path)


def concord(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """The founding example, its projections (the Merkle tree too) caught up, and one signed
    checkpoint of its 89 entries issued."""
    data = tmp_path / "demo"
    assert concord("demo", "--data-dir", str(data))[0] == 0
    with TestClient(create_app(Settings(data_dir=data))) as client:
        assert client.get("/v1/log/checkpoint", params={"min_position": 89}).status_code == 200
    return data


def test_a_data_directory_verifies_against_its_tree_and_checkpoint(demo_dir: Path) -> None:
    status, output = concord("verify", "--data-dir", str(demo_dir))
    assert status == 0, output
    assert "OK: 89 entries verified." in output


def _edit_payload(db: sqlite3.Connection) -> int:
    state = bytearray(db.execute("SELECT state FROM stored_events WHERE rowid=30").fetchone()[0])
    # One byte of the payload: the first letter of its first value.
    at = state.index(b":", state.index(b'"data":{') + 8) + 2
    state[at] = state[at] + 1 if state[at] != ord("Z") else ord("A")
    db.execute("UPDATE stored_events SET state=? WHERE rowid=30", (bytes(state),))
    return 30


def _delete_row(db: sqlite3.Connection) -> int:
    db.execute("DELETE FROM stored_events WHERE rowid=40")
    return 40


def _swap_rows(db: sqlite3.Connection) -> int:
    rows = {rowid: rest for rowid, *rest in db.execute(
        "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
        "WHERE rowid IN (50, 51)")}
    db.execute("DELETE FROM stored_events WHERE rowid IN (50, 51)")
    db.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
               "state) VALUES (50, ?, ?, ?, ?), (51, ?, ?, ?, ?)", (*rows[51], *rows[50]))
    return 50


def _change_recorder(db: sqlite3.Connection) -> int:
    state = bytes(db.execute("SELECT state FROM stored_events WHERE rowid=60").fetchone()[0])
    edited = state.replace(b'"recorded_by":"cli:concord-demo"',
                           b'"recorded_by":"someone-else"')
    assert edited != state
    db.execute("UPDATE stored_events SET state=? WHERE rowid=60", (edited,))
    return 60


@pytest.mark.parametrize("tamper", [_edit_payload, _delete_row, _swap_rows, _change_recorder],
                         ids=["edit-payload", "delete-row", "swap-rows", "change-recorded-by"])
def test_tampering_with_the_sqlite_file_is_caught_at_its_position(
    demo_dir: Path, tamper: Callable[[sqlite3.Connection], int]
) -> None:
    with sqlite3.connect(demo_dir / "concord.db") as db:
        position = tamper(db)
    status, output = concord("verify", "--data-dir", str(demo_dir))
    assert status == 1, output
    assert f"first bad position: {position}" in output


def test_rewriting_the_log_and_rebuilding_its_tree_is_caught_by_the_signed_checkpoint(
    demo_dir: Path,
) -> None:
    with sqlite3.connect(demo_dir / "concord.db") as db:
        _edit_payload(db)
    assert concord("rebuild", "transparency", "--data-dir", str(demo_dir))[0] == 0
    status, output = concord("verify", "--data-dir", str(demo_dir))
    assert status == 1, output
    assert "not the one signed in the latest checkpoint" in output


@pytest.fixture
def audited(start_server: Callable[..., Server], tmp_path: Path) -> tuple[Server, Path, Path]:
    """A demo server; its checkpoint of 89 entries and its verifier key, saved to files."""
    server = start_server("--demo")
    assert server.http.get("/v1/log/checkpoint", params={"min_position": 89}).status_code == 200
    checkpoint, key = tmp_path / "checkpoint.txt", tmp_path / "log.vkey"
    status, output = concord("checkpoint", "--server", server.url, "--out", str(checkpoint))
    assert status == 0, output
    assert "Saved the checkpoint of 89 entries (concord.localhost/log)" in output
    key.write_text(server.http.get("/v1/log/public-key").text)
    return server, checkpoint, key


def test_an_export_verifies_offline_and_any_change_to_it_is_caught(
    audited: tuple[Server, Path, Path], tmp_path: Path,
) -> None:
    server, checkpoint, key = audited
    export = tmp_path / "export.jsonl"
    status, output = concord("export", "--data-dir", str(server.data_dir), "--out", str(export))
    assert status == 0 and "Exported 89 entries" in output
    lines = export.read_bytes().splitlines(keepends=True)

    def verify(changed: list[bytes]) -> tuple[int, str]:
        export.write_bytes(b"".join(changed))
        return concord("verify", "--export", str(export), "--checkpoint", str(checkpoint),
                       "--key", str(key))

    status, output = verify(lines)
    assert status == 0 and "OK: 89 entries verified against the checkpoint." in output, output
    edited = orjson.loads(lines[29])
    edited["recorded_by"] = "someone-else"
    status, output = verify([*lines[:29], orjson.dumps(edited) + b"\n", *lines[30:]])
    assert status == 1 and "not the signed one" in output
    located = concord("verify", "--export", str(export), "--checkpoint", str(checkpoint),
                      "--key", str(key), "--server", server.url)
    assert located[0] == 1 and "first bad position: 30" in located[1], located[1]
    first = orjson.loads(lines[0])
    first["source"] = "rewritten"
    export.write_bytes(b"".join([orjson.dumps(first) + b"\n", *lines[1:]]))
    located = concord("verify", "--export", str(export), "--checkpoint", str(checkpoint),
                      "--key", str(key), "--server", server.url)
    assert located[0] == 1 and "first bad position: 1" in located[1], located[1]
    status, output = verify([*lines[:39], *lines[40:]])
    assert status == 1 and "first bad position: 41" in output
    status, output = verify([*lines[:49], lines[50], lines[49], *lines[51:]])
    assert status == 1 and "first bad position: 51" in output
    status, output = verify([*lines[:10], lines[9], *lines[10:]])
    assert status == 1 and "first bad position: 10" in output
    status, output = verify(lines[:80])
    assert status == 1 and "entries are missing at the end" in output


def test_a_checkpoint_by_another_key_or_a_wrong_key_fails(
    audited: tuple[Server, Path, Path], tmp_path: Path,
) -> None:
    _, checkpoint, key = audited
    other = tmp_path / "other.vkey"
    other.write_text("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k\n")
    status, output = concord("verify", "--checkpoint", str(checkpoint), "--server",
                             "http://127.0.0.1:9", "--key", str(other))
    assert status == 1 and "old checkpoint" in output
    status, output = concord("verify", "--export", str(tmp_path / "none"), "--checkpoint",
                             str(checkpoint))
    assert status == 1 and "need --checkpoint and --key" in output
    status, output = concord("verify", "--data-dir", str(tmp_path / "nothing"), "--key",
                             str(key))
    assert status == 1 and "no log at" in output


def test_a_saved_checkpoint_shows_the_log_only_grew_and_then_catches_a_rewrite(
    audited: tuple[Server, Path, Path], start_server: Callable[..., Server],
) -> None:
    server, checkpoint, key = audited
    for code in ("G-1", "G-2"):
        server.http.post("/v1/events", json={"type": "DeclarationAdopted",
                                             "data": {"declaration": code, "title": code}})
    server.http.get("/v1/log/checkpoint", params={"min_position": 91})
    status, output = concord("verify", "--checkpoint", str(checkpoint), "--server", server.url,
                             "--key", str(key))
    assert status == 0, output
    assert "the log grew from 89 to 91 entries, consistently" in output
    # The operator rewrites an early entry and rebuilds the tree to match.
    server.process.terminate()
    server.process.wait(timeout=15)
    with sqlite3.connect(server.data_dir / "concord.db") as db:
        _edit_payload(db)
    assert concord("rebuild", "transparency", "--data-dir", str(server.data_dir))[0] == 0
    rewritten = start_server(data_dir=server.data_dir)
    rewritten.http.post("/v1/events", headers=server.http.headers, json={
        "type": "DeclarationAdopted", "data": {"declaration": "G-3", "title": "G-3"}})
    rewritten.http.get("/v1/log/checkpoint", params={"min_position": 92})
    status, output = concord("verify", "--checkpoint", str(checkpoint), "--server",
                             rewritten.url, "--key", str(key))
    assert status == 1, output
    assert "no proof that the log of 92 entries extends the one of 89" in output


@pytest.fixture
def grown_export(audited: tuple[Server, Path, Path], tmp_path: Path
                 ) -> tuple[Server, Path, Path, list[bytes]]:
    """The audited server after two more entries, and its export of 91 lines."""
    server, checkpoint, key = audited
    for code in ("L-1", "L-2"):
        answer = server.http.post("/v1/events", json={"type": "DeclarationAdopted",
                                                      "data": {"declaration": code,
                                                               "title": code}})
        assert answer.status_code == 201, answer.text
    export = tmp_path / "export.jsonl"
    status, output = concord("export", "--data-dir", str(server.data_dir), "--out", str(export))
    assert status == 0 and "Exported 91 entries" in output, output
    return server, checkpoint, key, export.read_bytes().splitlines(keepends=True)


def test_an_export_longer_than_the_checkpoint_says_how_many_entries_it_covers(
    grown_export: tuple[Server, Path, Path, list[bytes]], tmp_path: Path,
) -> None:
    _, checkpoint, key, lines = grown_export
    export = tmp_path / "export.jsonl"
    expected = {
        91: "OK: 89 entries verified against the checkpoint; 2 later entries are not covered",
        90: "OK: 89 entries verified against the checkpoint; 1 later entry is not covered",
        89: "OK: 89 entries verified against the checkpoint.",
    }
    for count, message in expected.items():
        export.write_bytes(b"".join(lines[:count]))
        status, output = concord("verify", "--export", str(export), "--checkpoint",
                                 str(checkpoint), "--key", str(key))
        assert status == 0 and message in output, (count, output)
        assert "90 entries verified" not in output and "91 entries verified" not in output


def test_a_change_inside_the_covered_range_of_a_longer_export_fails_by_position(
    grown_export: tuple[Server, Path, Path, list[bytes]], tmp_path: Path,
) -> None:
    server, checkpoint, key, lines = grown_export
    export = tmp_path / "export.jsonl"

    def verify(changed: list[bytes], *more: str) -> tuple[int, str]:
        export.write_bytes(b"".join(changed))
        return concord("verify", "--export", str(export), "--checkpoint", str(checkpoint),
                       "--key", str(key), *more)

    edited = orjson.loads(lines[29])
    edited["data"] = {**edited["data"], "extra": 1}
    with_edit = [*lines[:29], orjson.dumps(edited) + b"\n", *lines[30:]]
    status, output = verify(with_edit)
    assert status == 1 and "the root of the first 89 entries is not the signed one" in output
    status, output = verify(with_edit, "--server", server.url)
    assert status == 1 and "first bad position: 30" in output, output
    cases = {
        "deleted": ([*lines[:39], *lines[40:]], 41),
        "reordered": ([*lines[:49], lines[50], lines[49], *lines[51:]], 51),
        "inserted": ([*lines[:10], lines[9], *lines[10:]], 10),
        "deleted at the end of the covered range": ([*lines[:88], *lines[89:]], 90),
        "deleted after it": ([*lines[:89], lines[90]], 91),
    }
    for what, (changed, position) in cases.items():
        status, output = verify(changed)
        assert status == 1, (what, output)
        assert f"first bad position: {position}" in output, (what, output)
    status, output = verify([*lines[:89], b"not json\n", lines[90]])
    assert status == 1 and "line 90: not an entry's envelope" in output, output


def test_an_edit_after_the_checkpoint_is_not_claimed_as_verified(
    grown_export: tuple[Server, Path, Path, list[bytes]], tmp_path: Path,
) -> None:
    _, checkpoint, key, lines = grown_export
    edited = orjson.loads(lines[90])
    edited["source"] = "rewritten"
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"".join([*lines[:90], orjson.dumps(edited) + b"\n"]))
    status, output = concord("verify", "--export", str(export), "--checkpoint", str(checkpoint),
                             "--key", str(key))
    # Nothing signed covers position 91: the report must say so rather than vouch for it.
    assert status == 0 and "2 later entries are not covered by it" in output, output


@pytest.mark.parametrize(("typed", "url"), [
    ("localhost:8000", "http://localhost:8000"),
    ("127.0.0.1:8000/", "http://127.0.0.1:8000"),
    ("concord.example", "https://concord.example"),
    ("HTTP://concord.example:8080", "http://concord.example:8080"),
    ("https://concord.example/base", "https://concord.example/base"),
])
def test_a_server_address_without_a_scheme_is_completed(typed: str, url: str) -> None:
    assert server_url(typed) == url


@pytest.mark.parametrize(("typed", "reason"), [
    ("ftp://concord.example", "the scheme must be http or https"),
    ("localhost:port", "the port is not a number"),
    ("http://", "is not a server's address"),
    ("concord example", "is not a server's address"),
])
def test_a_server_address_that_cannot_be_one_is_refused_saying_why(
    typed: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        server_url(typed)
    status, output = concord("checkpoint", "--server", typed, "--out", "unused.txt")
    assert status == 1 and "--server:" in output and reason in output, output


def test_an_export_from_the_api_pages_through_more_than_one_page(
    start_server: Callable[..., Server], tmp_path: Path,
) -> None:
    server = start_server()
    batch = [{"type": "DeclarationAdopted", "data": {"declaration": f"P-{n}", "title": "P"}}
             for n in range(1, 1_102)]
    assert server.http.post("/v1/events/batch", json={"events": batch}).status_code == 201
    assert server.http.get("/v1/log/checkpoint",
                           params={"min_position": 1_101}).status_code == 200
    checkpoint, key, export = (tmp_path / name for name in ("cp.txt", "log.vkey", "log.jsonl"))
    key.write_text(server.http.get("/v1/log/public-key").text)
    assert concord("checkpoint", "--server", server.url, "--out", str(checkpoint))[0] == 0
    status, output = concord("export", "--server", server.url, "--out", str(export))
    assert status == 0 and "Exported 1101 entries" in output, output
    positions = [orjson.loads(line)["position"] for line in export.read_bytes().splitlines()]
    assert positions == list(range(1, 1_102))
    status, output = concord("verify", "--export", str(export), "--checkpoint",
                             str(checkpoint), "--key", str(key))
    assert status == 0 and "OK: 1101 entries verified against the checkpoint." in output
