"""A witnessed log, end to end with real processes: a `concord serve` and three `concord
witness serve`, as a secretariat and three member states would run them.

Cosignatures are checked here with the `cryptography` package and hashlib directly, not
through Concord's code."""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from concord.api.keyfile import load_or_create_signer
from concord.tlog.merkle import leaf_hash, root_of
from concord.tlog.notes import Checkpoint, sign_checkpoint
from tests.api.conftest import Server, concord_command
from tests.waiting import free_port, wait_for

ORIGIN = "relacopaz.example/concord"
INTERVAL = "0.2"


@dataclass
class WitnessProcess:
    """A `concord witness serve` process."""

    name: str
    url: str
    vkey: str
    key_file: Path
    state: Path
    log_key: str
    log_path: Path
    process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        port = self.url.rsplit(":", 1)[1]
        with self.log_path.open("a") as out:
            self.process = subprocess.Popen(
                [concord_command(), "witness", "serve", "--key", str(self.key_file),
                 "--log", self.log_key, "--state", str(self.state), "--port", port],
                stdout=out, stderr=subprocess.STDOUT, text=True)

        def up() -> bool:
            assert self.process is not None and self.process.poll() is None, \
                self.log_path.read_text()
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout=30, what=f"witness {self.name}")

    def stop(self, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
            self.process.wait(15)
        self.process = None


@pytest.fixture
def witnessed(tmp_path: Path, start_server: Callable[..., Server]
              ) -> Iterator[Callable[..., tuple[Server, list[WitnessProcess]]]]:
    """Starts three witnesses of a log, then the log, configured to ask them."""
    witnesses: list[WitnessProcess] = []

    def start(count: int = 3, data_dir: Path | None = None,
              **env: str) -> tuple[Server, list[WitnessProcess]]:
        data = data_dir or tmp_path / "log"
        log_key = load_or_create_signer(data / "signing.key", ORIGIN).verifier_key_string()
        if not witnesses:
            for number in range(1, count + 1):
                name = f"witness{number}.example"
                key_file = tmp_path / f"{name}.key"
                made = subprocess.run([concord_command(), "witness", "keygen", "--name", name,
                                       "--out", str(key_file)],
                                      capture_output=True, text=True, check=True)
                witness = WitnessProcess(name, f"http://127.0.0.1:{free_port()}",
                                         made.stdout.strip(), key_file,
                                         tmp_path / f"{name}.db", log_key,
                                         tmp_path / f"{name}.log")
                witness.start()
                witnesses.append(witness)
        listed = ",".join(f"{w.url} {w.vkey}" for w in witnesses)
        server = start_server(data_dir=data, env={
            "CONCORD_LOG_ORIGIN": ORIGIN, "CONCORD_WITNESSES": listed,
            "CONCORD_WITNESS_INTERVAL_SECONDS": INTERVAL, **env})
        return server, witnesses

    yield start
    for witness in witnesses:
        witness.stop()


def join(server: Server, state: str, on: str = "2023-09-12") -> None:
    answer = server.http.post("/v1/events", json={
        "type": "StateJoinedNetwork", "effective_date": on,
        "data": {"network": "RELACOPAZ", "state": state, "role": "member"}})
    assert answer.status_code == 201, answer.text


def found_network(server: Server) -> None:
    answer = server.http.post("/v1/events", json={
        "type": "NetworkEstablished", "effective_date": "2023-09-12",
        "data": {"network": "RELACOPAZ", "name": "Red Latinoamericana y del Caribe para la "
                 "Cooperación en Operaciones de Paz"}})
    assert answer.status_code == 201, answer.text


def cosignatures(note: str, witnesses: list[WitnessProcess]) -> dict[str, int]:
    """The witnesses whose cosignature/v1 on `note` verifies, with its timestamp: checked
    with hashlib and the cryptography package alone."""
    text, _, signatures = note.rpartition("\n\n")
    body = text + "\n"
    valid: dict[str, int] = {}
    for line in signatures.splitlines():
        _, name, encoded = line.split(" ")
        payload = base64.b64decode(encoded)
        for witness in witnesses:
            wname, key_id, key = witness.vkey.split("+", 2)
            raw = base64.b64decode(key)
            assert raw[0] == 0x04
            if name != wname or payload[:4] != bytes.fromhex(key_id):
                continue
            assert bytes.fromhex(key_id) == hashlib.sha256(
                wname.encode() + b"\n\x04" + raw[1:]).digest()[:4]
            timestamp = int.from_bytes(payload[4:12], "big")
            message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(payload[12:], message)
            valid[wname] = timestamp
    return valid


def served(server: Server) -> tuple[int, str]:
    note = server.http.get("/v1/log/checkpoint").text
    return int(note.splitlines()[1]), note


def cosigned_by(server: Server, witnesses: list[WitnessProcess], size: int,
                count: int) -> str:
    """Wait until the served checkpoint has `size` entries and `count` valid cosignatures."""

    def ready() -> str | None:
        at, note = served(server)
        return note if at == size and len(cosignatures(note, witnesses)) == count else None

    note = wait_for(ready, timeout=20, what=f"{count} cosignatures of size {size}")
    assert note is not None
    return note


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([concord_command(), "verify", *args], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"})


def test_three_witnesses_cosign_the_served_checkpoint_and_a_quorum_is_demanded(
        witnessed: Callable[..., tuple[Server, list[WitnessProcess]]], tmp_path: Path) -> None:
    server, witnesses = witnessed()
    found_network(server)
    for state in ("ARG", "BRA", "CHL"):
        join(server, state)

    note = cosigned_by(server, witnesses, 4, 3)
    assert note.count("\n\u2014 ") == 4  # the log's signature and three cosignatures
    times = cosignatures(note, witnesses).values()
    assert all(t > 1_700_000_000 for t in times)

    # A receipt as a C2SP tlog-proof, verified offline with a quorum of the three.
    proof = server.http.get("/v1/log/proofs/inclusion",
                            params={"leaf_index": 2, "format": "tlog-proof"})
    assert proof.status_code == 200, proof.text
    assert proof.text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert proof.text.endswith(note)
    path = tmp_path / "entry.tlog-proof"
    path.write_text(proof.text)
    log_key = witnesses[0].log_key
    keys = [arg for w in witnesses for arg in ("--witness", w.vkey)]
    checked = verify("--receipt", str(path), "--key", log_key, *keys, "--quorum", "3")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "position 3 (leaf 2)" in checked.stdout
    assert "the entry it proves: StateJoinedNetwork" in checked.stdout
    # The same demand as a C2SP tlog-policy file, which names the log's key too.
    policy = tmp_path / "relacopaz.policy"
    policy.write_text(f"log {log_key}\n" + "".join(
        f"witness W{n} {w.vkey}\n" for n, w in enumerate(witnesses)) +
        "group states 2 W0 W1 W2\nquorum states\n")
    by_policy = verify("--receipt", str(path), "--policy", str(policy))
    assert by_policy.returncode == 0, by_policy.stdout + by_policy.stderr
    assert "cosigned by W0, W1, W2" in by_policy.stdout

    # Operations see each witness.
    ready = server.http.get("/readyz").json()
    assert {w["status"] for w in ready["witnesses"].values()} == {"ok"}
    assert {w["cosigned_size"] for w in ready["witnesses"].values()} == {4}
    metrics = server.http.get("/metrics").text
    assert metrics.count("concord_witness_up{") == 3

    # A witness restarted on its state keeps it, and goes on cosigning.
    witnesses[1].stop()
    witnesses[1].start()
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    kept = httpx.get(f"{witnesses[1].url}/{origin_hash}/checkpoint")
    assert kept.status_code == 200 and kept.text.splitlines()[1] == "4"
    join(server, "URY")
    cosigned_by(server, witnesses, 5, 3)

    # A witness that is down is shown, counted, and does not stop the log.
    witnesses[2].stop(kill=True)
    join(server, "PER")
    note = cosigned_by(server, witnesses, 6, 2)
    failing = wait_for(lambda: [name for name, w in server.http.get("/readyz").json()[
        "witnesses"].items() if w["status"] == "failing"], what="a failing witness")
    assert failing == [f"{witnesses[2].name}+{witnesses[2].vkey.split('+')[1]}"]
    assert 'concord_witness_failures_total{witness="witness3.example' in \
        server.http.get("/metrics").text
    saved = tmp_path / "six.checkpoint"
    saved.write_text(note)
    assert verify("--checkpoint", str(saved), "--server", server.url, "--key", log_key,
                  *keys, "--quorum", "2").returncode == 0
    refused = verify("--checkpoint", str(saved), "--server", server.url, "--key", log_key,
                     *keys, "--quorum", "3")
    assert refused.returncode == 1 and "not witnessed enough" in refused.stderr


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_rewritten_history_is_refused_by_every_witness(
        witnessed: Callable[..., tuple[Server, list[WitnessProcess]]], tmp_path: Path) -> None:
    server, witnesses = witnessed()
    found_network(server)
    join(server, "ARG")
    join(server, "BRA")
    honest = cosigned_by(server, witnesses, 3, 3)
    server.process.terminate()
    server.process.wait(15)

    # The operator rewrites the record: a new log with the same key, where Brazil never
    # joined but Chile did, and later Peru.
    rewritten = tmp_path / "rewritten"
    rewritten.mkdir()
    (rewritten / "signing.key").write_bytes((tmp_path / "log" / "signing.key").read_bytes())
    (rewritten / "signing.key").chmod(0o600)
    forged, _ = witnessed(data_dir=rewritten)
    found_network(forged)
    join(forged, "ARG")
    join(forged, "CHL")
    keys = [arg for w in witnesses for arg in ("--witness", w.vkey)]
    log_key = witnesses[0].log_key

    def refused_by_all(size: int) -> bool:
        ready = forged.http.get("/readyz").json()["witnesses"]
        return served(forged)[0] == size and all(
            w["status"] == "failing" and "422" in (w["last_error"] or "")
            for w in ready.values())

    # Another root for the size they cosigned: refused, and kept as evidence. It is kept
    # once, with the status of its first refusal: 422 (not consistent) when the log first
    # sent it from the size the witness holds, 409 when it first sent it from another old
    # size (as a log that reaches size 3 before it first asks does).
    wait_for(lambda: refused_by_all(3), timeout=20, what="every witness to refuse size 3")
    honest_root = base64.b64decode(honest.splitlines()[2])
    for witness in witnesses:
        with sqlite3.connect(witness.state) as db:
            kept = db.execute("SELECT size, status, root FROM witness_refusals").fetchall()
        at_3 = [(status, bytes(root)) for size, status, root in kept if size == 3]
        assert len(at_3) == 1 and at_3[0][0] in (409, 422), kept
        assert at_3[0][1] != honest_root and len(at_3[0][1]) == 32, kept
    # A longer rewritten history: refused too (no proof links it to what they cosigned).
    join(forged, "PER")
    wait_for(lambda: refused_by_all(4), timeout=20, what="every witness to refuse size 4")
    size, note = served(forged)
    assert size == 4 and cosignatures(note, witnesses) == {}
    saved = tmp_path / "forged.checkpoint"
    saved.write_text(note)
    checked = verify("--checkpoint", str(saved), "--server", forged.url, "--key", log_key,
                     *keys, "--quorum", "2")
    assert checked.returncode == 1 and "not witnessed enough" in checked.stderr
    # An auditor holding the true, cosigned checkpoint of 3 sees the rewrite.
    true = tmp_path / "true.checkpoint"
    true.write_text(honest)
    caught = verify("--checkpoint", str(true), "--server", forged.url, "--key", log_key)
    assert caught.returncode == 1 and "no proof that the log of 4 entries extends" in \
        caught.stderr, caught.stderr
    # Each witness still holds the true history's size.
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    for witness in witnesses:
        assert httpx.get(f"{witness.url}/{origin_hash}/checkpoint").text.splitlines()[1] == "3"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_log_that_gives_a_stale_old_size_catches_its_witness_up_after_409(
        witnessed: Callable[..., tuple[Server, list[WitnessProcess]]], tmp_path: Path) -> None:
    server, witnesses = witnessed(count=1)
    found_network(server)
    join(server, "ARG")
    join(server, "BRA")
    cosigned_by(server, witnesses, 3, 1)
    server.process.terminate()
    server.process.wait(15)
    # The log's record of what its witness holds is older than the witness's (as in a
    # backup taken before the last round).
    with sqlite3.connect(tmp_path / "log" / "concord.db") as db:
        db.execute("UPDATE concord_witness_status SET cosigned_size = 1")
    restarted, _ = witnessed(data_dir=tmp_path / "log")
    restarted.http.headers["Authorization"] = server.http.headers["Authorization"]
    join(restarted, "CHL")
    cosigned_by(restarted, witnesses, 4, 1)
    label = f"{witnesses[0].name}+{witnesses[0].vkey.split('+')[1]}"
    assert f"witness {label} holds a tree of 3 entries, not 1 (409)" in restarted.logs()


def test_two_witnesses_shown_two_forks_never_both_cosign_one(tmp_path: Path) -> None:
    """A log that shows each witness another history of the same size gets each fork
    cosigned once at most: a verifier demanding both witnesses accepts neither."""
    log = load_or_create_signer(tmp_path / "log.key", ORIGIN)
    forks = []
    for tip in (b"A", b"B"):
        leaves = [leaf_hash(b"shared %d" % i) for i in range(5)] + [leaf_hash(tip)]
        forks.append(sign_checkpoint(log, Checkpoint(ORIGIN, len(leaves), root_of(leaves))))
    witnesses = []
    for number in (1, 2):
        name = f"witness{number}.example"
        key_file = tmp_path / f"{name}.key"
        made = subprocess.run([concord_command(), "witness", "keygen", "--name", name,
                               "--out", str(key_file)], capture_output=True, text=True,
                              check=True)
        witness = WitnessProcess(name, f"http://127.0.0.1:{free_port()}", made.stdout.strip(),
                                 key_file, tmp_path / f"{name}.db", log.verifier_key_string(),
                                 tmp_path / f"{name}.log")
        witness.start()
        witnesses.append(witness)
    try:
        answers: dict[tuple[str, int], set[int]] = {}
        # Each witness is shown both forks, in opposite orders, the second several times.
        for witness, order in ((witnesses[0], (0, 1)), (witnesses[1], (1, 0))):
            for fork in (*order, order[1], order[1]):
                body = f"old 0\n\n{forks[fork]}".encode()
                answer = httpx.post(f"{witness.url}/add-checkpoint", content=body)
                if answer.status_code == 409:  # it holds size 6: ask from there
                    body = f"old 6\n\n{forks[fork]}".encode()
                    answer = httpx.post(f"{witness.url}/add-checkpoint", content=body)
                answers.setdefault((witness.name, fork), set()).add(answer.status_code)
                if answer.status_code == 200:
                    forks[fork] += answer.text
        assert answers == {("witness1.example", 0): {200}, ("witness1.example", 1): {422},
                           ("witness2.example", 1): {200}, ("witness2.example", 0): {422}}
        for note in forks:
            assert len(cosignatures(note, witnesses)) == 1
            saved = tmp_path / "fork.checkpoint"
            saved.write_text(note)
            keys = [arg for w in witnesses for arg in ("--witness", w.vkey)]
            export = tmp_path / "empty.jsonl"
            export.write_text("")
            checked = verify("--export", str(export), "--checkpoint", str(saved), "--key",
                             log.verifier_key_string(), *keys, "--quorum", "2")
            assert checked.returncode == 1 and "not witnessed enough" in checked.stderr
    finally:
        for witness in witnesses:
            witness.stop()
