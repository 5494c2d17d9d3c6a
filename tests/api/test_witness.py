"""The witness (C2SP tlog-witness): every answer of add-checkpoint, in-process on a real
state file; the checkpoint it serves; concurrent forks; the command line; and a real
`concord witness serve` process killed right after it cosigned.

Cosignatures are checked with the `cryptography` package directly (tests/api/witnesses.py),
not through Concord's code."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import multiprocessing
import re
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.routing import Route
from starlette.testclient import TestClient
from typer.testing import CliRunner

from concord.api.cli.app import app as cli
from concord.api.witness.app import MAX_CONNECTIONS, create_app
from concord.api.witness.cosigning import Refused, Witness
from concord.api.witness.state import SCHEMA_VERSION, WitnessState
from concord.tlog.cosignature import Cosigner
from concord.tlog.merkle import EMPTY_ROOT
from concord.tlog.notes import Checkpoint, Signer
from concord.tlog.witnessing import encode_add_checkpoint
from tests.api.conftest import concord_command
from tests.api.witnesses import (
    ORIGIN,
    MemoryLog,
    check_cosignature,
    check_log_signature,
    key_id,
    post_stalled,
)
from tests.waiting import free_port, wait_for

NAME = "witness.example/w1"
PRIVATE = Ed25519PrivateKey.generate()
PUBLIC = PRIVATE.public_key().public_bytes_raw()
LOG_KEY = Signer.generate(ORIGIN)
TEXT = "text/plain; charset=utf-8"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[WitnessState]:
    opened = WitnessState(tmp_path / "witness.db")
    yield opened
    opened.close()


@pytest.fixture
def witness(state: WitnessState) -> Witness:
    return Witness(Cosigner(NAME, PRIVATE), [LOG_KEY.verifier()], state)


@pytest.fixture
def http(witness: Witness) -> Iterator[TestClient]:
    with TestClient(create_app(witness)) as client:
        yield client


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog(LOG_KEY).grow(16)


def add(http: TestClient | httpx.Client, body: bytes) -> httpx.Response:
    answer: httpx.Response = http.post("/add-checkpoint", content=body)
    return answer


def cosigned(http: TestClient, log: MemoryLog, old_size: int, size: int) -> int:
    """Have the witness cosign `log` at `size`; the cosignature's timestamp."""
    answer = add(http, log.body(old_size, size))
    assert answer.status_code == 200, answer.text
    text = Checkpoint(ORIGIN, size, log.root(size)).body()
    return check_cosignature(answer.text, NAME, PUBLIC, text)


def held(path: Path) -> list[tuple[Any, ...]]:
    """What the state file holds, read with a connection of its own."""
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT * FROM witness_checkpoints ORDER BY origin").fetchall()


# Cosigning


