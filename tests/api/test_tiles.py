"""The verifiable log as C2SP tlog-tiles over HTTP: every tile and entry bundle served, byte
for byte, at tree sizes around the tiles' edges, against tiles computed here from the
leaves with hashlib alone; what is not a tile, or not in the tree yet; the caching, the
compression and cross-origin reads."""

from __future__ import annotations

import base64
import hashlib
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from starlette.testclient import TestClient

from concord.api.http.app import create_app
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.db import Database
from concord.projections.runner import catch_up
from concord.projections.store import ProjectionStore
from concord.projections.tree import Transparency
from tests.api.conftest import backend_settings, bearer, make_keys
from tests.backends import Backend

IMMUTABLE = "public, max-age=31536000, immutable"
BIG = 65_536 + 3


# The tiles as the spec defines them, computed from the leaves with nothing of Concord's.

def path_index(n: int) -> str:
    groups = [f"{n % 1000:03d}"]
    while n >= 1000:
        n //= 1000
        groups.insert(0, f"x{n % 1000:03d}")
    return "/".join(groups)


def suffix(width: int) -> str:
    return "" if width == 256 else f".p/{width}"


def pair_up(hashes: list[bytes]) -> list[bytes]:
    return [hashlib.sha256(b"\x01" + hashes[i] + hashes[i + 1]).digest()
            for i in range(0, len(hashes) - 1, 2)]


def mth(hashes: list[bytes]) -> bytes:
    """RFC 6962 MTH over leaf hashes."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << (len(hashes) - 1).bit_length() - 1
    return hashlib.sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:])).digest()


def expected_resources(leaves: list[bytes]) -> dict[str, bytes]:
    """Every tile and bundle of the tree of `leaves`, by path: level L holds the hashes of
    the perfect subtrees of 256**L leaves, each the root of its two halves."""
    size = len(leaves)
    found: dict[str, bytes] = {}
    for n in range(0, size, 256):
        chunk = leaves[n:n + 256]
        found[f"tile/entries/{path_index(n // 256)}{suffix(len(chunk))}"] = b"".join(
            len(leaf).to_bytes(2, "big") + leaf for leaf in chunk)
    hashes = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    level = 0
    while hashes:
        for n in range(0, len(hashes), 256):
            chunk = hashes[n:n + 256]
            found[f"tile/{level}/{path_index(n // 256)}{suffix(len(chunk))}"] = b"".join(chunk)
        for _ in range(8):
            hashes = pair_up(hashes)
        level += 1
    return found


@pytest.fixture
def tiled(tmp_path: Path, backend: Backend) -> Iterator[tuple[TestClient, CoordinationLog]]:
    """The app on a real log, reads waiting long enough for the tree of a big batch."""
    settings = backend_settings(backend, tmp_path / "data", read_wait_seconds=60)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, client.app.state.log  # type: ignore[attr-defined]


def grow(log: CoordinationLog, size: int) -> None:
    """Append declarations until the log has `size` entries, through the writer's batches."""
    while (end := log.last_position()) < size:
        log.submit_batch([{"type": "DeclarationAdopted", "data": {
            "declaration": f"D-{n}", "title": f"Declaration {n}"}, "effective_date": "2025-10-09",
            "source": f"Minutes, item {n}"} for n in range(end, min(size, end + 10_000))],
            recorded_by="clerk")


def leaves_of(log: CoordinationLog) -> list[bytes]:
    found: list[bytes] = []
    while envelopes := log.read(after=len(found), limit=10_000):
        # The leaf as the spec of the log has it: RFC 8785 JSON of all but leaf_index, by
        # an implementation that is not Concord's.
        fields: list[dict[str, Any]] = [dict(e) for e in envelopes]
        found += [rfc8785.dumps({k: v for k, v in e.items() if k != "leaf_index"})
                  for e in fields]
    return found


def get(client: TestClient, path: str, **headers: str) -> Any:
    return client.get(f"/v1/log/{path}", headers=headers)


