"""The README's "How to audit", step by step, against a real `concord serve` whose log grows
between the steps, with the real `concord` command."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.api.conftest import Server, concord_command
from tests.backends import Backend
from tests.waiting import wait_for


@pytest.fixture
def backend(db_path: Path) -> Backend:
    """The operator's step reads the SQLite data directory itself."""
    return Backend("sqlite", db_path)


def concord(*args: str | Path) -> tuple[int, str]:
    """Run the installed `concord` command; its exit status and its output (both streams)."""
    done = subprocess.run([concord_command(), *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "250"})
    return done.returncode, done.stdout + done.stderr


def grow(server: Server, label: str, count: int) -> int:
    """Append `count` declarations; the log's new size, once the tree has caught up."""
    for n in range(1, count + 1):
        answer = server.http.post("/v1/events", json={
            "type": "DeclarationAdopted",
            "data": {"declaration": f"AUDIT-{label}-{n}", "title": f"Audit {label} {n}"}})
        assert answer.status_code == 201, answer.text
    size = answer.json()["position"]
    wait_for(lambda: server.http.get("/v1/log/checkpoint").text.splitlines()[1] == str(size))
    return int(size)


def test_the_readme_audit_walk_through_holds_for_a_log_that_grows_between_the_steps(
    start_server: Callable[..., Server], tmp_path: Path,
) -> None:
    server = start_server("--demo")
    wait_for(lambda: server.http.get("/v1/log/checkpoint").text.splitlines()[1] == "89")
    port = server.url.rsplit(":", 1)[1]

    # Check step 1: the key, taken once.
    key = tmp_path / "log.vkey"
    key.write_text(server.http.get("/v1/log/public-key").text)

    # Check step 2: three checkpoints saved as the log grows (weeks apart, in real life);
    # the second through an address typed without its scheme.
    first, second, third = (tmp_path / f"checkpoint-{week}.txt" for week in (1, 2, 3))
    status, output = concord("checkpoint", "--server", server.url, "--out", first)
    assert status == 0 and "Saved the checkpoint of 89 entries" in output, output
    assert grow(server, "W2", 3) == 92
    status, output = concord("checkpoint", "--server", f"localhost:{port}", "--out", second)
    assert status == 0 and "Saved the checkpoint of 92 entries" in output, output
    assert grow(server, "W3", 2) == 94
    status, output = concord("checkpoint", "--server", server.url, "--out", third)
    assert status == 0 and "Saved the checkpoint of 94 entries" in output, output
    assert grow(server, "W4", 1) == 95

    # Check step 3: the log only grew since each checkpoint.
    for saved, size in ((first, 89), (second, 92), (third, 94)):
        status, output = concord("verify", "--checkpoint", saved, "--server", server.url,
                                 "--key", key)
        assert status == 0, output
        assert f"the log grew from {size} to 95 entries, consistently" in output

    # Check step 4: an export taken from the API today is longer than every checkpoint; each
    # checkpoint covers its own prefix of it, and says how much it does not cover.
    export = tmp_path / "log.jsonl"
    status, output = concord("export", "--server", server.url, "--out", export)
    assert status == 0 and "Exported 95 entries" in output, output
    assert len(export.read_bytes().splitlines()) == 95
    for saved, size in ((first, 89), (second, 92), (third, 94)):
        status, output = concord("verify", "--export", export, "--checkpoint", saved,
                                 "--key", key)
        assert status == 0, output
        later = 95 - size
        assert (f"OK: {size} entries verified against the checkpoint; {later} later "
                f"{'entry is' if later == 1 else 'entries are'} not covered by it") in output
    # ... and an entry edited inside what the oldest checkpoint covers is still caught, and
    # located with the server's proofs.
    lines = export.read_bytes().splitlines(keepends=True)
    edited = orjson.loads(lines[44])
    edited["source"] = "rewritten"
    export.write_bytes(b"".join([*lines[:44], orjson.dumps(edited) + b"\n", *lines[45:]]))
    status, output = concord("verify", "--export", export, "--checkpoint", first, "--key", key,
                             "--server", server.url)
    assert status == 1 and "first bad position: 45" in output, output

    # Check step 5: a receipt for one new entry, checked offline.
    answer = server.http.post("/v1/events", params={"proof": "true"}, json={
        "type": "DeclarationAdopted", "data": {"declaration": "AUDIT-R", "title": "Receipt"}})
    assert answer.status_code == 201, answer.text
    receipt = tmp_path / "receipt.json"
    receipt.write_bytes(answer.content)
    status, output = concord("verify", "--receipt", receipt, "--key", key)
    assert status == 0, output
    assert "position 96 (leaf 95) is in the log of 96 entries" in output

    # Check step 6: the operator's own check of the data directory, while it serves.
    status, output = concord("verify", "--data-dir", server.data_dir)
    assert status == 0 and "OK: 96 entries verified." in output, output


def test_a_receipt_with_an_edited_envelope_or_proof_fails_at_its_position(
    start_server: Callable[..., Server], tmp_path: Path,
) -> None:
    server = start_server()
    key = tmp_path / "log.vkey"
    key.write_text(server.http.get("/v1/log/public-key").text)
    for code in ("R-1", "R-2", "R-3"):
        answer = server.http.post("/v1/events", params={"proof": "true"}, json={
            "type": "DeclarationAdopted", "data": {"declaration": code, "title": code}})
        assert answer.status_code == 201, answer.text
    good = answer.json()
    receipt = tmp_path / "receipt.json"

    def verify(body: dict[str, object]) -> tuple[int, str]:
        receipt.write_bytes(orjson.dumps(body))
        return concord("verify", "--receipt", receipt, "--key", key)

    status, output = verify(good)
    assert status == 0 and "OK: 1 entry verified." in output, output
    status, output = verify({**good, "data": {**good["data"], "title": "Other"}})
    assert status == 1 and "leaf hash is not the hash of its envelope" in output, output
    assert "first bad position: 3" in output
    proof = good["proof"]
    forged = [base64.b64encode(bytes(32)).decode(), *proof["inclusion"][1:]]
    status, output = verify({**good, "proof": {**proof, "inclusion": forged}})
    assert status == 1 and "does not lead to the signed root" in output, output
    note = proof["checkpoint"].replace("\n3\n", "\n4\n")
    status, output = verify({**good, "proof": {**proof, "checkpoint": note}})
    assert status == 1 and "the receipt's checkpoint" in output, output
    status, output = verify({"position": 3})
    assert status == 1 and "not a receipt" in output, output
