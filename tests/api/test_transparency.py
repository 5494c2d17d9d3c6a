"""The verifiable log over HTTP: checkpoints, leaves, proofs, receipts, the signing key."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from concord.api.http.app import create_app
from concord.api.settings import Settings
from concord.projections.tree import StoredTree
from concord.tlog.leaves import entry_hash, leaf_bytes
from concord.tlog.merkle import leaf_hash, root_of, verify_consistency, verify_inclusion
from concord.tlog.notes import Verifier, open_checkpoint
from tests.api.conftest import ADMIN, RECORDER, bearer
from tests.waiting import wait_for

ENTRIES = 100


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def adoptions(count: int) -> list[dict[str, Any]]:
    return [{"type": "DeclarationAdopted", "data": {"declaration": f"D-{i}", "title": f"D {i}"}}
            for i in range(count)]


@pytest.fixture
def hundred(client: TestClient) -> list[bytes]:
    """A log of 100 entries; their leaf hashes, computed here from the envelopes."""
    answer = client.post("/v1/events/batch", json={"events": adoptions(ENTRIES)})
    assert answer.status_code == 201
    envelopes = client.get("/v1/events", params={"limit": ENTRIES}).json()["events"]
    assert [e["leaf_index"] for e in envelopes] == list(range(ENTRIES))
    # The tree has them once the checkpoint can be read at their position (each read waits
    # at most 5 s; a loaded machine may need more).
    wait_for(lambda: client.get("/v1/log/checkpoint",
                                params={"min_position": ENTRIES}).status_code == 200, 60)
    return [entry_hash(e) for e in envelopes]


# Over HTTP, every proof of trees of these sizes (powers of two and their neighbours, where
# the tree's shape changes); in-process, every proof of every size.
SAMPLED_SIZES = (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 64, 100)


def test_every_inclusion_and_consistency_proof_of_a_100_entry_log_verifies(
    client: TestClient, hundred: list[bytes]
) -> None:
    roots = {size: root_of(hundred[:size]) for size in range(1, ENTRIES + 1)}
    for size in SAMPLED_SIZES:
        for index in range(size):
            answer = client.get("/v1/log/proofs/inclusion",
                                params={"leaf_index": index, "tree_size": size}).json()
            assert b64(answer["leaf_hash"]) == hundred[index]
            assert b64(answer["root"]) == roots[size]
            verify_inclusion(hundred[index], index, size,
                             [b64(h) for h in answer["proof"]], roots[size])
    for second in SAMPLED_SIZES:
        for first in range(1, second + 1):
            answer = client.get("/v1/log/proofs/consistency",
                                params={"first": first, "second": second}).json()
            verify_consistency(first, second, roots[first], roots[second],
                               [b64(h) for h in answer["proof"]])
    # Check every proof of every size, read from the stored tree the routes read (on
    # SQLite: the statements are the same on PostgreSQL, where each read is a round trip).
    state = client.app.state  # type: ignore[attr-defined]
    if state.settings.database_url:
        return
    tree = StoredTree(state.projection_store.reader(),
                      state.projection_store.suffix("transparency"))
    for size in range(1, ENTRIES + 1):
        assert tree.root(size) == roots[size]
        for index in range(size):
            verify_inclusion(hundred[index], index, size, tree.inclusion(index, size),
                             roots[size])
        for first in range(1, size + 1):
            verify_consistency(first, size, roots[first], roots[size],
                               tree.consistency(first, size))


def test_the_checkpoint_is_signed_by_the_published_key_and_commits_to_the_leaves(
    client: TestClient, hundred: list[bytes]
) -> None:
    key = client.get("/v1/log/public-key")
    assert key.headers["content-type"].startswith("text/plain")
    verifier = Verifier.parse(key.text.strip())
    assert verifier.name == "concord.localhost/log"
    note = client.get("/v1/log/checkpoint", params={"min_position": ENTRIES})
    assert note.headers["content-type"].startswith("text/plain")
    checkpoint = open_checkpoint(note.text, verifier, "concord.localhost/log")
    assert checkpoint.size == ENTRIES and checkpoint.root == root_of(hundred)
    # The same tree size gives the same note: it is signed once and kept.
    assert client.get("/v1/log/checkpoint").text == note.text


def test_a_leaf_is_the_canonical_envelope_without_leaf_index(
    client: TestClient, hundred: list[bytes]
) -> None:
    answer = client.get("/v1/log/leaves/41")
    assert answer.status_code == 200
    assert leaf_hash(answer.content) == hundred[41]
    assert b64(answer.headers["x-leaf-hash"]) == hundred[41]
    envelope = client.get("/v1/events/42").json()
    assert answer.content == leaf_bytes(envelope) and b"leaf_index" not in answer.content
    assert client.get("/v1/log/leaves/100").status_code == 404


def test_an_append_with_proof_true_carries_a_receipt_that_verifies(client: TestClient) -> None:
    client.post("/v1/events/batch", json={"events": adoptions(6)})
    answer = client.post("/v1/events", params={"proof": "true"}, json={
        "type": "DeclarationAdopted", "data": {"declaration": "R", "title": "Receipt"}})
    assert answer.status_code == 201
    appended = answer.json()
    receipt = appended.pop("proof")
    assert appended["leaf_index"] == 6
    verifier = Verifier.parse(client.get("/v1/log/public-key").text.strip())
    checkpoint = open_checkpoint(receipt["checkpoint"], verifier)
    assert checkpoint.size == receipt["tree_size"] >= 7
    assert b64(receipt["leaf_hash"]) == entry_hash(appended)
    verify_inclusion(entry_hash(appended), 6, checkpoint.size,
                     [b64(h) for h in receipt["inclusion"]], checkpoint.root)
    plain = client.post("/v1/events", json={
        "type": "DeclarationAdopted", "data": {"declaration": "P", "title": "Plain"}}).json()
    assert "proof" not in plain


@pytest.mark.parametrize(("path", "params", "status", "field"), [
    ("/v1/log/proofs/inclusion", {"leaf_index": 5, "tree_size": 5}, 400, "leaf_index"),
    ("/v1/log/proofs/inclusion", {"leaf_index": 0, "tree_size": 500}, 404, None),
    ("/v1/log/proofs/inclusion", {"leaf_index": -1, "tree_size": 5}, 422, "leaf_index"),
    ("/v1/log/proofs/inclusion", {"tree_size": 5}, 422, "leaf_index"),
    ("/v1/log/proofs/consistency", {"first": 0, "second": 5}, 400, "first"),
    ("/v1/log/proofs/consistency", {"first": 6, "second": 5}, 400, "first"),
    ("/v1/log/proofs/consistency", {"first": 1, "second": 500}, 404, None),
    ("/v1/log/proofs/consistency", {"first": "x", "second": 5}, 422, "first"),
    ("/v1/log/leaves/-1", {}, 422, "leaf_index"),
])
def test_impossible_proofs_are_refused_with_problem_details(
    client: TestClient, hundred: list[bytes], path: str, params: dict[str, Any], status: int,
    field: str | None,
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field


def test_proof_must_be_true_or_false_and_a_refusal_appends_nothing(client: TestClient) -> None:
    answer = client.post("/v1/events", params={"proof": "yes"}, json=adoptions(1)[0])
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "proof", "reason": "not true or false"}]
    assert client.get("/v1/events").json()["events"] == []


def test_the_signing_key_is_created_once_with_mode_0600_and_kept(
    settings: Settings, tokens: dict[str, str]
) -> None:
    with TestClient(create_app(settings), headers=bearer(tokens[RECORDER])) as first:
        key = first.get("/v1/log/public-key").text
    path = settings.data_dir / "signing.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("PRIVATE+KEY+concord.localhost/log+")
    with TestClient(create_app(settings)) as second:
        assert second.get("/v1/log/public-key").text == key


def test_a_configured_key_file_and_origin_are_used(tmp_path: Path, tokens: dict[str, str],
                                                   settings: Settings) -> None:
    configured = settings.model_copy(update={
        "log_origin": "relacopaz.example/concord",
        "signing_key_file": tmp_path / "keys" / "relacopaz.key"})
    with TestClient(create_app(configured)) as client:
        verifier = Verifier.parse(client.get("/v1/log/public-key").text.strip())
        note = client.get("/v1/log/checkpoint").text
    assert verifier.name == "relacopaz.example/concord"
    assert open_checkpoint(note, verifier).size == 0
    assert (tmp_path / "keys" / "relacopaz.key").exists()
    assert not (settings.data_dir / "signing.key").exists()


def test_a_rebuilt_tree_gives_the_same_roots(client: TestClient, hundred: list[bytes],
                                            tokens: dict[str, str]) -> None:
    before = client.get("/v1/log/proofs/consistency", params={"first": 37, "second": 100})
    started = client.post("/v1/projections/transparency/rebuild",
                          headers=bearer(tokens[ADMIN]))
    assert started.status_code == 202
    runner = client.app.state.projections  # type: ignore[attr-defined]
    assert wait_for(lambda: runner.rebuilds["transparency"].state == "done"
                    and runner.view("transparency")[0] != "")
    after = client.get("/v1/log/proofs/consistency", params={"first": 37, "second": 100})
    assert after.json() == before.json()