def check_served(client: TestClient, leaves: list[bytes], note: str) -> dict[str, bytes]:
    """Check every tile and bundle of the tree of `leaves` is served as the spec lays it
    out, and its signed root is theirs; the resources, by path."""
    size = len(leaves)
    assert note.splitlines()[1] == str(size)
    root = mth([hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves])
    assert note.splitlines()[2] == base64.b64encode(root).decode()
    expected = expected_resources(leaves)
    for path, body in expected.items():
        answer = get(client, path, **{"Accept-Encoding": "identity"})
        assert answer.status_code == 200, (size, path, answer.text)
        assert answer.content == body, (size, path)
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["cache-control"] == IMMUTABLE
    # Check nothing beyond the tree is: the next full tiles, wider partials, levels above.
    full, width = divmod(size, 256)
    lowest_without_a_full_tile = next(level for level in range(8) if size < 256 ** (level + 1))
    beyond = [f"tile/0/{path_index(full)}", f"tile/entries/{path_index(full)}",
              f"tile/{lowest_without_a_full_tile}/000", "tile/3/000.p/1"]
    if width < 255:
        beyond += [f"tile/0/{path_index(full)}.p/{width + 1}",
                   f"tile/entries/{path_index(full)}.p/{width + 1}"]
    for path in beyond:
        answer = get(client, path)
        assert answer.status_code == 404, (size, path)
        assert answer.headers["cache-control"] == "no-store"
        assert answer.json()["type"] == "urn:concord:problem:beyond-the-tree"
    return expected


def test_every_tile_and_bundle_served_is_the_one_computed_from_the_leaves(
    tiled: tuple[TestClient, CoordinationLog],
) -> None:
    client, log = tiled
    seed = random.randrange(2**32)
    print(f"random seed: {seed}")  # to replay a failure
    earlier: dict[str, bytes] = {}
    for size in (0, 1, 255, 256, 257, random.Random(seed).randrange(258, 3_000)):
        grow(log, size)
        note = client.get("/v1/log/checkpoint", params={"min_position": size}).text
        expected = check_served(client, leaves_of(log), note)
        # Check the partial tiles of the earlier sizes are still served, unchanged.
        for path, body in earlier.items():
            assert get(client, path, **{"Accept-Encoding": "identity"}).content == body, path
        earlier.update(expected)
    assert {"tile/0/000.p/1", "tile/0/000.p/255", "tile/0/000", "tile/1/000.p/1",
            "tile/0/001.p/1", "tile/entries/000.p/255"} <= set(earlier)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_tree_of_65539_leaves_serves_full_tiles_two_levels_up(tmp_path: Path,
                                                                backend: Backend) -> None:
    # Built as fast as honestly possible: real appends through the writer's batches and the
    # tree's own projection, then served by an API process that leaves the read models to
    # another (as `concord serve --no-projections` does).
    settings = backend_settings(backend, tmp_path / "data", projections=False)
    settings.data_dir.mkdir(parents=True)
    log = CoordinationLog(sqlite_env(settings.sqlite_path))
    store = ProjectionStore(Database(settings.sqlite_path))
    try:
        grow(log, BIG)
        catch_up(log, store, [Transparency()], page=10_000)
        leaves = leaves_of(log)
    finally:
        store.close()
        log.close()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        expected = check_served(client, leaves, client.get("/v1/log/checkpoint").text)
        assert {"tile/0/255", "tile/0/256.p/3", "tile/entries/256.p/3", "tile/1/000",
                "tile/2/000.p/1"} <= set(expected)
        # Check the partial tiles of a random earlier size are served too.
        seed = random.randrange(2**32)
        print(f"random seed: {seed}")  # to replay a failure
        older = random.Random(seed).randrange(1, BIG)
        partial = {path: body for path, body in expected_resources(leaves[:older]).items()
                   if ".p/" in path}
        assert partial
        for path, body in partial.items():
            assert get(client, path, **{"Accept-Encoding": "identity"}).content == body, (
                older, path)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_tile_whose_index_has_an_x_group_is_served_from_the_stored_hashes(
    tiled: tuple[TestClient, CoordinationLog], tmp_path: Path,
) -> None:
    client, log = tiled
    grow(log, 300)
    assert client.get("/v1/log/checkpoint", params={"min_position": 300}).status_code == 200
    # Tile 1/1000 holds the level-8 subtrees 256,000 to 256,255 (of 65,536,000 leaves on):
    # too many leaves to append here, so its hashes are stored as the projection would.
    hashes = [hashlib.sha256(b"synthetic %d" % n).digest() for n in range(256)]
    with sqlite3.connect(tmp_path / "data" / "concord.db") as db:
        stored = db.execute("SELECT hash FROM merkle_nodes WHERE level=8 AND idx=0").fetchone()
        assert stored[0] == mth(
            [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves_of(log)[:256]])
        db.executemany("INSERT INTO merkle_nodes (level, idx, hash) VALUES (8, ?, ?)",
                       [(256_000 + n, digest) for n, digest in enumerate(hashes)])
    for path, body in [("tile/1/x001/000", b"".join(hashes)),
                       ("tile/1/x001/000.p/17", b"".join(hashes[:17]))]:
        answer = get(client, path)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.content == body, path
    assert get(client, "tile/1/x001/001.p/1").status_code == 404


