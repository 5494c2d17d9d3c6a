"""Publishing the log as static tiles and auditing a tile log: `concord export-tiles` writes
what the server serves, `concord verify --tiles` checks it (a directory, or a running
server), and any edit or loss is reported at its leaf."""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from concord.api.audit.tiles import directory_source, verify_tiles
from concord.api.checkpoints import latest_stored
from concord.api.cli.app import app
from concord.api.http.app import create_app
from concord.api.settings import Settings
from concord.api.wiring import Concord
from concord.log.application import CoordinationLog
from concord.tlog.notes import Checkpoint, Signer, sign_checkpoint
from tests.api.conftest import Server, backend_settings
from tests.backends import Backend

runner = CliRunner()
SIZE = 600  # two full level-0 tiles and a partial one of 88; a level-1 partial of 2
PATHS = {"checkpoint", "tile/entries/000", "tile/entries/001", "tile/entries/002.p/88",
         "tile/0/000", "tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2"}


@dataclass
class Published:
    """A log of SIZE entries served in-process, its data directory's settings, the key of
    its checkpoints, and the command line's arguments that reach its log."""

    client: TestClient
    log: CoordinationLog
    settings: Settings
    key: Path
    args: list[str]
    env: dict[str, str]

    def concord(self, *args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*self.args, *args], env=self.env)
        return result.exit_code, result.output

    def grow(self, size: int) -> str:
        """Append entries up to `size`; the checkpoint the server then signs."""
        end = self.log.last_position()
        self.log.submit_batch([{"type": "DeclarationAdopted", "data": {
            "declaration": f"D-{n}", "title": f"Declaration {n}"},
            "effective_date": "2025-10-09"} for n in range(end, size)], recorded_by="clerk")
        answer = self.client.get("/v1/log/checkpoint", params={"min_position": size})
        assert answer.status_code == 200, answer.text
        return answer.text


@pytest.fixture
def published(tmp_path: Path, backend: Backend) -> Iterator[Published]:
    settings = backend_settings(backend, tmp_path / "data")
    args: list[str] = []
    env = {"CONCORD_DATA_DIR": str(settings.data_dir)}
    if backend.name == "postgres":
        args, env["CONCORD_DATABASE_SCHEMA"] = ["--database-url", backend.url], backend.schema
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        key = tmp_path / "log.vkey"
        key.write_text(client.get("/v1/log/public-key").text)
        found = Published(client, client.app.state.log, settings, key,  # type: ignore[attr-defined]
                          args, env)
        found.grow(SIZE)
        yield found


def files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in folder.rglob("*") if path.is_file()}


def test_an_exported_tile_log_is_what_the_server_serves_and_it_verifies(
    published: Published, tmp_path: Path,
) -> None:
    out = tmp_path / "tiles"
    status, output = published.concord("export-tiles", "--out", str(out))
    assert status == 0, output
    assert f"Wrote the tile log of the checkpoint of {SIZE} entries" in output
    written = files(out)
    assert set(written) == PATHS  # and no scratch file left behind
    with Concord(published.settings, keys=False) as concord:
        latest = latest_stored(concord.store)
    assert latest is not None and written["checkpoint"] == latest[1].encode()
    for path, body in written.items():
        if path != "checkpoint":
            served = published.client.get(f"/v1/log/{path}",
                                          headers={"Accept-Encoding": "identity"})
            assert served.content == body, path
    status, output = published.concord("verify", "--tiles", str(out), "--key",
                                       str(published.key))
    assert status == 0, output
    assert f"OK: {SIZE} entries verified against the checkpoint." in output


def _edit_entry(out: Path) -> None:
    bundle = bytearray((out / "tile/entries/001").read_bytes())
    # Leaf 261 is the sixth entry of bundle 1: a letter of its title.
    offset = 0
    for _ in range(5):
        offset += 2 + int.from_bytes(bundle[offset:offset + 2], "big")
    at = bundle.index(b'"title":"Declaration', offset) + len(b'"title":"')
    bundle[at] = ord("d")
    (out / "tile/entries/001").write_bytes(bytes(bundle))


