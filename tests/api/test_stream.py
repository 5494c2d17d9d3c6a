"""The live stream against a real server: replay, live entries, resume, slow clients."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest

from tests.api.conftest import Server


def adoption(code: str) -> dict[str, Any]:
    return {"type": "DeclarationAdopted", "data": {"declaration": code, "title": code}}


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Parse Server-Sent Events (skipping heartbeats) from a stream of lines."""
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            event[name] = event.get(name, "") + value.removeprefix(" ")


def read_until(events: Iterator[dict[str, str]], position: int) -> list[dict[str, str]]:
    seen = []
    for event in events:
        seen.append(event)
        if int(event["id"]) >= position:
            return seen
    raise AssertionError("the stream ended early")


def test_the_stream_replays_then_follows_the_log(server: Server) -> None:
    for i in range(3):
        server.http.post("/v1/events", json=adoption(f"D{i}"))
    with httpx.Client(base_url=server.url, timeout=30) as reader, reader.stream(
            "GET", "/v1/events/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.iter_lines())
        replayed = read_until(events, 3)
        assert [e["id"] for e in replayed] == ["1", "2", "3"]
        assert json.loads(replayed[0]["data"])["data"]["declaration"] == "D0"
        # Check entries committed while the client listens arrive live, in order.
        server.http.post("/v1/events/batch", json={"events": [adoption("D3"), adoption("D4")]})
        server.http.post("/v1/events", json=adoption("D5"))
        live = read_until(events, 6)
        assert [e["id"] for e in live] == ["4", "5", "6"]
        assert json.loads(live[-1]["data"]) == server.http.get("/v1/events/6").json()


def test_the_stream_resumes_after_the_last_event_id(server: Server) -> None:
    for i in range(5):
        server.http.post("/v1/events", json=adoption(f"D{i}"))
    with httpx.Client(base_url=server.url, timeout=30) as reader:
        with reader.stream("GET", "/v1/events/stream",
                           headers={"Last-Event-ID": "3"}) as response:
            assert [e["id"] for e in read_until(sse_events(response.iter_lines()), 5)] == [
                "4", "5"]
        with reader.stream("GET", "/v1/events/stream", params={"after": 4}) as response:
            assert [e["id"] for e in read_until(sse_events(response.iter_lines()), 5)] == ["5"]
        bad = reader.get("/v1/events/stream", headers={"Last-Event-ID": "four"})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"


def test_many_clients_see_the_same_entries(server: Server) -> None:
    results: dict[int, list[str]] = {}

    def listen(n: int, ready: threading.Event) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as reader, reader.stream(
                "GET", "/v1/events/stream") as response:
            ready.set()
            results[n] = [e["id"] for e in read_until(sse_events(response.iter_lines()), 20)]

    readies = [threading.Event() for _ in range(5)]
    threads = [threading.Thread(target=listen, args=(n, r)) for n, r in enumerate(readies)]
    for t in threads:
        t.start()
    for r in readies:
        assert r.wait(30)
    for i in range(20):
        server.http.post("/v1/events", json=adoption(f"D{i}"))
    for t in threads:
        t.join(30)
    assert results == {n: [str(p) for p in range(1, 21)] for n in range(5)}


def test_a_client_that_falls_behind_is_told_to_resume_and_the_writer_goes_on(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(env={"CONCORD_STREAM_BUFFER": "100"})
    host, port = server.url.removeprefix("http://").split(":")
    # A client that asks for the stream and then does not read: small buffers on its side.
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect((host, int(port)))
    slow.sendall(f"GET /v1/events/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    try:
        # Check the writer is not held back by the stuck client.
        for batch in range(8):
            answer = server.http.post("/v1/events/batch", json={"events": [
                adoption(f"B{batch}-{i}") for i in range(2_000)]})
            assert answer.status_code == 201
        assert server.http.get("/readyz").json()["position"] == 16_000
        # Check the stuck client, once it reads, is told where to resume.
        slow.settimeout(30)
        received = b""
        while b"event: resume" not in received:
            chunk = slow.recv(65536)
            if not chunk:
                break
            received += chunk
        assert b"event: resume" in received
        tail = received[received.index(b"event: resume"):].decode()
        assert "Last-Event-ID" in tail
    finally:
        slow.close()


def test_an_idle_stream_sends_heartbeats(start_server: Callable[..., Server]) -> None:
    server = start_server(env={"CONCORD_STREAM_HEARTBEAT_SECONDS": "0.2"})
    with httpx.Client(base_url=server.url, timeout=30) as reader, reader.stream(
            "GET", "/v1/events/stream") as response:
        lines = response.iter_lines()
        heartbeats = 0
        for line in lines:
            if line.startswith(":"):
                heartbeats += 1
                if heartbeats == 2:
                    break
        assert heartbeats == 2


def test_the_stream_carries_entries_another_process_records(
    start_server: Callable[..., Server], tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import subprocess

    from tests.api.conftest import concord_command

    data = tmp_path_factory.mktemp("shared")
    server = start_server(data_dir=data)
    server.http.post("/v1/events", json=adoption("HTTP-A"))
    entries = tmp_path_factory.mktemp("cli") / "entries.jsonl"
    entries.write_text("\n".join(json.dumps(adoption(c)) for c in ("CLI-A", "CLI-B")) + "\n")
    with httpx.Client(base_url=server.url, timeout=30) as reader, reader.stream(
            "GET", "/v1/events/stream") as response:
        events = sse_events(response.iter_lines())
        assert [e["id"] for e in read_until(events, 1)] == ["1"]
        recorded = subprocess.run(
            [concord_command(), "record", str(entries), "--recorded-by", "clerk",
             "--data-dir", str(data)], capture_output=True, text=True, timeout=60,
            env=server.cli_env())
        assert recorded.returncode == 0, recorded.stderr
        # Check entries written elsewhere reach an idle stream...
        assert [e["id"] for e in read_until(events, 3)] == ["2", "3"]
        # ...and are not skipped when this server's next commit arrives.
        server.http.post("/v1/events", json=adoption("HTTP-B"))
        last = read_until(events, 4)
        assert [e["id"] for e in last] == ["4"]
        assert json.loads(last[0]["data"])["data"]["declaration"] == "HTTP-B"


def test_a_last_event_id_that_is_not_ascii_digits_is_refused(server: Server) -> None:
    answer = server.http.get("/v1/events/stream", headers={b"Last-Event-ID": b"\xb2"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
