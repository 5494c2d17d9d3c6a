"""Appends over HTTP: a real `concord serve` on SQLite, driven by 32 concurrent clients.

Prints single-event appends/s with p50 and p99 latency, batch events/s (1,000 per request)
and, against the same server in the same run, GET /healthz requests/s: the HTTP ceiling of
this machine. The last line is one JSON object with the figures.

The clients are a small asyncio HTTP/1.1 keep-alive loop, so that the load generator,
which shares the machine's cores with the server, costs as little as possible.

Run: python bench/http_append.py [--seconds N] [--clients N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from itertools import count
from pathlib import Path

import pycountry

from concord.api.keys import KeyStore, Role


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.body = b""

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        self.body = await self.reader.readexactly(length)
        return status


def wait_ready(port: int, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Wait until the server on `port` answers /readyz; exit if it stops or takes longer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the server did not become ready in {seconds:.0f} s")


def post(path: str, body: bytes, auth: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: {len(body)}\r\n\r\n").encode() + body


async def drive(port: int, clients: int, seconds: float | None, total: int | None,
                make: Callable[[], bytes], expect: int) -> tuple[int, float, list[float]]:
    """Send requests from `clients` connections until `seconds` pass or `total` are sent."""
    deadline = time.perf_counter() + seconds if seconds else None
    sent = count()
    latencies: list[float] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        connection = Connection(reader, writer)
        try:
            while True:
                if deadline is not None and time.perf_counter() > deadline:
                    return
                if total is not None and next(sent) >= total:
                    return
                raw = make()
                started = time.perf_counter()
                status = await connection.request(raw)
                latencies.append(time.perf_counter() - started)
                if status != expect:
                    raise RuntimeError(f"answered {status}, expected {expect}: "
                                       f"{connection.body[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(latencies), time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--batches", type=int, default=64)
    args = parser.parse_args()

    states = sorted(c.alpha_3 for c in pycountry.countries)
    signatures = (
        json.dumps({"type": "DeclarationSigned", "data": {"declaration": f"DECL-{d}",
                    "state": s}, "effective_date": "2025-01-01",
                    "source": "benchmark"}).encode()
        for d in count() for s in states
    )
    concord = Path(sys.executable).parent / "concord"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="concord-http-bench-") as directory:
        store = KeyStore(Path(directory) / "concord.db")
        token = store.create("bench", Role.recorder)[1]
        store.close()
        auth = f"Authorization: Bearer {token}\r\n"
        env = dict(os.environ)
        server = subprocess.Popen(
            [str(concord), "serve", "--port", str(port), "--data-dir", directory],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(port, server)
            # Enough declarations for every signature the run can make.
            adoptions = [{"type": "DeclarationAdopted", "data": {
                "declaration": f"DECL-{d}", "title": f"Declaration {d}"},
                "effective_date": "2024-01-01"} for d in range(2_000)]
            for i in range(0, len(adoptions), 1_000):
                request = urllib.request.Request(
                    f"{base}/v1/events/batch", method="POST",
                    data=json.dumps({"events": adoptions[i:i + 1_000]}).encode(),
                    headers={"Content-Type": "application/json",
                             "Authorization": f"Bearer {token}"})
                urllib.request.urlopen(request).close()

            healthz = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
            done, elapsed, _ = asyncio.run(drive(
                port, args.clients, args.seconds, None, lambda: healthz, 200))
            healthz_per_s = done / elapsed
            print(f"GET /healthz:        {healthz_per_s:>9,.0f} requests/s "
                  f"({args.clients} clients, {elapsed:.1f} s)")

            done, elapsed, latencies = asyncio.run(drive(
                port, args.clients, args.seconds, None,
                lambda: post("/v1/events", next(signatures), auth), 201))
            append_per_s = done / elapsed
            quantiles = statistics.quantiles(latencies, n=100)
            p50, p99 = quantiles[49] * 1000, quantiles[98] * 1000
            print(f"POST /v1/events:     {append_per_s:>9,.0f} appends/s "
                  f"({done:,} in {elapsed:.1f} s; p50 {p50:.2f} ms, p99 {p99:.2f} ms)")

            def batch() -> bytes:
                events = ",".join(next(signatures).decode() for _ in range(1_000))
                return post("/v1/events/batch", f'{{"events":[{events}]}}'.encode(), auth)

            done, elapsed, _ = asyncio.run(drive(
                port, args.clients, None, args.batches, batch, 201))
            batch_events_per_s = done * 1_000 / elapsed
            print(f"POST /v1/events/batch: {batch_events_per_s:>7,.0f} events/s "
                  f"({done} batches of 1,000 in {elapsed:.1f} s)")
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"appends / healthz: {append_per_s / healthz_per_s:.2f} (target 0.6); "
          f"{os.cpu_count()} cores, client and server on the same machine")
    print(json.dumps({
        "append_per_s": round(append_per_s),
        "batch_events_per_s": round(batch_events_per_s),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "healthz_per_s": round(healthz_per_s),
    }))


if __name__ == "__main__":
    main()
