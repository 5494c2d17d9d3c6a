"""The log's side of witnessing, in-process: which witnesses CONCORD_WITNESSES names, and
what the log records when a witness answers something it must not trust."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from concord.api.checkpoints import Checkpoints
from concord.api.collector import Collector, WitnessEndpoint, parse_witnesses
from concord.api.keyfile import load_or_create_signer
from concord.api.settings import Settings
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.runner import catch_up
from concord.projections.store import ProjectionStore
from concord.projections.tree import Transparency
from concord.tlog.cosignature import Cosigner

W1 = Cosigner.generate("w1.example").verifier().key_string()
W2 = Cosigner.generate("w2.example").verifier().key_string()


def test_witnesses_are_urls_and_keys_in_either_order() -> None:
    found = parse_witnesses(f" https://w1.example/witness/ {W1},\n{W2}  http://127.0.0.1:9 \n")

    assert [(w.url, w.verifier.key_string()) for w in found] == [
        ("https://w1.example/witness", W1), ("http://127.0.0.1:9", W2)]
    assert parse_witnesses("") == parse_witnesses(" , \n") == []


@pytest.mark.parametrize(("text", "reason"), [
    (W1, "a URL and a verifier key"),
    ("https://w1.example", "a URL and a verifier key"),
    (f"ftp://w1.example {W1}", "not an http or https URL"),
    ("https://w1.example w1.example+00000000+BAAA", "witness 1"),
    (f"https://a.example {W1}, https://b.example {W1}", "given twice"),
], ids=["key alone", "url alone", "ftp", "bad key", "twice"])
def test_a_wrong_witness_entry_is_refused_at_start_naming_it(text: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(witnesses=text)


class _Junk(http.server.BaseHTTPRequestHandler):
    """A 'witness' that answers every add-checkpoint with 200 and no cosignature."""

    def do_POST(self) -> None:  # noqa: N802 -- the name http.server calls
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"\xe2\x80\x94 w1.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def junk_witness() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Junk)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def one_entry(tmp_path: Path) -> Iterator[Callable[[list[WitnessEndpoint]], Collector]]:
    """A log of one entry with its tree, and a way to ask witnesses to cosign it."""
    log = CoordinationLog(sqlite_env(tmp_path / "concord.db"))
    store = ProjectionStore(tmp_path / "concord.db")
    log.submit({"type": "DeclarationAdopted", "data": {"declaration": "D-1", "title": "D"}},
               recorded_by="test")
    catch_up(log, store, [Transparency()])
    signer = load_or_create_signer(tmp_path / "signing.key", "example.com/log")
    made: list[Collector] = []

    def collector(witnesses: list[WitnessEndpoint]) -> Collector:
        made.append(Collector(witnesses, Checkpoints(store, signer, "example.com/log",
                                                     witnessed=True), store, timeout=2))
        return made[-1]

    yield collector
    for each in made:
        each.stop()
    store.close()
    log.close()


def test_an_answer_without_a_valid_cosignature_is_a_failure_and_adds_nothing(
        junk_witness: str, one_entry: Callable[[list[WitnessEndpoint]], Collector]) -> None:
    collector = one_entry(parse_witnesses(f"{junk_witness} {W1}"))

    assert collector.round() == 1
    [status] = collector.checkpoints.witness_status()
    assert status.failing and status.failures == 1 and status.cosigned_size == 0
    assert "does not verify" in (status.last_error or "") or "no cosignature" in (
        status.last_error or "")
    size, note = collector.checkpoints.served("")
    assert size == 1 and note.count("\u2014 ") == 1  # the log's own signature alone


def test_a_witness_that_is_down_is_a_failure_and_the_round_still_ends(
        one_entry: Callable[[list[WitnessEndpoint]], Collector]) -> None:
    collector = one_entry(parse_witnesses(f"http://127.0.0.1:9 {W1}"))  # discard: refused

    assert collector.round() == 1
    [status] = collector.checkpoints.witness_status()
    assert status.failing and "127.0.0.1:9" in (status.last_error or "")
    assert collector.checkpoints.served("")[0] == 1  # published, with no cosignature
    assert collector.round() == 1  # and asked again at the next round
    assert collector.checkpoints.witness_status()[0].failures == 2


class _Silent(http.server.BaseHTTPRequestHandler):
    """A 'witness' that reads the request and then sends one byte every half second."""

    def do_POST(self) -> None:  # noqa: N802 -- the name http.server calls
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        for _ in range(40):
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.5)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A 'witness' that refuses every checkpoint with 422, counting the requests."""

    asked = 0

    def do_POST(self) -> None:  # noqa: N802 -- the name http.server calls
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).asked += 1
        self.send_response(422)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_witness_that_trickles_its_answer_does_not_hold_the_round_up(
        one_entry: Callable[[list[WitnessEndpoint]], Collector]) -> None:
    for url in serve(_Silent):
        collector = one_entry(parse_witnesses(f"{url} {W1}"))
        started = time.monotonic()
        assert collector.round() == 1
        assert time.monotonic() - started < 3.5  # the timeout is 2 s, whatever it sends
        [status] = collector.checkpoints.witness_status()
        assert status.failing and status.last_error == "no answer within 2 s"
        stopping = time.monotonic()
        collector.stop()
        assert time.monotonic() - stopping < 8


def test_a_refusal_is_not_asked_again_until_the_tree_grows(
        tmp_path: Path, one_entry: Callable[[list[WitnessEndpoint]], Collector]) -> None:
    for url in serve(_Refusing):
        collector = one_entry(parse_witnesses(f"{url} {W1}"))
        _Refusing.asked = 0
        assert collector.round() == 1
        assert collector.round() == 1
        assert _Refusing.asked == 1
        [status] = collector.checkpoints.witness_status()
        assert status.failures == 1 and (status.last_error or "").startswith("HTTP 422")
