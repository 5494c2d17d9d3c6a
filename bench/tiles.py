"""The log as C2SP tlog-tiles at 1,000,000 entries: tiles served over HTTP, and auditing
the whole log from its tiles against auditing it from an export.

Records synthetic entries into SQLite (the writer's batches) and brings every read model
up to date (the Merkle tree's too), signs a checkpoint, and writes an export. Then, with a
real `concord serve` over that data directory (nothing left for it to catch up, so nothing
runs beside the requests), prints: tiles/s served to several keep-alive connections asking
for a mix of full level-0 tiles and (gzip-compressed) entry bundles, with the latency of
each kind; and the wall time of `concord verify --tiles` against the server over the whole
log, next to that of `concord verify --export` of the same log, and their ratio. Last, the
time `concord export-tiles` takes to write the whole log as a static tile log, and
`concord verify --tiles` to check that directory; and the witness round trip, from a new
checkpoint to its cosignatures by three real witness processes (bench/witness.py, p50 and
p99). The last line is one JSON object.

Run: python bench/tiles.py [--events 1000000] [--connections 8] [--seconds 10]
     [--witness-rounds 300]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from concord.api.checkpoints import Checkpoints
from concord.api.runtime import tune_runtime
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.registry import PROJECTIONS, live
from concord.projections.runner import catch_up
from concord.projections.store import ProjectionStore
from concord.tlog.notes import Signer

ORIGIN = "bench.concord/log"
PORT = 18767
CONCORD = Path(sys.executable).parent / "concord"


@dataclass
class Log:
    """The benchmark's data directory: its size, checkpoint, verifier key and export."""

    directory: Path
    size: int
    checkpoint: Path
    key: Path
    export: Path


def synthetic(count: int) -> Iterator[dict[str, Any]]:
    """Declarations adopted, each citing its source: entries of a realistic size."""
    for number in range(count):
        yield {"type": "DeclarationAdopted",
               "data": {"declaration": f"D-{number}", "title": f"Declaration number {number}"},
               "effective_date": "2025-10-09",
               "source": f"Minutes of the plenary, item {number}"}


def build(directory: Path, events: int) -> Log:
    """Record `events` entries, build their tree, sign its checkpoint, export the log."""
    db = directory / "concord.db"
    log = CoordinationLog(sqlite_env(db))
    store = ProjectionStore(db)
    try:
        started = time.perf_counter()
        entries, batch = synthetic(events), 10_000
        for first in range(0, events, batch):
            log.submit_batch([next(entries) for _ in range(min(batch, events - first))],
                             recorded_by="bench")
        size = log.last_position()
        print(f"recorded {size:,} entries in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        catch_up(log, store, [live(store, name) for name in PROJECTIONS], page=10_000)
        print(f"brought the read models and the Merkle tree up to date in "
              f"{time.perf_counter() - started:.0f} s")
        signer = Signer.generate(ORIGIN)
        (directory / "signing.key").write_text(signer.private_key_string() + "\n")
        (directory / "signing.key").chmod(0o600)
        _, note = Checkpoints(store, signer, ORIGIN).latest("")
        checkpoint, key = directory / "checkpoint.txt", directory / "log.vkey"
        checkpoint.write_text(note)
        key.write_text(signer.verifier_key_string() + "\n")
        export = directory / "export.jsonl"
        with export.open("wb") as sink:
            position = 0
            while envelopes := log.read(after=position, limit=10_000):
                sink.write(b"".join(orjson.dumps(e) + b"\n" for e in envelopes))
                position = envelopes[-1]["position"]
    finally:
        store.close()
        log.close()
    return Log(directory, size, checkpoint, key, export)


@contextmanager
def served(log: Log) -> Iterator[str]:
    """A `concord serve` over the log's data directory; its base URL."""
    output = log.directory / "server.log"
    with output.open("wb") as sink:
        server = subprocess.Popen(
            [str(CONCORD), "serve", "--port", str(PORT), "--data-dir", str(log.directory)],
            stdout=sink, stderr=subprocess.STDOUT,
            env={**os.environ, "CONCORD_LOG_LEVEL": "WARNING", "CONCORD_LOG_ORIGIN": ORIGIN})
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(2_400):
            if server.poll() is not None:
                raise SystemExit(f"the server exited with status {server.returncode}: "
                                 f"{output.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/readyz") as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("the server did not become ready in 120 s")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def tiles_served(size: int, connections: int, seconds: float) -> dict[str, float]:
    """Tiles/s over `connections` keep-alive connections for `seconds`, half full level-0
    tiles and half entry bundles (gzip accepted), at random among the full ones."""
    full = size // 256
    timings: dict[str, list[float]] = {"tile": [], "bundle": []}
    served_bytes = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    failures: list[str] = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine: dict[str, list[float]] = {"tile": [], "bundle": []}
        received = 0
        while time.perf_counter() < deadline:
            kind = "bundle" if rng.random() < 0.5 else "tile"
            index = rng.randrange(full)
            path = f"/v1/log/tile/{'entries' if kind == 'bundle' else '0'}/{_index(index)}"
            started = time.perf_counter()
            connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
            answer = connection.getresponse()
            body = answer.read()
            mine[kind].append(time.perf_counter() - started)
            received += len(body)
            if answer.status != 200:
                failures.append(f"{path}: {answer.status}")
                break
        connection.close()
        with lock:
            for name, values in mine.items():
                timings[name] += values
            served_bytes[0] += received

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"tile requests failed: {failures[:3]}")
    total = len(timings["tile"]) + len(timings["bundle"])
    rate = total / elapsed
    tile_p50 = statistics.median(timings["tile"]) * 1000
    bundle_p50 = statistics.median(timings["bundle"]) * 1000
    print(f"tiles served over HTTP ({connections} connections, {elapsed:.0f} s, half full "
          f"level-0 tiles, half gzip entry bundles): {rate:,.0f} tiles/s "
          f"({served_bytes[0] / elapsed / 1e6:.1f} MB/s); p50 latency: tile {tile_p50:.1f} "
          f"ms, bundle {bundle_p50:.1f} ms")
    return {"tiles_per_s": round(rate), "tile_p50_ms": round(tile_p50, 2),
            "bundle_p50_ms": round(bundle_p50, 2)}


