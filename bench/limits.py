"""How close Concord runs to the engine under it: every measure as a ratio to what the
database, or the HTTP server, does alone, taken in one run (absolute figures on a shared
machine vary twice over from run to run; ratios within a run hold).

Rows, each printed with its raw figures, its ratio and its target:

- read: `log.read` envelopes/s / a raw `SELECT` + `orjson.loads` of the same rows/s;
- rebuild: a rebuild of every projection, entries/s / that raw read, rows/s; beside it
  the engine's write floor: entries/s at which SQLite alone writes the rows it made;
- batch: `submit_batch` of 1,000 events/s / a raw sqlite3 `executemany` of rows of the
  same size, 1,000 a transaction, as durable as the log (WAL, synchronous FULL);
- concurrent: 32 submitting threads, events/s / eventsourcing's `Application.save` of one
  event a call;
- http: single appends/s / `GET /healthz`/s of the same `concord serve` (SQLite, projections
  in the process, a recorder key on every append, 32 keep-alive connections);
- postgres: appends/s on PostgreSQL / on SQLite, each one `concord serve --no-projections`
  plus `concord project`;
- rss: the server's resident memory with a log of 1,000,000 entries, MB.

The last line is one JSON object keyed by those names, each with its figures and ratio.

Run: python bench/limits.py [--entries 200000] [--rss-entries 1000000] [--seconds 6]
     [--server postgresql://postgres@127.0.0.1:5432] [--only read,rebuild,...]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count, islice
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pycountry

from concord.api.keys import KeyStore, Role
from concord.api.runtime import tune_runtime
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.rebuild import rebuild_many
from concord.projections.registry import PROJECTIONS
from concord.projections.store import TABLES_TABLE, ProjectionStore


def _sibling(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered under its name: eventsourcing finds a class's module by its topic.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


http_append = _sibling("http_append")
append_bench = _sibling("append")
projections_bench = _sibling("projections")

CONCORD = str(Path(sys.executable).parent / "concord")
EVENTS_TABLE = "stored_events"
PAGE = 10_000
THREADS = 32
TARGETS = {"read": (">=", 0.35), "rebuild": (">=", 0.15), "batch": (">=", 0.20),
           "concurrent": (">=", 6.0), "http": (">=", 0.6), "postgres": (">=", 1.0),
           "rss": ("<=", 150.0)}
STATES = sorted(c.alpha_3 for c in pycountry.countries)


def signatures(start: int = 0) -> Iterator[dict[str, Any]]:
    """Distinct DeclarationSigned submissions: every state on declarations from `start` on."""
    for d in count(start):
        for state in STATES:
            yield {"type": "DeclarationSigned", "data": {"declaration": f"DECL-{d}",
                   "state": state}, "effective_date": "2025-01-01", "source": "benchmark"}


def adoptions(declarations: int) -> list[dict[str, Any]]:
    return [{"type": "DeclarationAdopted", "data": {"declaration": f"DECL-{d}",
             "title": f"Declaration {d}"}, "effective_date": "2024-01-01"}
            for d in range(declarations)]


def record(log: CoordinationLog, entries: Iterator[dict[str, Any]], total: int) -> None:
    """Record `total` submissions from `entries`, in batches of 5,000."""
    while total > 0:
        batch = list(islice(entries, min(total, 5_000)))
        log.submit_batch(batch, recorded_by="bench")
        total -= len(batch)


def raw_read(db: Path) -> float:
    """Rows/s of the stored rows read back in pages and their state decoded, no more."""
    connection = sqlite3.connect(db)
    try:
        done, after = 0, 0
        started = time.perf_counter()
        while True:
            rows = connection.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {EVENTS_TABLE} WHERE rowid > ? ORDER BY rowid "
                "LIMIT ?", (after, PAGE)).fetchall()
            if not rows:
                break
            for row in rows:
                orjson.loads(row[4])
            done += len(rows)
            after = rows[-1][0]
        return done / (time.perf_counter() - started)
    finally:
        connection.close()


def log_read(log: CoordinationLog) -> float:
    done, after = 0, 0
    started = time.perf_counter()
    while True:
        envelopes = log.read(after=after, limit=PAGE)
        if not envelopes:
            break
        done += len(envelopes)
        after = envelopes[-1]["position"]
    return done / (time.perf_counter() - started)


def best(runs: int, measure: Callable[[], float]) -> float:
    """The best of `runs` measurements: the one least disturbed by the rest of the machine."""
    return max(measure() for _ in range(runs))


def raw_executemany(directory: Path, rows: list[tuple[str, int, str, bytes]]) -> float:
    """Rows/s of plain inserts of `rows`, 1,000 a transaction, as durable as the log."""
    connection = sqlite3.connect(directory / "raw.db", isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS raw (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))")
        connection.execute("DELETE FROM raw")
        started = time.perf_counter()
        for i in range(0, len(rows), 1_000):
            connection.execute("BEGIN")
            connection.executemany("INSERT INTO raw VALUES (?, ?, ?, ?)", rows[i:i + 1_000])
            connection.execute("COMMIT")
        return len(rows) / (time.perf_counter() - started)
    finally:
        connection.close()


def write_floor(db: Path, entries: int) -> tuple[float, int]:
    """Entries/s at which SQLite alone writes the rows a rebuild made, and how many rows:
    every table of the live copies copied into fresh tables of the same definition by plain
    `executemany`, 10,000 rows a transaction, their indexes built after, as a rebuild does.
    No code of Concord's runs: this is the engine's cost of the rows the read models hold."""
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=NORMAL")  # as the projections' connection
        connection.execute("PRAGMA cache_size=-65536")
        suffixes = [s for (s,) in connection.execute(
            f"SELECT suffix FROM {TABLES_TABLE}")]
        schema = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        copies = [(name, sql) for type_, name, sql in schema if type_ == "table"
                  and any(name.endswith(suffix) for suffix in suffixes)]
        indexes = [sql for type_, name, sql in schema if type_ == "index"
                   and any(name.endswith(suffix) for suffix in suffixes)]
        contents = {name: connection.execute(f"SELECT * FROM {name}").fetchall()
                    for name, _ in copies}
        connection.execute("BEGIN")
        for name, sql in copies:
            connection.execute(sql.replace(name, f"{name}_floor", 1))
        connection.execute("COMMIT")
        started = time.perf_counter()
        for name, rows in contents.items():
            marks = ", ".join("?" * len(rows[0])) if rows else ""
            for i in range(0, len(rows), 10_000):
                connection.execute("BEGIN")
                connection.executemany(f"INSERT INTO {name}_floor VALUES ({marks})",
                                       rows[i:i + 10_000])
                connection.execute("COMMIT")
        connection.execute("BEGIN")
        for sql in indexes:
            for name, _ in copies:
                sql = sql.replace(f" {name} ", f" {name}_floor ").replace(
                    f" {name}(", f" {name}_floor(")
            connection.execute(sql.replace("INDEX IF NOT EXISTS ", "INDEX ").replace(
                "INDEX ", "INDEX floor_", 1))
        connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        return entries / elapsed, sum(len(rows) for rows in contents.values())
    finally:
        connection.close()


def in_process(args: argparse.Namespace, wanted: set[str], results: dict[str, Any],
               directory: Path) -> None:
    """The rows measured in this process: read, rebuild, batch, concurrent."""
    if wanted & {"read", "rebuild"}:
        db = directory / "reads.db"
        log = CoordinationLog(sqlite_env(db))
        try:
            record(log, projections_bench.synthetic(), args.entries)
            entries = log.last_position()
            raw = best(3, lambda: raw_read(db))
            if "read" in wanted:
                read = best(3, lambda: log_read(log))
                report(results, "read", read / raw, envelopes_per_s=read, raw_rows_per_s=raw)
            if "rebuild" in wanted:
                store = ProjectionStore(db)
                try:
                    started = time.perf_counter()
                    rebuild_many(log, store, list(PROJECTIONS))
                    rebuilt = entries / (time.perf_counter() - started)
                finally:
                    store.close()
                raw = max(raw, raw_read(db))
                floor, rows = write_floor(db, entries)
                report(results, "rebuild", rebuilt / raw, entries=entries,
                       entries_per_s=rebuilt, raw_rows_per_s=raw, rows_written=rows,
                       write_floor_entries_per_s=floor, write_floor_ratio=floor / raw)
        finally:
            log.close()
    if "batch" in wanted:
        log = CoordinationLog(sqlite_env(directory / "batch.db"))
        try:
            log.submit_batch(adoptions(args.batch_events // 249 + 2), recorded_by="bench")
            work = list(islice(signatures(), args.batch_events))
            append_bench.bench_batches(log, work[:2_000], 1_000)  # warm: the aggregates are cached
            batch = append_bench.bench_batches(log, work[2_000:], 1_000)
            stored = [(str(s), int(v), str(t), bytes(b)) for s, v, t, b in sqlite3.connect(
                directory / "batch.db").execute(
                f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE}"
                " WHERE topic LIKE '%Signed%' ORDER BY rowid")]
        finally:
            log.close()
        raw = best(2, lambda: raw_executemany(directory, stored))
        report(results, "batch", batch / raw, events_per_s=batch, raw_rows_per_s=raw)
    if "concurrent" in wanted:
        log = CoordinationLog(sqlite_env(directory / "concurrent.db"))
        events = THREADS * args.per_thread
        try:
            log.submit_batch(adoptions(3 * events // 249 + 2), recorded_by="bench")
            made = signatures()
            append_bench.bench_concurrent(log, list(islice(made, THREADS * 20)))  # warm
            concurrent = best(2, lambda: append_bench.bench_concurrent(
                log, list(islice(made, events)))[0])
        finally:
            log.close()
        saved = best(2, lambda: append_bench.bench_baseline(
            directory / f"save-{time.time()}.db", args.save_events))
        report(results, "concurrent", concurrent / saved, events_per_s=concurrent,
               application_save_per_s=saved)


@contextmanager
def server(env: dict[str, str], *args: str, project: bool = False
           ) -> Iterator[tuple[int, int]]:
    """`concord serve` (and `concord project`) with `env`: its port and pid, once ready."""
    port = http_append.free_port()
    environment = {**os.environ, "CONCORD_LOG_LEVEL": "WARNING", **env}
    processes = []
    if project:
        processes.append(subprocess.Popen([CONCORD, "project"], env=environment,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
    processes.append(subprocess.Popen([CONCORD, "serve", "--port", str(port), *args],
                                      env=environment, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
    try:
        http_append.wait_ready(port, processes[-1])
        yield port, processes[-1].pid
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def post_json(port: int, path: str, body: Any, token: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method="POST", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    urllib.request.urlopen(request).close()


def appends_per_s(port: int, token: str, seconds: float, start: int) -> float:
    """Single appends/s from 32 keep-alive clients, signatures from declaration `start`."""
    for i in range(0, 1_000, 500):
        post_json(port, "/v1/events/batch",
                  {"events": adoptions(start + 1_000)[start + i:start + i + 500]}, token)
    made = (orjson.dumps(s) for s in signatures(start))
    auth = f"Authorization: Bearer {token}\r\n"
    done, elapsed, _ = asyncio.run(http_append.drive(
        port, THREADS, seconds, None, lambda: http_append.post("/v1/events", next(made), auth),
        201))
    return float(done / elapsed)


def healthz_per_s(port: int, seconds: float) -> float:
    healthz = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
    done, elapsed, _ = asyncio.run(http_append.drive(port, THREADS, seconds, None,
                                                     lambda: healthz, 200))
    return float(done / elapsed)


def recorder_token(store: KeyStore) -> str:
    try:
        return store.create("bench", Role.recorder)[1]
    finally:
        store.close()


def over_http(args: argparse.Namespace, wanted: set[str], results: dict[str, Any],
              directory: Path) -> None:
    """The rows measured against real servers: http, postgres."""
    if "http" in wanted:
        data = directory / "http"
        data.mkdir()
        token = recorder_token(KeyStore(data / "concord.db"))
        with server({}, "--data-dir", str(data)) as (port, _):
            appends = appends_per_s(port, token, args.seconds, 0)
            healthz = healthz_per_s(port, args.seconds)
        report(results, "http", appends / healthz, appends_per_s=appends,
               healthz_per_s=healthz)
    if "postgres" in wanted:
        from concord.projections.db import PostgresDatabase

        data = directory / "split"
        data.mkdir()
        token = recorder_token(KeyStore(data / "concord.db"))
        with server({"CONCORD_DATA_DIR": str(data)}, "--no-projections", project=True) as (port, _):
            on_sqlite = appends_per_s(port, token, args.seconds, 0)
        name = f"concord_limits_{os.getpid()}"
        import psycopg

        with psycopg.connect(f"{args.server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        try:
            url = f"{args.server}/{name}"
            token = recorder_token(KeyStore(PostgresDatabase(url, "concord")))
            with server({"CONCORD_DATA_DIR": str(data), "CONCORD_DATABASE_URL": url},
                        "--no-projections", project=True) as (port, _):
                on_postgres = appends_per_s(port, token, args.seconds, 0)
        finally:
            with psycopg.connect(f"{args.server}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        report(results, "postgres", on_postgres / on_sqlite,
               postgres_appends_per_s=on_postgres, sqlite_appends_per_s=on_sqlite)


def rss(args: argparse.Namespace, results: dict[str, Any], directory: Path) -> None:
    """The memory of a server whose log holds `--rss-entries` entries, after reads."""
    data = directory / "rss"
    data.mkdir()
    db = data / "concord.db"
    log = CoordinationLog(sqlite_env(db))
    try:
        record(log, projections_bench.synthetic(), args.rss_entries)
        end = log.last_position()
        store = ProjectionStore(db)
        try:
            rebuild_many(log, store, list(PROJECTIONS))
        finally:
            store.close()
    finally:
        log.close()
    with server({}, "--data-dir", str(data)) as (port, pid):
        base = f"http://127.0.0.1:{port}"
        for i in range(200):
            for path in (f"/v1/networks/NET-{i % 20}/members?on=1900-05-01",
                         f"/v1/history?limit=100&after={i * 1_000}", "/v1/log/checkpoint",
                         f"/v1/log/proofs/inclusion?leaf_index={i * 997 % end}&tree_size={end}"):
                with urllib.request.urlopen(base + path) as answer:
                    answer.read()
        status = Path(f"/proc/{pid}/status").read_text()
    resident = int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("VmRSS"))) / 1024
    report(results, "rss", resident, entries=end, rss_mb=resident)


def report(results: dict[str, Any], name: str, ratio: float, **figures: float) -> None:
    sense, target = TARGETS[name]
    met = ratio >= target if sense == ">=" else ratio <= target
    results[name] = {**{k: round(v, 1 if v >= 10 else 3) for k, v in figures.items()},
                     "ratio": round(ratio, 3),
                     "target": f"{sense} {target}", "met": met}
    shown = ", ".join(f"{k} {v:,.0f}" if v >= 10 else f"{k} {v:.3f}"
                      for k, v in figures.items())
    print(f"{name:<11} {ratio:>8.3f}  (target {sense} {target}: "
          f"{'met' if met else 'NOT MET'})  {shown}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000,
                        help="entries of the log read and rebuilt")
    parser.add_argument("--batch-events", type=int, default=40_000)
    parser.add_argument("--per-thread", type=int, default=250)
    parser.add_argument("--save-events", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=6.0, help="of each HTTP load")
    parser.add_argument("--rss-entries", type=int, default=1_000_000)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--only", default=",".join(TARGETS),
                        help="the rows to measure, separated by commas")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    unknown = wanted - set(TARGETS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    tune_runtime()  # as `concord serve` does
    results: dict[str, Any] = {}
    print(f"{os.cpu_count()} cores; ratios within this run", flush=True)
    with tempfile.TemporaryDirectory(prefix="concord-limits-") as name:
        directory = Path(name)
        in_process(args, wanted, results, directory)
        over_http(args, wanted, results, directory)
        if "rss" in wanted:
            rss(args, results, directory)
    met = all(row["met"] for row in results.values())
    print(f"every target met: {'yes' if met else 'no'}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
