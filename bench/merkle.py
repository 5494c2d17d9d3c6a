"""The verifiable log at scale: the cost of keeping the Merkle tree, proofs at 1,000,000
leaves, and offline verification of an export.

Records synthetic entries into SQLite, then prints: the tree's cost per appended entry
(canonical leaf, hashes and stored subtrees, measured as the transparency projection's
time per entry while it catches up); root and inclusion/consistency proof latency at the
full size, in-process and over HTTP; and the rate at which `concord verify --export` checks
an export of the whole log against a signed checkpoint. The last line is one JSON object.

Run: python bench/merkle.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from concord.api.audit.verify import verify_export
from concord.api.checkpoints import Checkpoints
from concord.api.runtime import tune_runtime
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.runner import catch_up
from concord.projections.store import ProjectionStore
from concord.projections.tree import StoredTree, Transparency
from concord.tlog.leaves import entry_hash
from concord.tlog.notes import Signer

ORIGIN = "bench.concord/log"


def synthetic() -> Iterator[dict[str, Any]]:
    """Declarations adopted, with a citation each: entries of a realistic size."""
    number = 0
    while True:
        yield {"type": "DeclarationAdopted",
               "data": {"declaration": f"D-{number}", "title": f"Declaration number {number}"},
               "effective_date": "2025-10-09",
               "source": f"Minutes of the plenary, item {number}"}
        number += 1


def milliseconds(run: Callable[[], object], times: int) -> tuple[float, float]:
    """p50 and p99 of `run`, in ms."""
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    quantiles = statistics.quantiles(timings, n=100)
    return quantiles[49] * 1000, quantiles[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    tune_runtime()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="concord-merkle-bench-") as directory:
        data = Path(directory)
        db = data / "concord.db"
        log = CoordinationLog(sqlite_env(db))
        store = ProjectionStore(db)
        try:
            entries, batch = synthetic(), 10_000
            started = time.perf_counter()
            for _ in range(args.events // batch):
                log.submit_batch([next(entries) for _ in range(batch)], recorded_by="bench")
            size = log.last_position()
            print(f"recorded {size:,} entries in {time.perf_counter() - started:.0f} s")

            started = time.perf_counter()
            catch_up(log, store, [Transparency()], page=5_000)
            tree_s = time.perf_counter() - started
            sample = log.read(after=0, limit=10_000)
            started = time.perf_counter()
            for envelope in sample:
                entry_hash(envelope)
            leaf_us = (time.perf_counter() - started) / len(sample) * 1e6
            hash_overhead_us = tree_s / size * 1e6
            print(f"tree of {size:,} leaves built in {tree_s:.1f} s: {hash_overhead_us:.1f} µs "
                  f"per entry (reading it from the log included); canonical leaf and its "
                  f"hash alone: {leaf_us:.2f} µs")

            tree = StoredTree(store.reader())
            root_p50, _ = milliseconds(lambda: tree.root(size), 300)
            proof_p50, proof_p99 = milliseconds(
                lambda: tree.inclusion(rng.randrange(size), size), 1_000)
            consistency_p50, _ = milliseconds(
                lambda: tree.consistency(rng.randrange(1, size), size), 300)
            print(f"at {size:,} leaves, in-process: root p50 {root_p50:.3f} ms; inclusion "
                  f"proof p50 {proof_p50:.3f} ms, p99 {proof_p99:.3f} ms; consistency proof "
                  f"p50 {consistency_p50:.3f} ms")

            signer = Signer.generate(ORIGIN)
            (data / "signing.key").write_text(signer.private_key_string() + "\n")
            (data / "signing.key").chmod(0o600)
            _, note = Checkpoints(store, signer, ORIGIN).latest("")
            export = data / "export.jsonl"
            with export.open("wb") as sink:
                position = 0
                while envelopes := log.read(after=position, limit=10_000):
                    sink.write(b"".join(orjson.dumps(e) + b"\n" for e in envelopes))
                    position = envelopes[-1]["position"]
        finally:
            store.close()
            log.close()

        started = time.perf_counter()
        with export.open("rb") as lines:
            report = verify_export(lines, note, signer.verifier())
        verify_s = time.perf_counter() - started
        assert report.ok, report.problems
        verify_per_s = report.checked / verify_s
        print(f"offline verification of the export ({export.stat().st_size / 1e6:.0f} MB): "
              f"{verify_s:.1f} s, {verify_per_s:,.0f} entries/s")

        concord = Path(sys.executable).parent / "concord"
        server = subprocess.Popen(
            [str(concord), "serve", "--port", "18766", "--data-dir", directory],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "CONCORD_LOG_LEVEL": "WARNING", "CONCORD_LOG_ORIGIN": ORIGIN})
        base = "http://127.0.0.1:18766"
        try:
            for _ in range(2_400):
                if server.poll() is not None:
                    raise SystemExit(f"the server exited with status {server.returncode}")
                try:
                    with urllib.request.urlopen(f"{base}/readyz") as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    time.sleep(0.05)
            else:
                raise SystemExit("the server did not become ready in 120 s")

            def fetch() -> None:
                url = (f"{base}/v1/log/proofs/inclusion?leaf_index={rng.randrange(size)}"
                       f"&tree_size={size}")
                with urllib.request.urlopen(url) as answer:
                    answer.read()

            fetch()
            http_p50, http_p99 = milliseconds(fetch, 500)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"inclusion proof over HTTP at {size:,} leaves: p50 {http_p50:.2f} ms, "
              f"p99 {http_p99:.2f} ms")
    print(json.dumps({
        "proof_ms_1m": round(proof_p50, 3),
        "proof_http_ms_1m": round(http_p50, 2),
        "verify_events_per_s": round(verify_per_s),
        "hash_overhead_us": round(hash_overhead_us, 1),
    }))


if __name__ == "__main__":
    main()