def _cut_bundle(out: Path) -> None:
    bundle = (out / "tile/entries/000").read_bytes()
    (out / "tile/entries/000").write_bytes(bundle[:-1])  # its last entry a byte short


def _respace_entry(out: Path) -> None:
    bundle = (out / "tile/entries/000").read_bytes()
    length = int.from_bytes(bundle[:2], "big")
    entry = bundle[2:2 + length].replace(b'{"data":', b'{ "data":', 1)  # the same JSON
    rest = bundle[2 + length:]
    (out / "tile/entries/000").write_bytes(len(entry).to_bytes(2, "big") + entry + rest)


def _edit_tile(out: Path) -> None:
    tile = bytearray((out / "tile/0/001").read_bytes())
    tile[10 * 32] ^= 1  # hash 10: leaf 266's
    (out / "tile/0/001").write_bytes(bytes(tile))


def _edit_upper_tile(out: Path) -> None:
    tile = bytearray((out / "tile/1/000.p/2").read_bytes())
    tile[40] ^= 1  # its second hash: the root of tile/0/001
    (out / "tile/1/000.p/2").write_bytes(bytes(tile))


def _delete_bundle(out: Path) -> None:
    (out / "tile/entries/001").unlink()


def _replace_checkpoint(out: Path) -> None:
    other = Signer.generate("concord.localhost/log")
    (out / "checkpoint").write_text(sign_checkpoint(other, Checkpoint(
        "concord.localhost/log", SIZE, b"\x00" * 32)))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_any_edit_or_loss_in_a_tile_log_fails_naming_the_leaf(
    published: Published, tmp_path: Path,
) -> None:
    exported = tmp_path / "tiles"
    assert published.concord("export-tiles", "--out", str(exported))[0] == 0
    cases: list[tuple[Callable[[Path], None], list[str], int | None]] = [
        (_edit_entry, ["leaf 261 (position 262), in tile/entries/001: the entry is not the "
                       "one the log signed", "it was edited"], 261),
        (_cut_bundle, ["leaf 255 (position 256), in tile/entries/000: the bundle is "
                       "malformed: entry 255 of the bundle says it has"], 255),
        (_respace_entry, ["leaf 0 (position 1), in tile/entries/000: the entry is not in "
                          "canonical form"], 0),
        (_edit_tile, ["tile/0/001: hash 10 is not the hash of leaf 266 (position 267)",
                      "the tile is wrong",
                      "tile/1/000.p/2: hash 1 is not the root of tile/0/001 as served"], 266),
        (_edit_upper_tile, ["tile/1/000.p/2: hash 1 is not the root of tile/0/001 as served "
                            "(leaves 256 to 511)"], 256),
        (_delete_bundle, ["tile/entries/001", "the entries of leaves 256 to 511 are missing"],
         256),
        (_replace_checkpoint, ["checkpoint: the note has no signature by"], None),
    ]
    for tamper, messages, leaf in cases:
        out = tmp_path / tamper.__name__
        shutil.copytree(exported, out)
        tamper(out)
        status, output = published.concord("verify", "--tiles", str(out), "--key",
                                           str(published.key))
        assert status == 1, (tamper.__name__, output)
        flat = " ".join(output.split())
        for message in messages:
            assert message in flat, (tamper.__name__, output)
        if leaf is not None:
            assert f"first bad leaf index: {leaf}" in output, (tamper.__name__, output)
            assert f"first bad position: {leaf + 1}" in output, (tamper.__name__, output)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_saved_checkpoint_is_checked_against_the_tile_log(published: Published,
                                                            tmp_path: Path) -> None:
    out, fresh = tmp_path / "tiles", tmp_path / "fresh"
    saved = tmp_path / "saved.txt"
    saved.write_text(published.client.get("/v1/log/checkpoint").text)
    assert published.concord("export-tiles", "--out", str(out))[0] == 0
    published.grow(SIZE + 10)
    assert published.concord("export-tiles", "--out", str(out))[0] == 0
    status, output = published.concord("verify", "--tiles", str(out), "--key",
                                        str(published.key), "--checkpoint", str(saved))
    assert status == 0, output
    assert f"it extends the saved checkpoint of {SIZE}" in output
    # Check the saved size's partial tiles are read: a client holding it needs them. One
    # missing (as in a copy exported after the log grew) is said, though what it would hold
    # was verified: availability, not integrity.
    shutil.copytree(out, fresh)
    (fresh / "tile/0/002.p/88").unlink()
    status, output = published.concord("verify", "--tiles", str(fresh), "--key",
                                        str(published.key), "--checkpoint", str(saved))
    assert status == 0, output
    assert ("tile/0/002.p/88, which the saved checkpoint's size needs, is not served" in
            " ".join(output.split())), output
    # Check each is the prefix of the tile verified: here its last hash differs.
    wrong = (out / "tile/0/002.p/98").read_bytes()[:87 * 32] + b"\x00" * 32
    (fresh / "tile/0/002.p/88").write_bytes(wrong)
    status, output = published.concord("verify", "--tiles", str(fresh), "--key",
                                        str(published.key), "--checkpoint", str(saved))
    assert status == 1
    assert ("tile/0/002.p/88: hash 87 is not hash 87 of tile/0/002.p/98 as verified" in
            " ".join(output.split())), output
    assert "first bad leaf index: 599" in output
    # A checkpoint the log signed for another history of its first entries: caught.
    signer = Signer.parse(published.settings.signing_key_path.read_text().strip())
    saved.write_text(sign_checkpoint(signer, Checkpoint(signer.name, 100, b"\x01" * 32)))
    status, output = published.concord("verify", "--tiles", str(out), "--key",
                                        str(published.key), "--checkpoint", str(saved))
    assert status == 1
    assert "the root of the first 100 entries is not the one the saved checkpoint signed" in (
        " ".join(output.split()))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_exporting_again_as_the_log_grows_rewrites_only_what_differs(
    published: Published, tmp_path: Path,
) -> None:
    out = tmp_path / "tiles"
    assert published.concord("export-tiles", "--out", str(out))[0] == 0
    before = files(out)
    (out / "tile/0/000").write_bytes(b"wrong")  # damaged since: must not stay so
    published.grow(800)
    status, output = published.concord("export-tiles", "--out", str(out))
    assert status == 0, output
    # Rewritten: the damaged tile; new: bundle 2 now full, 3.p/32, tile/0/002, 0/003.p/32,
    # 1/000.p/3, and the checkpoint. Unchanged: bundles 0 and 1 and tile/0/001.
    assert "6 tile files written, 3 already there and unchanged" in output, output
    after = files(out)
    assert after["tile/0/000"] == before["tile/0/000"]
    # The partial tiles of the earlier size stay, as the server still serves them.
    assert after["tile/0/002.p/88"] == before["tile/0/002.p/88"]
    assert after["checkpoint"].splitlines()[1] == b"800"
    status, output = published.concord("verify", "--tiles", str(out), "--key",
                                       str(published.key))
    assert status == 0 and "OK: 800 entries verified" in output, output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_export_writes_nothing_when_the_log_does_not_give_the_signed_root(
    published: Published, tmp_path: Path,
) -> None:
    with sqlite3.connect(published.settings.sqlite_path) as db:
        state = db.execute("SELECT state FROM stored_events WHERE rowid=300").fetchone()[0]
        db.execute("UPDATE stored_events SET state=? WHERE rowid=300",
                   (bytes(state).replace(b"Declaration 299", b"Declaration 2990"),))
    out = tmp_path / "tiles"
    status, output = published.concord("export-tiles", "--out", str(out))
    assert status == 1
    assert f"the root of the log's first {SIZE} entries is not the checkpoint's" in (
        " ".join(output.split()))
    assert files(out) == {}