def test_tile_paths_with_x_groups_parse_and_are_beyond_a_small_tree(client: TestClient) -> None:
    answer = client.get("/v1/log/tile/0/x001/000")
    assert answer.status_code == 404
    assert answer.json()["type"] == "urn:concord:problem:beyond-the-tree"
    assert "256,256 leaves" in answer.json()["detail"]
    answer = client.get("/v1/log/tile/entries/x001/x234/067.p/9")
    assert answer.json()["type"] == "urn:concord:problem:beyond-the-tree"
    assert "tile/entries/x001/x234/067.p/9" in answer.json()["detail"]
    # An index too large for any tree is beyond it too, not an error of the database.
    answer = client.get("/v1/log/tile/63/" + "x999/" * 6 + "999")
    assert answer.status_code == 404
    assert answer.json()["type"] == "urn:concord:problem:beyond-the-tree"
    # More groups than 2**64 needs are no tile at all: not thousands of digits to parse.
    for groups in (7, 2_000):
        answer = client.get("/v1/log/tile/0/" + "x999/" * groups + "999")
        assert answer.status_code == 404, groups
        assert answer.json()["type"] == "urn:concord:problem:not-a-tile"


NOT_TILES = ["tile/0/0", "tile/0/00", "tile/00/000", "tile/64/000", "tile/0/x000/001",
             "tile/0/1000", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01",
             "tile/0/000/", "tile/x/000", "tile/entries/x000/000", "tile/entries/000.p/256",
             "tile/0/000.p/1/", "tile/entries", "tile/0"]


def test_a_path_that_is_not_a_canonical_tile_is_a_404_problem(client: TestClient) -> None:
    for path in NOT_TILES:
        answer = client.get(f"/v1/log/{path}")
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["access-control-allow-origin"] == "*"
        assert answer.json()["status"] == 404
        # The tile routes say why (and no cache keeps the answer); a path no route matches
        # is the API's plain 404.
        if answer.json()["type"] == "urn:concord:problem:not-a-tile":
            assert answer.headers["cache-control"] == "no-store"
        else:
            assert path in ("tile/entries", "tile/0"), path


