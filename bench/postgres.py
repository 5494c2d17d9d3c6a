"""Concord on PostgreSQL: appends over HTTP with one and with two API processes, batches,
and how far the projection process lags behind under that load.

Creates a database of its own on the server (default postgresql://postgres@127.0.0.1:5432,
dropped at the end). For each run it starts `concord project` and `concord serve
--no-projections` (with `--workers 2` for the second run) on a fresh schema, and drives it
with 32 keep-alive clients (bench/http_append.py's). Meanwhile it samples, every 10 ms, the
log's end and the projections' positions: the lag of an entry is the time from when it was
first seen committed until every projection had it. The last line is one JSON object.

Run: python bench/postgres.py [--server postgresql://user@host:port] [--seconds N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

import psycopg
import pycountry

from concord.projections.registry import PROJECTIONS

_spec = importlib.util.spec_from_file_location(
    "http_append", Path(__file__).with_name("http_append.py"))
assert _spec is not None and _spec.loader is not None
http_append = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(http_append)

CONCORD = str(Path(sys.executable).parent / "concord")


@contextmanager
def database(server: str) -> Iterator[str]:
    """A new database on `server`, dropped afterwards: its URL."""
    name = f"concord_bench_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def deployment(url: str, schema: str, workers: int, directory: Path
               ) -> Iterator[tuple[int, str]]:
    """`concord project` and `concord serve --no-projections --workers N` on `schema`: the
    port, and a recorder's token."""
    from concord.api.keys import KeyStore, Role
    from concord.projections.db import PostgresDatabase

    keys = KeyStore(PostgresDatabase(url, schema))
    token = keys.create("bench", Role.recorder)[1]
    keys.create("admin", Role.admin)
    keys.close()
    env = {**os.environ, "CONCORD_DATABASE_URL": url, "CONCORD_DATABASE_SCHEMA": schema,
           "CONCORD_DATA_DIR": str(directory), "CONCORD_LOG_LEVEL": "WARNING"}
    port = http_append.free_port()
    processes = [subprocess.Popen([CONCORD, "project"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
    processes.append(subprocess.Popen(
        [CONCORD, "serve", "--no-projections", "--workers", str(workers), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for _ in range(1_200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("the server did not become ready in 60 s")
        yield port, token
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


class LagSampler:
    """Samples the log's end and the slowest projection's position every 10 ms."""

    def __init__(self, url: str, schema: str) -> None:
        self.url, self.schema = url, schema
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{self.schema}"')
            while not self._stop.is_set():
                end = conn.execute("SELECT COALESCE(MAX(notification_id), 0) "
                                   "FROM coordinationlog_events").fetchone()
                suffixes: dict[str, str] = dict(conn.execute(
                    "SELECT name, suffix FROM concord_projection_tables").fetchall())
                live = [name + suffixes.get(name, "") for name in PROJECTIONS]
                positions: dict[str, int] = dict(conn.execute(
                    "SELECT name, position FROM concord_projection_positions").fetchall())
                assert end is not None
                reached = min(int(positions.get(name, 0)) for name in live)
                self.samples.append((time.perf_counter(), int(end[0]), reached))
                self._stop.wait(0.01)

    def lags_ms(self) -> list[float]:
        """For each log end sampled, how long until every projection had reached it."""
        lags: list[float] = []
        first_seen: dict[int, float] = {}
        for moment, end, _ in self.samples:
            first_seen.setdefault(end, moment)
        caught = [(moment, reached) for moment, _, reached in self.samples]
        index = 0
        for end, seen in sorted(first_seen.items()):
            while index < len(caught) and (caught[index][1] < end or caught[index][0] < seen):
                index += 1
            if index == len(caught):
                break
            lags.append((caught[index][0] - seen) * 1000)
        return lags


def prepare(port: int, token: str, declarations: int) -> None:
    adoptions = [{"type": "DeclarationAdopted", "data": {
        "declaration": f"DECL-{d}", "title": f"Declaration {d}"}} for d in range(declarations)]
    for i in range(0, len(adoptions), 1_000):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/events/batch", method="POST",
            data=json.dumps({"events": adoptions[i:i + 1_000]}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        urllib.request.urlopen(request).close()


def signatures() -> Iterator[bytes]:
    states = sorted(c.alpha_3 for c in pycountry.countries)
    for d in count():
        for state in states:
            yield json.dumps({"type": "DeclarationSigned", "data": {
                "declaration": f"DECL-{d}", "state": state}}).encode()


def appends(url: str, schema: str, workers: int, seconds: float, clients: int,
            directory: Path) -> tuple[float, float, list[float], float | None]:
    """Appends/s, p99 ms and projection lags (ms) of one deployment; batch events/s too
    with one process."""
    with deployment(url, schema, workers, directory) as (port, token):
        prepare(port, token, 1_000)
        auth = f"Authorization: Bearer {token}\r\n"
        made = signatures()
        with LagSampler(url, schema) as sampler:
            done, elapsed, latencies = asyncio.run(http_append.drive(
                port, clients, seconds, None,
                lambda: http_append.post("/v1/events", next(made), auth), 201))
            time.sleep(1.0)  # let the projections finish
        batch_per_s = None
        if workers == 1:
            def batch() -> bytes:
                events = ",".join(next(made).decode() for _ in range(1_000))
                request: bytes = http_append.post("/v1/events/batch",
                                                  f'{{"events":[{events}]}}'.encode(), auth)
                return request

            batches, batch_elapsed, _ = asyncio.run(http_append.drive(
                port, 8, None, 48, batch, 201))
            batch_per_s = batches * 1_000 / batch_elapsed
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return done / elapsed, p99, sampler.lags_ms(), batch_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    import tempfile

    with database(args.server) as url, tempfile.TemporaryDirectory() as directory:
        one, one_p99, one_lags, batch = appends(url, "bench_one", 1, args.seconds,
                                                args.clients, Path(directory))
        two, two_p99, two_lags, _ = appends(url, "bench_two", 2, args.seconds, args.clients,
                                            Path(directory))
    lags = one_lags + two_lags
    lag_p99 = statistics.quantiles(lags, n=100)[98] if len(lags) > 1 else float("nan")
    print(f"1 API process:  {one:,.0f} appends/s (p99 {one_p99:.1f} ms)")
    print(f"2 API processes: {two:,.0f} appends/s (p99 {two_p99:.1f} ms)")
    print(f"batches of 1,000: {batch or 0:,.0f} events/s")
    print(f"projection lag under that load: p50 {statistics.median(lags):.0f} ms, "
          f"p99 {lag_p99:.0f} ms ({len(lags)} samples); {os.cpu_count()} cores, "
          "PostgreSQL, clients and servers on the same machine")
    print(json.dumps({"append_per_s_1": round(one), "append_per_s_2": round(two),
                      "batch_events_per_s": round(batch or 0), "lag_p99_ms": round(lag_p99)}))


if __name__ == "__main__":
    main()