def test_an_empty_log_is_a_tile_log_of_a_checkpoint_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TestClient(create_app(Settings(data_dir=data))) as client:
        assert client.get("/v1/log/checkpoint").text.splitlines()[1] == "0"
        (tmp_path / "log.vkey").write_text(client.get("/v1/log/public-key").text)
    out = tmp_path / "tiles"
    result = runner.invoke(app, ["export-tiles", "--out", str(out), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert set(files(out)) == {"checkpoint"}
    result = runner.invoke(app, ["verify", "--tiles", str(out), "--key",
                                 str(tmp_path / "log.vkey")])
    assert result.exit_code == 0 and "OK: 0 entries verified" in result.output, result.output
    result = runner.invoke(app, ["verify", "--tiles", str(tmp_path / "nowhere"), "--key",
                                 str(tmp_path / "log.vkey")])
    assert result.exit_code == 1 and "is neither an http(s) URL nor a directory" in (
        " ".join(result.output.split()))


def test_export_needs_a_signed_checkpoint(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    assert runner.invoke(app, ["demo", "--data-dir", str(data)]).exit_code == 0
    result = runner.invoke(app, ["export-tiles", "--out", str(tmp_path / "t"), "--data-dir",
                                 str(data)])
    assert result.exit_code == 1
    assert "the log has no signed checkpoint yet" in result.output


def test_a_running_server_is_a_tile_log_that_verifies(
    start_server: Callable[..., Server], tmp_path: Path,
) -> None:
    server = start_server("--demo")
    note = server.http.get("/v1/log/checkpoint", params={"min_position": 89})
    key, saved = tmp_path / "log.vkey", tmp_path / "saved.txt"
    key.write_text(server.http.get("/v1/log/public-key").text)
    saved.write_text(note.text)
    bundle = server.http.get("/v1/log/tile/entries/000.p/89",
                             headers={"Accept-Encoding": "gzip"})
    assert bundle.headers["content-encoding"] == "gzip"
    assert bundle.headers["access-control-allow-origin"] == "*"
    assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
    result = runner.invoke(app, ["verify", "--tiles", f"{server.url}/v1/log", "--key",
                                 str(key), "--checkpoint", str(saved)])
    assert result.exit_code == 0, result.output
    assert "OK: 89 entries verified against the checkpoint." in result.output
    result = runner.invoke(app, ["verify", "--tiles", f"{server.url}/v1/nothing", "--key",
                                 str(key)])
    assert result.exit_code == 1 and "HTTP 404" in result.output


@dataclass
class Hostile:
    """A tile log over HTTP that serves a directory's files, except for the paths given
    their own answer: (status, headers, body); and what each request's headers were."""

    folder: Path
    answers: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    asked: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""


@contextmanager
def hostile_server(folder: Path) -> Iterator[Hostile]:
    hostile = Hostile(folder)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = self.path.removeprefix("/log/")
            hostile.asked.append((path, self.headers.get("Authorization")))
            if path in hostile.answers:
                status, headers, body = hostile.answers[path]
            elif (folder / path).is_file():
                status, headers, body = 200, {}, (folder / path).read_bytes()
            else:
                status, headers, body = 404, {}, b"not here"
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            with suppress(OSError):  # the client stopped reading: as it should, past the limit
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hostile.url = f"http://127.0.0.1:{server.server_port}/log"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_tile_log_over_http_is_read_no_further_than_each_resource_can_be(
    published: Published, tmp_path: Path,
) -> None:
    out = tmp_path / "tiles"
    assert published.concord("export-tiles", "--out", str(out))[0] == 0
    bomb = gzip.compress(b"\x00" * 50_000_000)  # 50 MB in 50 kB
    cases = [
        ("tile/entries/002.p/88", {"Content-Encoding": "gzip"}, bomb,
         "tile/entries/002.p/88: more than 5,767,256 bytes once decompressed"),
        ("tile/0/001", {}, b"\x00" * (8192 + 1),
         "tile/0/001: larger than 8,192 bytes, the most it can be"),
        ("tile/0/000", {"Content-Encoding": "gzip"}, gzip.compress(b"\x01" * 8193),
         "tile/0/000: more than 8,192 bytes once decompressed"),
        ("checkpoint", {}, b"x" * (1 << 21),
         "checkpoint: http://"),
        ("tile/entries/000", {"Content-Encoding": "gzip"}, bomb[:1000],
         "tile/entries/000: the gzip encoding is cut short"),
    ]
    with hostile_server(out) as hostile:
        for path, headers, body, message in cases:
            hostile.answers = {path: (200, headers, body)}
            status, output = published.concord("verify", "--tiles", hostile.url, "--key",
                                                str(published.key))
            flat = " ".join(output.split())
            assert status == 1, (path, output)
            assert message in flat, (path, output)
            assert "Traceback" not in output
        hostile.answers = {}
        status, output = published.concord("verify", "--tiles", hostile.url, "--key",
                                            str(published.key))
        assert status == 0, output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_token_is_never_sent_to_another_origin_a_tile_log_redirects_to(
    published: Published, tmp_path: Path,
) -> None:
    out = tmp_path / "tiles"
    assert published.concord("export-tiles", "--out", str(out))[0] == 0
    with hostile_server(out) as elsewhere, hostile_server(out) as log:
        log.answers = {"tile/0/001": (302, {"Location": f"{elsewhere.url}/tile/0/001"}, b""),
                       "tile/0/000": (302, {"Location": "/log/tile/0/000?again"}, b"")}
        log.answers["tile/0/000?again"] = (200, {}, (out / "tile/0/000").read_bytes())
        status, output = published.concord("verify", "--tiles", log.url, "--key",
                                            str(published.key), "--token", "secret")
        assert status == 1
        assert "redirected to " in output and "another origin" in " ".join(output.split())
        assert elsewhere.asked == []
        # Within the origin, the token goes along; without a token, any redirect is followed.
        assert ("tile/0/000?again", "Bearer secret") in log.asked
        status, output = published.concord("verify", "--tiles", log.url, "--key",
                                            str(published.key))
        assert status == 0, output
        assert elsewhere.asked == [("tile/0/001", None)]


@pytest.mark.timeout(60)
def test_a_checkpoint_of_a_huge_tree_is_checked_lazily_and_one_too_big_refused(
    tmp_path: Path,
) -> None:
    signer = Signer.generate("example.com/log")
    for size, message in [
        (2**62, "tile/entries/000: "),  # the first bundle is missing, and said to be
        (2**64 - 1, "it signs a tree of 18,446,744,073,709,551,615 entries, more than a log "
                    "can hold"),
    ]:
        (tmp_path / "checkpoint").write_text(sign_checkpoint(signer, Checkpoint(
            signer.name, size, b"\x00" * 32)))
        report = verify_tiles(directory_source(tmp_path), signer.verifier())
        assert not report.ok and message in report.problems[0], report.problems


def test_whatever_stops_an_audit_is_reported_not_raised(tmp_path: Path) -> None:
    signer = Signer.generate("example.com/log")
    note = sign_checkpoint(signer, Checkpoint(signer.name, 300, b"\x00" * 32))

    def source(path: str, limit: int) -> bytes:
        if path == "checkpoint":
            return note.encode()
        raise RuntimeError("the disk caught fire")

    report = verify_tiles(source, signer.verifier())
    assert report.problems == ["the check stopped: RuntimeError: the disk caught fire"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tiles_refuses_the_options_it_would_ignore_and_takes_the_policy_s_log_key(
    published: Published, tmp_path: Path,
) -> None:
    out = tmp_path / "tiles"
    assert published.concord("export-tiles", "--out", str(out))[0] == 0
    for extra in (["--export", "x.jsonl"], ["--server", "localhost:1"],
                  ["--receipt", "r.json"], ["--data-dir", str(tmp_path)]):
        status, output = published.concord("verify", "--tiles", str(out), "--key",
                                            str(published.key), *extra)
        assert status == 1 and "does not combine with" in output and extra[0] in output
    other = Signer.generate("example.com/other").verifier()
    policy = tmp_path / "policy.txt"
    ours = published.key.read_text().strip()
    policy.write_text(f"log {other.key_string()}\nlog {ours}\nquorum none\n")
    status, output = published.concord("verify", "--tiles", str(out), "--policy", str(policy))
    assert status == 0, output
    assert f"OK: {SIZE} entries verified" in output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_entry_too_long_for_a_bundle_is_named_by_the_route_and_by_export(
    published: Published, tmp_path: Path,
) -> None:
    # An entry recorded before submissions were bounded: its leaf is over 65,535 bytes.
    with sqlite3.connect(published.settings.sqlite_path) as db:
        state = db.execute("SELECT state FROM stored_events WHERE rowid=300").fetchone()[0]
        db.execute("UPDATE stored_events SET state=? WHERE rowid=300", (bytes(state).replace(
            b"Declaration 299", b"Declaration " + b"9" * 70_000),))
    answer = published.client.get("/v1/log/tile/entries/001")
    assert answer.status_code == 500
    problem = answer.json()
    assert problem["type"] == "urn:concord:problem:entry-too-large-for-a-bundle"
    assert problem["position"] == 300 and problem["leaf_index"] == 299
    assert "tile/entries/001: leaf 299 (position 300) has 70," in problem["detail"]
    assert published.client.get("/v1/log/tile/entries/000").status_code == 200
    status, output = published.concord("export-tiles", "--out", str(tmp_path / "tiles"))
    assert status == 1 and "Traceback" not in output
    assert "position 300 (leaf 299) has a leaf of 70," in " ".join(output.split()), output
    assert files(tmp_path / "tiles") == {}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_export_refuses_to_roll_back_or_replace_another_log_s_checkpoint(
    published: Published, tmp_path: Path,
) -> None:
    out = tmp_path / "tiles"
    assert published.concord("export-tiles", "--out", str(out))[0] == 0
    signer = Signer.parse(published.settings.signing_key_path.read_text().strip())
    exported = files(out)
    larger = sign_checkpoint(signer, Checkpoint(signer.name, SIZE + 1, b"\x02" * 32))
    other = sign_checkpoint(Signer.generate("example.com/other"),
                            Checkpoint("example.com/other", 10, b"\x02" * 32))
    rewritten = sign_checkpoint(signer, Checkpoint(signer.name, 100, b"\x02" * 32))
    for note, message in [
        (larger, f"signs {SIZE + 1} entries, more than the {SIZE} of this log's checkpoint: "
                 "writing it would roll the published log back"),
        (other, "is the checkpoint of 'example.com/other', not of"),
        (rewritten, "signs a tree of 100 entries whose root is not that of the log's first "
                    "100: the log was rewritten since"),
        ("not a note", "is not a checkpoint"),
    ]:
        (out / "checkpoint").write_text(note)
        (out / "tile/0/000").write_bytes(b"damaged")
        status, output = published.concord("export-tiles", "--out", str(out))
        assert status == 1, output
        assert message in " ".join(output.split()), output
        assert (out / "checkpoint").read_text() == note  # nothing was written
        assert (out / "tile/0/000").read_bytes() == b"damaged"
    # The checkpoint of the same size and root: fine (an earlier one's is the test above).
    (out / "checkpoint").write_bytes(exported["checkpoint"])
    assert published.concord("export-tiles", "--out", str(out))[0] == 0
    assert files(out) == exported


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_export_writes_world_readable_files_beside_the_directory_and_syncs_them_first(
    published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "tiles"
    stale = out / ".concord-export-x1y2" / "tile"  # left inside by an interrupted export
    stale.mkdir(parents=True)
    (stale / "junk").write_bytes(b"junk")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: Any, target: Any) -> None:
        assert not str(source).startswith(str(out) + os.sep)  # staged beside, not inside
        events.append(("replace", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    before = os.umask(0o077)
    try:
        status, output = published.concord("export-tiles", "--out", str(out))
    finally:
        os.umask(before)
    assert status == 0, output
    assert set(files(out)) == PATHS
    assert not (out / ".concord-export-x1y2").exists()
    assert [p.name for p in tmp_path.iterdir() if "concord-export" in p.name] == []
    for path in out.rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path
    # Check every file and folder is flushed before the checkpoint is renamed into place,
    # and the folder after.
    assert events[-2:] == [("replace", str(out / "checkpoint")), ("fsync", str(out))]
    synced = {path for kind, path in events[:-2] if kind == "fsync"}
    assert {str(out / "tile/0"), str(out / "tile/entries"), str(out / "tile/1")} <= synced
    assert len(synced) >= len(PATHS) + 3