def test_a_first_checkpoint_is_cosigned_from_old_size_zero(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    before = int(time.time())

    answer = add(http, log.body(0, 5))

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == TEXT
    assert answer.text.count("\n") == 1
    text = Checkpoint(ORIGIN, 5, log.root(5)).body()
    assert before <= check_cosignature(answer.text, NAME, PUBLIC, text) <= time.time()
    latest = state.latest(ORIGIN)
    assert latest is not None and (latest.size, latest.root) == (5, log.root(5))


def test_a_checkpoint_that_extends_the_last_one_is_cosigned_with_its_proof(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    first = cosigned(http, log, 0, 5)
    second = cosigned(http, log, 5, 13)
    # Check the same checkpoint again: equal sizes, equal roots, no proof.
    third = cosigned(http, log, 13, 13)

    assert first <= second <= third
    latest = state.latest(ORIGIN)
    assert latest is not None and (latest.size, latest.root) == (13, log.root(13))


def test_the_empty_tree_is_cosigned_then_extended_without_a_proof(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    assert log.root(0) == EMPTY_ROOT
    cosigned(http, log, 0, 0)
    assert held(state.path)[0][1] == 0

    cosigned(http, log, 0, 4)

    assert held(state.path)[0][1] == 4


def test_a_cosignature_is_never_older_than_the_last_one_when_the_clock_steps_back(
        state: WitnessState, log: MemoryLog) -> None:
    times = iter([2_000_000_000.0, 1_000_000_000.0])
    witness = Witness(Cosigner(NAME, PRIVATE), [LOG_KEY.verifier()], state, lambda: next(times))

    first = witness.add_checkpoint(log.body(0, 3))
    second = witness.add_checkpoint(log.body(3, 6))

    assert first.timestamp == second.timestamp == 2_000_000_000


def test_a_log_with_two_keys_is_witnessed_under_either(state: WitnessState,
                                                        log: MemoryLog) -> None:
    new_key = Signer.generate(ORIGIN)
    witness = Witness(Cosigner(NAME, PRIVATE), [LOG_KEY.verifier(), new_key.verifier()],
                      state)
    witness.add_checkpoint(log.body(0, 3))

    rotated = encode_add_checkpoint(3, log.proof(3, 6), log.checkpoint(6, new_key))

    assert witness.add_checkpoint(rotated).request.checkpoint.size == 6


# Refusals: each leaves the state as it was


def refused(http: TestClient, body: bytes, status: int, path: Path) -> httpx.Response:
    before = held(path)
    answer = add(http, body)
    assert answer.status_code == status, answer.text
    assert held(path) == before
    return answer


def test_a_checkpoint_of_a_log_the_witness_does_not_witness_is_404(
        http: TestClient, state: WitnessState) -> None:
    other = MemoryLog(Signer.generate("other.example/log")).grow(3)

    answer = refused(http, other.body(0, 3), 404, state.path)

    assert "'other.example/log'" in answer.text
    assert answer.headers["content-type"] == TEXT


def forged_notes(log: MemoryLog) -> dict[str, str]:
    text = Checkpoint(ORIGIN, 5, log.root(5)).body()
    good = LOG_KEY.sign(text)
    line = good.split("\n\n")[-1]
    payload = base64.b64decode(line.split(" ")[2])
    bad = payload[:4] + bytes([payload[4] ^ 1]) + payload[5:]
    bad_line = f"\u2014 {ORIGIN} {base64.b64encode(bad).decode()}\n"
    return {
        "impostor-key-of-the-same-name": Signer.generate(ORIGIN).sign(text),
        "another-name-only": Signer.generate("someone.example").sign(text),
        "a-witness-cosignature-only": text + "\n" + Cosigner(NAME, PRIVATE).cosign(text, 7),
        "the-log-key-signature-fails": text + "\n" + bad_line,
        "a-good-and-a-failing-log-signature": good + bad_line,
        "signed-over-other-text": text + "\n" + LOG_KEY.sign(text + "x\n").split("\n\n")[-1],
    }


@pytest.mark.parametrize("case", list(forged_notes(MemoryLog(LOG_KEY).grow(5))))
def test_a_checkpoint_without_a_valid_signature_by_the_log_is_403(
        http: TestClient, log: MemoryLog, state: WitnessState, case: str) -> None:
    note = forged_notes(log)[case]

    refused(http, encode_add_checkpoint(0, [], note), 403, state.path)

    assert state.refusals() == []


def test_a_key_matching_the_log_s_name_and_id_whose_signature_fails_is_named(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    note = forged_notes(log)["a-good-and-a-failing-log-signature"]

    answer = refused(http, encode_add_checkpoint(0, [], note), 403, state.path)

    assert f"{ORIGIN}+{LOG_KEY.key_id.hex()}" in answer.text and "does not verify" in answer.text


@pytest.mark.parametrize("body", [
    b"", b"garbage", b"old 01\n\n", b"old 0\nnot a hash\n\n", b"old 0\n",
    "old 0\n\n\u2014\n".encode(),
], ids=["empty", "garbage", "leading-zero", "bad-proof-line", "no-checkpoint", "bad-note"])
def test_a_malformed_request_is_400(http: TestClient, state: WitnessState, body: bytes) -> None:
    answer = refused(http, body, 400, state.path)

    assert answer.headers["content-type"] == TEXT and answer.text.endswith("\n")


def test_an_old_size_larger_than_the_checkpoint_s_is_400(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    cosigned(http, log, 0, 6)

    answer = refused(http, encode_add_checkpoint(6, [], log.checkpoint(5)), 400, state.path)

    assert "larger than the checkpoint's size 5" in answer.text


def test_a_body_over_64_kib_is_413(http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    padded = log.body(0, 5) + b"x" * (64 * 1024)

    refused(http, padded, 413, state.path)


@pytest.mark.parametrize("old_size", [0, 3, 7, 12])
def test_an_old_size_other_than_the_one_cosigned_is_409_with_that_size(
        http: TestClient, log: MemoryLog, state: WitnessState, old_size: int) -> None:
    cosigned(http, log, 0, 7)
    body = log.body(old_size, 12) if old_size != 7 else log.body(0, 12).replace(b"old 0",
                                                                              b"old 3")

    answer = refused(http, body, 409, state.path)

    assert answer.headers["content-type"] == "text/x.tlog.size"
    assert answer.content == b"7\n"


def test_a_witness_that_cosigned_nothing_answers_409_with_size_zero(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    answer = refused(http, log.body(4, 9), 409, state.path)

    assert answer.content == b"0\n" and answer.headers["content-type"] == "text/x.tlog.size"


def inconsistent_requests(log: MemoryLog) -> dict[str, tuple[int, bytes]]:
    """Requests the witness that cosigned `log` at 5 must refuse with 422: (the size the
    witness must first cosign, the request)."""
    fork = log.forked(3, "fork").grow(9)
    wrong = log.proof(5, 9)
    wrong[0] = hashlib.sha256(b"not in the tree").digest()
    other_root = hashlib.sha256(b"not the empty tree").digest()
    return {
        "a-proof-hash-altered": (5, encode_add_checkpoint(5, wrong, log.checkpoint(9))),
        "a-proof-from-another-size": (5, encode_add_checkpoint(5, log.proof(4, 9),
                                                               log.checkpoint(9))),
        "a-proof-cut-short": (5, encode_add_checkpoint(5, log.proof(5, 9)[:-1],
                                                       log.checkpoint(9))),
        "a-fork-with-its-own-proof": (5, encode_add_checkpoint(5, fork.proof(5, 9),
                                                               fork.checkpoint(9))),
        "another-root-for-the-size-cosigned": (5, encode_add_checkpoint(5, [],
                                                                        fork.checkpoint(5))),
        "the-same-size-with-a-proof": (5, encode_add_checkpoint(5, log.proof(4, 5),
                                                                log.checkpoint(5))),
        "a-proof-from-old-size-zero": (0, encode_add_checkpoint(0, log.proof(5, 9),
                                                                log.checkpoint(9))),
        "a-size-zero-tree-with-another-root": (0, encode_add_checkpoint(0, [], LOG_KEY.sign(
            Checkpoint(ORIGIN, 0, other_root).body()))),
    }


CONTRADICTING = ["another-root-for-the-size-cosigned", "a-size-zero-tree-with-another-root"]
"""The inconsistent requests whose checkpoint, signed by the log, shows it misbehaving by
itself; in the others only the proof or the old size is wrong, which anyone can send."""


@pytest.mark.parametrize("case", list(inconsistent_requests(MemoryLog(LOG_KEY).grow(16))))
def test_a_checkpoint_that_does_not_extend_the_one_cosigned_is_422(
        http: TestClient, log: MemoryLog, state: WitnessState, case: str) -> None:
    first, body = inconsistent_requests(log)[case]
    if first:
        cosigned(http, log, 0, first)

    answer = refused(http, body, 422, state.path)

    assert answer.headers["content-type"] == TEXT and answer.text.endswith("\n")


@pytest.mark.parametrize("case", CONTRADICTING)
def test_a_signed_checkpoint_contradicting_the_one_held_is_kept_as_evidence(
        http: TestClient, log: MemoryLog, state: WitnessState, case: str,
        caplog: pytest.LogCaptureFixture) -> None:
    first, body = inconsistent_requests(log)[case]
    if first:
        cosigned(http, log, 0, first)

    with caplog.at_level(logging.INFO, logger="concord.witness"):
        answer = refused(http, body, 422, state.path)

    [kept] = state.refusals(ORIGIN)
    assert (kept.status, kept.reason + "\n") == (422, answer.text)
    assert encode_add_checkpoint(kept.old_size, [base64.b64decode(line) for line in
                                                 kept.proof.splitlines()], kept.note) == body
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"possible misbehaviour of the log {ORIGIN!r}" in warnings[0]
    assert f"refusal {kept.id}" in warnings[0]


@pytest.mark.parametrize("case", [case for case in inconsistent_requests(
    MemoryLog(LOG_KEY).grow(16)) if case not in CONTRADICTING])
def test_a_bad_proof_or_old_size_with_a_genuine_checkpoint_is_not_evidence(
        http: TestClient, log: MemoryLog, state: WitnessState, case: str,
        caplog: pytest.LogCaptureFixture) -> None:
    first, body = inconsistent_requests(log)[case]
    if first:
        cosigned(http, log, 0, first)

    with caplog.at_level(logging.INFO, logger="concord.witness"):
        answer = refused(http, body, 422, state.path)

    assert state.refusals() == []
    assert [r.levelno for r in caplog.records if r.name == "concord.witness"] == [logging.INFO]
    assert f": 422, {answer.text[:-1]!r}" in caplog.records[-1].getMessage()


def test_a_contradicting_checkpoint_sent_again_is_kept_once_and_warned_of_once(
        http: TestClient, log: MemoryLog, state: WitnessState,
        caplog: pytest.LogCaptureFixture) -> None:
    cosigned(http, log, 0, 5)
    fork = log.forked(3, "fork").grow(5)

    with caplog.at_level(logging.INFO, logger="concord.witness"):
        refused(http, encode_add_checkpoint(5, [], fork.checkpoint(5)), 422, state.path)
        refused(http, encode_add_checkpoint(5, [], fork.checkpoint(5)), 422, state.path)
        refused(http, fork.body(0, 5), 409, state.path)

    [kept] = state.refusals()
    assert (kept.size, kept.root, kept.old_size) == (5, fork.root(5), 5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    again = [r.getMessage() for r in caplog.records if "kept already" in r.getMessage()]
    assert len(again) == 2 and all(f"refusal {kept.id}" in line for line in again)


def test_no_refusal_is_kept_beyond_the_most_the_state_keeps_and_that_is_said_once(
        tmp_path: Path, log: MemoryLog, caplog: pytest.LogCaptureFixture) -> None:
    state = WitnessState(tmp_path / "small.db", max_refusals=2)
    witness = Witness(Cosigner(NAME, PRIVATE), [LOG_KEY.verifier()], state)
    forks = [log.forked(3, f"fork {n}").grow(5) for n in range(4)]
    try:
        with TestClient(create_app(witness)) as client:
            cosigned(client, log, 0, 5)
            with caplog.at_level(logging.INFO, logger="concord.witness"):
                for fork in forks:
                    refused(client, encode_add_checkpoint(5, [], fork.checkpoint(5)), 422,
                            state.path)
        assert [kept.root for kept in state.refusals()] == [f.root(5) for f in forks[:2]]
    finally:
        state.close()
    full = [r.getMessage() for r in caplog.records if "no more refusals" in r.getMessage()]
    assert len(full) == 1 and "holds 2 refusals" in full[0]
    warnings = [r.getMessage() for r in caplog.records if "possible misbehaviour" in
                r.getMessage()]
    assert [line.endswith("not kept") for line in warnings] == [False, False, True, True]


def test_a_version_1_state_file_keeps_each_refused_checkpoint_once(
        tmp_path: Path, log: MemoryLog) -> None:
    path = tmp_path / "v1.db"
    WitnessState(path).close()
    fork = log.forked(3, "fork").grow(5)
    # Check: a version 1 file, which kept every refusal, the same checkpoint twice.
    with sqlite3.connect(path) as connection:
        connection.execute("DROP INDEX witness_refusals_checkpoint")
        for number, root in enumerate([fork.root(5), log.root(5), fork.root(5)]):
            connection.execute(
                "INSERT INTO witness_refusals (received_at, origin, old_size, size, root, "
                "status, reason, proof, note) VALUES (?, ?, 5, 5, ?, 422, ?, '', '')",
                (f"2025-01-0{number + 1}", ORIGIN, root, f"refusal {number}"))
        connection.execute("PRAGMA user_version=1")
    connection.close()

    WitnessState(path).close()

    with sqlite3.connect(path) as connection:
        kept = connection.execute("SELECT reason FROM witness_refusals ORDER BY id").fetchall()
        assert kept == [("refusal 0",), ("refusal 1",)]
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute("INSERT INTO witness_refusals (received_at, origin, old_size, "
                               "size, root, status, reason, proof, note) VALUES ('', ?, 5, 5, "
                               "?, 422, '', '', '')", (ORIGIN, fork.root(5)))
    connection.close()


def test_a_second_root_for_the_size_cosigned_is_kept_as_evidence_even_with_a_wrong_old_size(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    cosigned(http, log, 0, 5)
    fork = log.forked(2, "fork").grow(5)
    # Check that a routine 409 (a log catching up) is not evidence.
    refused(http, log.body(0, 5), 409, state.path)
    assert state.refusals() == []

    refused(http, fork.body(0, 5), 409, state.path)

    [kept] = state.refusals()
    assert (kept.size, kept.root, kept.status) == (5, fork.root(5), 409)


def test_every_request_is_logged_in_one_line(
        http: TestClient, log: MemoryLog, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="concord.witness"):
        cosigned(http, log, 0, 5)
        add(http, log.body(0, 6))

    lines = [r.getMessage() for r in caplog.records if r.name == "concord.witness"]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert f"origin {ORIGIN!r}, old size 0, size 5: 200" in lines[0]
    assert f"origin {ORIGIN!r}, old size 0, size 6: 409" in lines[1]


@pytest.mark.parametrize("segment", ["x\nWARNING forged", "x\r\nWARNING forged"],
                         ids=["lf", "crlf"])
def test_a_path_with_line_breaks_cannot_forge_a_log_line(
        http: TestClient, segment: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="concord.witness"):
        assert http.get(f"/{quote(segment)}/checkpoint").status_code == 404

    [line] = [r.getMessage() for r in caplog.records if r.name == "concord.witness"]
    assert line == f"checkpoint {segment!r}: 404"
    assert "\n" not in line and "\r" not in line


def test_a_body_that_does_not_arrive_in_time_is_408(
        witness: Witness, log: MemoryLog, state: WitnessState) -> None:
    app = create_app(witness, body_timeout=0.1)
    body = log.body(0, 5)

    sent = asyncio.run(asyncio.wait_for(
        post_stalled(app, "/add-checkpoint", body[:10], len(body)), timeout=10))

    start, content = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    assert start["status"] == 408 and (b"connection", b"close") in start["headers"]
    assert b"did not arrive within 0.1 seconds" in content
    assert held(state.path) == []


def test_every_route_has_a_one_line_docstring(witness: Witness) -> None:
    for route in create_app(witness).routes:
        assert isinstance(route, Route)
        doc = route.endpoint.__doc__
        assert doc and "\n" not in doc.strip(), route.path


# Forks, concurrently: only one root per size, ever


def race(bodies: list[bytes], post: Callable[[int, bytes], httpx.Response | int]
         ) -> list[int]:
    """Send every body at once, one thread each; their statuses, in order."""
    start = threading.Barrier(len(bodies))
    statuses: list[int] = [0] * len(bodies)

    def send(number: int) -> None:
        start.wait()
        answer = post(number, bodies[number])
        statuses[number] = answer if isinstance(answer, int) else answer.status_code

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_of_concurrent_forks_at_one_size_exactly_one_is_cosigned(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    cosigned(http, log, 0, 4)
    forks = [log.forked(4, f"fork {n}").grow(8) for n in range(12)]

    statuses = race([fork.body(4, 8) for fork in forks], lambda _, body: add(http, body))

    assert sorted(statuses) == [200] + [409] * 11
    winner = forks[statuses.index(200)]
    latest = state.latest(ORIGIN)
    assert latest is not None and (latest.size, latest.root) == (8, winner.root(8))
    # Check that no other fork can be cosigned at that size afterwards.
    loser = forks[statuses.index(409)]
    refused(http, encode_add_checkpoint(8, [], loser.checkpoint(8)), 422, state.path)


def test_witnesses_sharing_a_state_file_cosign_one_root_per_size(
        tmp_path: Path, log: MemoryLog) -> None:
    path = tmp_path / "shared.db"
    states = [WitnessState(path) for _ in range(3)]
    witnesses = [Witness(Cosigner(NAME, PRIVATE), [LOG_KEY.verifier()], s) for s in states]
    forks = [log.forked(0, f"fork {n}").grow(6) for n in range(12)]

    def post(number: int, body: bytes) -> int:
        try:
            witnesses[number % 3].add_checkpoint(body)
        except Refused as refusal:
            return refusal.status
        return 200

    try:
        statuses = race([fork.body(0, 6) for fork in forks], post)
    finally:
        for opened in states:
            opened.close()

    assert sorted(statuses) == [200] + [409] * 11
    [(origin, size, root, *_)] = held(path)
    assert (origin, size, root) == (ORIGIN, 6, forks[statuses.index(200)].root(6))


def cosign_in_this_process(path: Path, body: bytes, start: Any, statuses: Any) -> None:
    """A process's own witness on the shared state file, sending `body` once `start` opens."""
    state = WitnessState(path)
    try:
        witness = Witness(Cosigner(NAME, PRIVATE), [LOG_KEY.verifier()], state)
        start.wait()
        try:
            witness.add_checkpoint(body)
        except Refused as refusal:
            statuses.put(refusal.status)
        else:
            statuses.put(200)
    finally:
        state.close()


def test_witness_processes_sharing_a_state_file_cosign_one_root_per_size(
        tmp_path: Path, log: MemoryLog) -> None:
    path = tmp_path / "shared.db"
    WitnessState(path).close()
    forks = [log.forked(2, f"fork {n}").grow(6) for n in range(6)]
    context = multiprocessing.get_context("fork")
    start, statuses = context.Barrier(len(forks)), context.Queue()
    processes = [context.Process(target=cosign_in_this_process,
                                 args=(path, fork.body(0, 6), start, statuses))
                 for fork in forks]
    for process in processes:
        process.start()
    answers = sorted(statuses.get(timeout=30) for _ in processes)
    for process in processes:
        process.join(30)

    assert answers == [200] + [409] * 5
    [(_, size, root, *_)] = held(path)
    assert size == 6 and root in {fork.root(6) for fork in forks}


def test_a_commit_that_fails_is_rolled_back_and_the_next_request_is_served(
        witness: Witness, log: MemoryLog, state: WitnessState) -> None:
    denied: list[str] = []

    def deny_the_first_commit(action: int, first: str | None, *_: str | None) -> int:
        if action == sqlite3.SQLITE_TRANSACTION and first == "COMMIT" and not denied:
            denied.append(first)
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    # SQLite refuses that COMMIT, as it would one that finds the disk full.
    state._connection.set_authorizer(deny_the_first_commit)

    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        witness.add_checkpoint(log.body(0, 5))

    assert denied and held(state.path) == [] and state.latest(ORIGIN) is None
    assert witness.add_checkpoint(log.body(0, 5)).request.checkpoint.size == 5
    assert held(state.path)[0][1] == 5


def test_the_state_file_itself_refuses_to_go_back(
        http: TestClient, log: MemoryLog, state: WitnessState) -> None:
    cosigned(http, log, 0, 5)

    with sqlite3.connect(state.path) as connection:
        for statement in ("UPDATE witness_checkpoints SET size = 4",
                          "UPDATE witness_checkpoints SET root = zeroblob(32)",
                          "DELETE FROM witness_checkpoints"):
            with pytest.raises(sqlite3.IntegrityError, match="a witness never"):
                connection.execute(statement)

    assert held(state.path)[0][1:3] == (5, log.root(5))


# The checkpoint served to monitors


def checkpoint_path(origin: str) -> str:
    return f"/{hashlib.sha256(origin.encode()).hexdigest()}/checkpoint"


def test_the_latest_cosigned_checkpoint_is_served_with_both_signatures(
        http: TestClient, log: MemoryLog) -> None:
    assert http.get(checkpoint_path(ORIGIN)).status_code == 404
    text = Checkpoint(ORIGIN, 9, log.root(9)).body()
    someone = Signer.generate("someone.example")
    cosigned(http, log, 0, 5)
    answer = add(http, encode_add_checkpoint(5, log.proof(5, 9),
                                             log.checkpoint(9, LOG_KEY, someone)))
    assert answer.status_code == 200

    served = http.get(checkpoint_path(ORIGIN))

    assert served.status_code == 200 and served.headers["content-type"] == TEXT
    body, blank, signatures = served.text.rpartition("\n\n")
    assert (body + "\n", blank) == (text, "\n\n")
    log_line, cosignature = signatures.splitlines(keepends=True)
    check_log_signature(log_line, LOG_KEY, text)
    check_cosignature(cosignature, NAME, PUBLIC, text)
    assert cosignature == answer.text
    assert "someone.example" not in served.text


@pytest.mark.parametrize("path", [
    checkpoint_path("other.example/log"),
    checkpoint_path(ORIGIN).upper().replace("/CHECKPOINT", "/checkpoint"),
    "/not-a-hash/checkpoint",
])
def test_no_checkpoint_is_served_for_an_unknown_or_misspelt_origin_hash(
        http: TestClient, log: MemoryLog, path: str) -> None:
    cosigned(http, log, 0, 5)

    assert http.get(path).status_code == 404


def test_the_routes_take_a_prefix_and_healthz_stays_at_the_root(
        witness: Witness, log: MemoryLog) -> None:
    with TestClient(create_app(witness, "/witness/")) as client:
        assert client.post("/witness/add-checkpoint", content=log.body(0, 3)).status_code == 200
        assert client.get(f"/witness{checkpoint_path(ORIGIN)}").status_code == 200
        assert client.post("/add-checkpoint", content=log.body(3, 3)).status_code == 404
        assert client.get("/healthz").text == "ok\n"
        assert client.get("/witness/add-checkpoint").status_code == 405


# The command line


runner = CliRunner()


def test_keygen_writes_a_0600_key_file_and_prints_the_cosignature_verifier_key(
        tmp_path: Path) -> None:
    out = tmp_path / "keys" / "w1.key"

    made = runner.invoke(cli, ["witness", "keygen", "--name", NAME, "--out", str(out)])

    assert made.exit_code == 0, made.output
    assert out.stat().st_mode & 0o777 == 0o600
    [vkey] = made.stdout.splitlines()
    name, id_hex, key = vkey.split("+", 2)
    raw = base64.b64decode(key, validate=True)
    assert (name, raw[0], len(raw)) == (NAME, 0x04, 33)
    assert bytes.fromhex(id_hex) == key_id(NAME, raw[1:])
    assert str(out) in made.stderr
    # Check that the key file is never overwritten.
    kept = out.read_bytes()
    again = runner.invoke(cli, ["witness", "keygen", "--name", NAME, "--out", str(out)])
    assert again.exit_code == 1 and "exists" in again.stderr
    assert out.read_bytes() == kept


def test_keygen_refuses_a_name_a_note_cannot_hold(tmp_path: Path) -> None:
    made = runner.invoke(cli, ["witness", "keygen", "--name", "a b", "--out",
                               str(tmp_path / "w.key")])

    assert made.exit_code == 1 and "--name" in made.stderr
    assert not (tmp_path / "w.key").exists()


def key_files(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A witness key file made by keygen, a file holding the log's verifier key, and the
    witness's raw public key (from the verifier key keygen printed)."""
    key = tmp_path / "w1.key"
    made = runner.invoke(cli, ["witness", "keygen", "--name", NAME, "--out", str(key)])
    assert made.exit_code == 0, made.output
    public = base64.b64decode(made.stdout.strip().split("+", 2)[2])[1:]
    vkey = tmp_path / "log.vkey"
    vkey.write_text(LOG_KEY.verifier_key_string() + "\n")
    return key, vkey, public


def test_serve_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    key, vkey, _ = key_files(tmp_path)
    key.chmod(0o640)

    refused = runner.invoke(cli, ["witness", "serve", "--key", str(key), "--log", str(vkey)])

    assert refused.exit_code == 1 and "mode 0640" in refused.stderr
    assert not key.with_suffix(".state.db").exists()


@pytest.mark.parametrize("log_key", ["not a key", "missing.vkey"])
def test_serve_refuses_a_log_key_it_cannot_read(tmp_path: Path, log_key: str) -> None:
    key, _, _ = key_files(tmp_path)

    refused = runner.invoke(cli, ["witness", "serve", "--key", str(key), "--log",
                                  str(tmp_path / log_key)])

    assert refused.exit_code == 1 and "--log" in refused.stderr


# A real process


class WitnessProcess:
    """`concord witness serve` on a free port, its output in a file."""

    def __init__(self, key: Path, vkey: Path, public_key: bytes, output: Path) -> None:
        self.public_key = public_key
        self.url = f"http://127.0.0.1:{free_port()}"
        self.output = output
        with output.open("a") as out:
            self.process = subprocess.Popen(
                [concord_command(), "witness", "serve", "--key", str(key), "--log", str(vkey),
                 "--port", self.url.rsplit(":", 1)[1]],
                stdout=out, stderr=subprocess.STDOUT, text=True)
        self.http = httpx.Client(base_url=self.url, timeout=10)
        wait_for(self.ready, timeout=30, what="the witness to serve")

    def ready(self) -> bool:
        assert self.process.poll() is None, self.output.read_text()
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(15)


@pytest.fixture
def start_witness(tmp_path: Path) -> Iterator[Callable[[], WitnessProcess]]:
    key, vkey, public_key = key_files(tmp_path)
    started: list[WitnessProcess] = []

    def start() -> WitnessProcess:
        started.append(WitnessProcess(key, vkey, public_key, tmp_path / "witness.out"))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def test_a_witness_serves_a_bounded_number_of_connections_at_once(
        start_witness: Callable[[], WitnessProcess]) -> None:
    witness = start_witness()
    port = int(witness.url.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10)
            for _ in range(MAX_CONNECTIONS)]
    try:
        wait_for(lambda: witness.http.get("/healthz").status_code == 503, timeout=10,
                 what=f"503 with {MAX_CONNECTIONS} connections open")
    finally:
        for connection in idle:
            connection.close()

    wait_for(lambda: witness.http.get("/healthz").status_code == 200, timeout=10,
             what="the witness to serve again")


def test_a_witness_killed_right_after_cosigning_still_holds_that_checkpoint(
        start_witness: Callable[[], WitnessProcess], log: MemoryLog) -> None:
    first = start_witness()
    answer = add(first.http, log.body(0, 5))
    assert answer.status_code == 200, answer.text
    first.process.kill()
    first.process.wait(15)

    second = start_witness()

    again = add(second.http, log.body(0, 5))
    assert (again.status_code, again.content) == (409, b"5\n")
    fork = log.forked(3, "fork").grow(5)
    assert add(second.http, encode_add_checkpoint(5, [], fork.checkpoint(5))).status_code == 422
    assert add(second.http, log.body(5, 9)).status_code == 200
    served = second.http.get(checkpoint_path(ORIGIN))
    text = Checkpoint(ORIGIN, 9, log.root(9)).body()
    assert served.status_code == 200 and served.text.startswith(text + "\n")
    check_cosignature(served.text.splitlines(keepends=True)[-1], NAME, second.public_key, text)
    # Check that SIGTERM stops it cleanly, having said what it witnesses.
    second.process.terminate()
    assert second.process.wait(15) == 0
    output = second.output.read_text()
    assert re.search(f"Witness {re.escape(NAME)} cosigning the checkpoints of\n  "
                     f"{re.escape(ORIGIN)} \\(key {re.escape(ORIGIN)}\\+"
                     f"{LOG_KEY.key_id.hex()}\\)\n", output), output
    assert f"Its verifier key: {NAME}+" in output