def test_entry_bundles_are_gzipped_when_the_client_accepts_it(
    tiled: tuple[TestClient, CoordinationLog],
) -> None:
    client, log = tiled
    grow(log, 300)
    assert client.get("/v1/log/checkpoint", params={"min_position": 300}).status_code == 200
    body = expected_resources(leaves_of(log))["tile/entries/000"]
    for accept, compressed in [("gzip", True), ("gzip, identity", True), ("*", True),
                               ("br;q=1, GZIP;q=0.5", True), ("identity", False),
                               ("gzip;q=0", False), ("br", False), ("gzip;q=0, *", False)]:
        answer = client.get("/v1/log/tile/entries/000", headers={"Accept-Encoding": accept})
        assert answer.status_code == 200
        assert answer.headers["vary"] == "Accept-Encoding"
        assert (answer.headers.get("content-encoding") == "gzip") is compressed, accept
        assert answer.content == body  # the client undoes the encoding
    sent = client.get("/v1/log/tile/entries/000", headers={"Accept-Encoding": "gzip"})
    assert int(sent.headers["content-length"]) < len(body) / 3
    # Hash tiles do not compress: they are served as they are.
    tile = client.get("/v1/log/tile/0/000", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in tile.headers and len(tile.content) == 8192


def test_every_read_of_the_log_allows_any_origin_errors_too(tmp_path: Path,
                                                           backend: Backend) -> None:
    settings = backend_settings(backend, tmp_path / "data", public_read=False)
    tokens = make_keys(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        reader = bearer(tokens["auditor"])
        client.post("/v1/events", headers=bearer(tokens["secretariat"]), json={
            "type": "NetworkEstablished", "data": {"network": "N", "name": "N"}})
        for path, status in [("checkpoint?min_position=1", 200), ("public-key", 200),
                             ("leaves/0", 200), ("leaves/9", 404),
                             ("proofs/inclusion?leaf_index=0&tree_size=1", 200),
                             ("proofs/consistency?first=1&second=1", 200),
                             ("tile/0/000.p/1", 200), ("tile/entries/000.p/1", 200),
                             ("tile/0/000", 404), ("tile/0/0", 404), ("nothing", 404),
                             ("leaves/x", 422)]:
            answer = client.get(f"/v1/log/{path}", headers=reader)
            assert answer.status_code == status, (path, answer.text)
            assert answer.headers["access-control-allow-origin"] == "*", path
        refused = client.get("/v1/log/tile/0/000.p/1")  # no key: 401
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == "*"
        assert client.head("/v1/log/checkpoint", headers=reader).headers[
            "access-control-allow-origin"] == "*"
        # Elsewhere, and for writes, nothing changes.
        assert "access-control-allow-origin" not in client.get("/v1/events", headers=reader).headers
        assert "access-control-allow-origin" not in client.get("/healthz").headers


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_server_error_on_a_read_of_the_log_allows_any_origin_too(
    tiled: tuple[TestClient, CoordinationLog], tmp_path: Path,
) -> None:
    client, log = tiled
    grow(log, 3)
    assert client.get("/v1/log/checkpoint", params={"min_position": 3}).status_code == 200
    with sqlite3.connect(tmp_path / "data" / "concord.db") as db:
        db.execute("DROP TABLE merkle_leaves")  # the tree's leaves gone: reading them fails
    answer = client.get("/v1/log/tile/0/000.p/3")
    assert answer.status_code == 500
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.json()["type"] == "urn:concord:problem:internal"


def test_the_tiles_are_documented_as_binary_resources(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/log/tile/{level}/{index}", "/v1/log/tile/entries/{index}"):
        operation = paths[path]["get"]
        assert "application/octet-stream" in operation["responses"]["200"]["content"]
        assert "404" in operation["responses"]
        assert operation["description"] or operation["summary"]


def test_a_submission_whose_leaf_could_not_fit_a_bundle_is_refused_naming_the_field(
    client: TestClient,
) -> None:
    speakers = [{"name": "A Speaker", "title": "Minister"}] * 51
    answer = client.post("/v1/events", json={"type": "SessionHeld", "data": {
        "conference": "C", "title": "Opening", "speakers": speakers}})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "data.speakers"
    assert client.get("/v1/events").json()["events"] == []



def test_head_on_a_tile_or_bundle_answers_its_headers_without_the_body(
    tiled: tuple[TestClient, CoordinationLog],
) -> None:
    client, log = tiled
    grow(log, 300)
    assert client.get("/v1/log/checkpoint", params={"min_position": 300}).status_code == 200
    for path, encoding in [("tile/0/000", "identity"), ("tile/1/000.p/1", "identity"),
                           ("tile/entries/001.p/44", "identity"), ("tile/entries/000", "gzip")]:
        got = get(client, path, **{"Accept-Encoding": encoding})
        head = client.head(f"/v1/log/{path}", headers={"Accept-Encoding": encoding})
        assert head.status_code == 200, (path, head.text)
        assert head.content == b""
        for name in ("content-type", "content-encoding", "cache-control", "vary",
                     "content-length"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    assert client.head("/v1/log/tile/0/001").status_code == 404
