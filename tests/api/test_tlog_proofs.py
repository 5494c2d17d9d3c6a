"""Proofs as C2SP tlog-proof files: in receipts and from the inclusion-proof endpoint,
checked by `concord verify --receipt`, and by hand here (hashlib and the leaf alone)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from concord.api.cli.app import app as cli
from tests.waiting import wait_for

runner = CliRunner()


def adopt(client: TestClient, code: str, proof: bool = False) -> dict[str, object]:
    answer = client.post("/v1/events", params={"proof": "true"} if proof else None,
                         json={"type": "DeclarationAdopted",
                               "data": {"declaration": code, "title": f"Declaration {code}"}})
    assert answer.status_code == 201, answer.text
    envelope: dict[str, object] = answer.json()
    return envelope


def verify(path: Path, key: str, *more: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["verify", "--receipt", str(path), "--key", key, *more],
                           env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_a_receipt_carries_a_tlog_proof_that_verifies_on_its_own(
        client: TestClient, tmp_path: Path) -> None:
    for declaration in ("D-1", "D-2"):
        adopt(client, declaration)
    receipt = adopt(client, "D-3", proof=True)
    proof = receipt["proof"]
    assert isinstance(proof, dict)
    text: str = proof["tlog_proof"]
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1" and lines[2] == "index 2"
    # The extra line is the entry's leaf: its hash, folded up the path, gives the root.
    leaf = base64.b64decode(lines[1].removeprefix("extra "))
    assert b'"declaration":"D-3"' in leaf and b"leaf_index" not in leaf
    assert text.endswith(proof["checkpoint"])
    assert base64.b64decode(proof["leaf_hash"]) == hashlib.sha256(b"\x00" + leaf).digest()

    key = client.get("/v1/log/public-key").text.strip()
    path = tmp_path / "d3.tlog-proof"
    path.write_text(text)
    code, output = verify(path, key)
    assert code == 0, output
    assert "position 3 (leaf 2) is in the log of 3 entries" in output


@pytest.mark.parametrize(("change", "reason"), [
    (lambda t: t.replace("index 2", "index 1"), "leaf 1, but its entry is position 3"),
    (lambda t: t.replace("extra ", "extra " + base64.b64encode(b'{"position":3}').decode()
                         + "X", 1), "not a tlog-proof"),
    (lambda t: t[:t.index("\n", t.index("index 2\n") + 8)] + "\n" + "A" * 43 + "="
     + t[t.index("\n", t.index("index 2\n") + 8):], "does not lead to the signed root"),
])
def test_an_edited_tlog_proof_fails(client: TestClient, tmp_path: Path, change: object,
                                    reason: str) -> None:
    for declaration in ("D-1", "D-2", "D-3"):
        adopt(client, declaration)
    wait_for(lambda: client.get("/v1/log/checkpoint", params={"min_position": 3}).status_code
             == 200)
    answer = client.get("/v1/log/proofs/inclusion", params={"leaf_index": 2,
                                                           "format": "tlog-proof"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == 'attachment; filename="leaf-2.tlog-proof"'
    key = client.get("/v1/log/public-key").text.strip()
    path = tmp_path / "edited.tlog-proof"
    assert callable(change)
    path.write_text(change(answer.text))
    code, output = verify(path, key)
    assert code == 1 and reason in output, output


def test_an_edited_leaf_in_a_tlog_proof_fails(client: TestClient, tmp_path: Path) -> None:
    adopt(client, "D-1")
    adopt(client, "D-2")
    text = client.get("/v1/log/proofs/inclusion", params={
        "leaf_index": 1, "format": "tlog-proof", "min_position": 2}).text
    extra = text.split("\n")[1].removeprefix("extra ")
    edited = base64.b64decode(extra).replace(b"D-2", b"D-9")
    path = tmp_path / "edited.tlog-proof"
    path.write_text(text.replace(extra, base64.b64encode(edited).decode()))
    code, output = verify(path, client.get("/v1/log/public-key").text.strip())
    assert code == 1 and "does not lead to the signed root" in output, output


def test_a_tlog_proof_needs_a_size_the_log_issued_a_checkpoint_at(client: TestClient) -> None:
    for declaration in ("D-1", "D-2", "D-3"):
        adopt(client, declaration)
    wait_for(lambda: client.get("/v1/log/checkpoint", params={"min_position": 3}).status_code
             == 200)
    answer = client.get("/v1/log/proofs/inclusion", params={
        "leaf_index": 0, "tree_size": 2, "format": "tlog-proof"})
    assert answer.status_code == 404
    assert answer.json()["errors"] == [{"field": "tree_size",
                                        "reason": "no checkpoint at that size"}]
    at_three = client.get("/v1/log/proofs/inclusion", params={
        "leaf_index": 0, "tree_size": 3, "format": "tlog-proof"})
    assert at_three.status_code == 200 and "\n3\n" in at_three.text
    # Without tree_size, the JSON proof is in the served checkpoint's tree.
    plain = client.get("/v1/log/proofs/inclusion", params={"leaf_index": 0}).json()
    assert plain["tree_size"] == 3


def test_a_browser_page_elsewhere_may_send_a_key_to_the_log_and_read_the_leaf_hash(
        client: TestClient) -> None:
    adopt(client, "D-1")
    preflight = client.options("/v1/log/leaves/0", headers={
        "Origin": "https://auditor.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-headers"] == "Authorization"
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "HEAD"}
    leaf = client.get("/v1/log/leaves/0", params={"min_position": 1},
                      headers={"Origin": "https://auditor.example"})
    assert leaf.status_code == 200
    assert leaf.headers["access-control-expose-headers"] == "X-Leaf-Hash"
    # Elsewhere, no preflight is answered for other origins.
    assert client.options("/v1/events", headers={
        "Origin": "https://auditor.example",
        "Access-Control-Request-Method": "POST"}).status_code != 204