def _index(index: int) -> str:
    groups = [f"{index % 1000:03d}"]
    while index >= 1000:
        index //= 1000
        groups.insert(0, f"x{index % 1000:03d}")
    return "/".join(groups)


def verify_times(log: Log, base: str) -> dict[str, float]:
    """Wall time of `concord verify --tiles` against the server, and of `concord verify
    --export` of the same log, each run as the command an auditor runs."""

    def run(*args: str) -> float:
        started = time.perf_counter()
        done = subprocess.run([str(CONCORD), "verify", *args, "--key", str(log.key)],
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0 or f"OK: {log.size} " not in done.stdout:
            raise SystemExit(f"verify {args[0]} failed: {done.stdout}{done.stderr}")
        return elapsed

    tiles_s = run("--tiles", f"{base}/v1/log")
    export_s = run("--export", str(log.export), "--checkpoint", str(log.checkpoint))
    print(f"verify --tiles over HTTP of {log.size:,} entries: {tiles_s:.1f} s "
          f"({log.size / tiles_s:,.0f} entries/s); verify --export of the same log "
          f"({log.export.stat().st_size / 1e6:.0f} MB): {export_s:.1f} s; ratio "
          f"{tiles_s / export_s:.2f}")
    return {"verify_tiles_s": round(tiles_s, 1), "verify_export_s": round(export_s, 1),
            "verify_tiles_to_export": round(tiles_s / export_s, 2)}


def static_copy(log: Log) -> dict[str, float]:
    """Wall time of `concord export-tiles` of the whole log into a directory, and of
    `concord verify --tiles` of that directory: the auditor's own cost, with no server."""
    out = log.directory / "static"
    started = time.perf_counter()
    done = subprocess.run([str(CONCORD), "export-tiles", "--out", str(out), "--data-dir",
                           str(log.directory)], capture_output=True, text=True,
                          env={**os.environ, "CONCORD_LOG_ORIGIN": ORIGIN})
    export_s = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"export-tiles failed: {done.stdout}{done.stderr}")
    started = time.perf_counter()
    done = subprocess.run([str(CONCORD), "verify", "--tiles", str(out), "--key",
                           str(log.key)], capture_output=True, text=True)
    verify_s = time.perf_counter() - started
    if done.returncode != 0 or f"OK: {log.size} " not in done.stdout:
        raise SystemExit(f"verify --tiles of the copy failed: {done.stdout}{done.stderr}")
    print(f"export-tiles of {log.size:,} entries: {export_s:.1f} s; verify --tiles of that "
          f"directory: {verify_s:.1f} s ({log.size / verify_s:,.0f} entries/s)")
    return {"export_tiles_s": round(export_s, 1), "verify_tiles_dir_s": round(verify_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--witness-rounds", type=int, default=300)
    args = parser.parse_args()
    tune_runtime()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="concord-tiles-bench-") as directory:
        log = build(Path(directory), args.events)
        with served(log) as base:
            figures.update(tiles_served(log.size, args.connections, args.seconds))
            figures.update(verify_times(log, base))
            # More sections over the same served log go here: each a function that prints
            # its figures and returns them for the JSON line.
        figures.update(static_copy(log))
    figures.update(witness_round_trip(args.witness_rounds))
    print(json.dumps(figures))


def witness_round_trip(rounds: int) -> dict[str, float]:
    """bench/witness.py's figures, run in a process of its own, printed as it prints them."""
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("witness.py")),
                           "--rounds", str(rounds)], capture_output=True, text=True, check=True)
    *lines, last = done.stdout.strip().splitlines()
    for line in lines:
        print(line)
    figures: dict[str, float] = json.loads(last)
    return figures


if __name__ == "__main__":
    main()
