"""Projections at scale: synthetic decades of decisions, rebuild speed, `members` latency.

Generates synthetic entries (networks whose members join and leave over the decades,
declarations and their signatures) into SQLite, then prints: rebuild events/s for all
projections together; `members` latency p50/p99 in-process at 10,000 entries and at the
full size, and over HTTP at the full size; and the server's memory (RSS) at the full size.
The last line is one JSON object with the figures.

Run: python bench/projections.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pycountry

from concord.api.runtime import tune_runtime
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.membership import members
from concord.projections.rebuild import rebuild_many
from concord.projections.registry import PROJECTIONS, live
from concord.projections.runner import catch_up
from concord.projections.store import ProjectionStore

NETWORKS = 20
STATES = sorted(c.alpha_3 for c in pycountry.countries)


def synthetic() -> Iterator[dict[str, Any]]:
    """Blocks of a year each: every state joins or leaves every network, four declarations
    are adopted and signed by every state, two conferences are held with 40 delegations and
    three sessions each."""
    for n in range(NETWORKS):
        yield {"type": "NetworkEstablished", "data": {"network": f"NET-{n}", "name": f"N {n}"},
               "effective_date": "1800-01-01"}
    block = 0
    while True:
        year = 1801 + block
        joining = block % 2 == 0
        for n in range(NETWORKS):
            for state in STATES:
                data: dict[str, Any] = {"network": f"NET-{n}", "state": state}
                if joining:
                    data["role"] = "member" if (block // 2) % 3 else "observer"
                yield {"type": "StateJoinedNetwork" if joining else "StateLeftNetwork",
                       "data": data, "effective_date": f"{year}-0{1 + n % 9}-01"}
        for d in range(4):
            code = f"DECL-{block}-{d}"
            yield {"type": "DeclarationAdopted", "data": {"declaration": code, "title": code},
                   "effective_date": f"{year}-06-01"}
            for state in STATES:
                yield {"type": "DeclarationSigned", "data": {"declaration": code,
                       "state": state}, "effective_date": f"{year}-07-01"}
        for c in range(2):
            code = f"CONF-{block}-{c}"
            yield {"type": "ConferenceScheduled", "data": {
                "conference": code, "title": code, "network": f"NET-{c}",
                "host_state": STATES[(block + c) % len(STATES)], "starts_on": f"{year}-09"},
                "effective_date": f"{year}-01-15"}
            yield {"type": "ConferenceHeld", "data": {"conference": code},
                   "effective_date": f"{year}-09-20"}
            for state in STATES[c * 40:(c + 1) * 40]:
                yield {"type": "DelegationAttended", "data": {
                    "conference": code, "state": state, "role": "participant",
                    "head": {"name": f"Head of {state}", "title": "Minister"}},
                    "effective_date": f"{year}-09-20"}
            for session in range(3):
                yield {"type": "SessionHeld", "data": {
                    "conference": code, "title": f"Session {session}",
                    "speakers": [{"name": "A. Speaker", "title": "Chair"}]},
                    "effective_date": f"{year}-09-20"}
        block += 1


def record(log: CoordinationLog, entries: Iterator[dict[str, Any]], count: int) -> None:
    batch: list[dict[str, Any]] = []
    for _ in range(count):
        batch.append(next(entries))
        if len(batch) == 5_000:
            log.submit_batch(batch, recorded_by="bench")
            batch = []
    if batch:
        log.submit_batch(batch, recorded_by="bench")


def query_latency(store: ProjectionStore, end: int, runs: int = 300) -> tuple[float, float]:
    reader, suffix, timings = store.reader(), store.suffix("membership"), []
    last_year = 1801 + end // 7_000
    for i in range(runs):
        day = f"{1801 + (i * 7) % max(1, last_year - 1801)}-05-01"
        started = time.perf_counter()
        members(reader, f"NET-{i % NETWORKS}", day, end - (i % 50), None, suffix)
        timings.append(time.perf_counter() - started)
    quantiles = statistics.quantiles(timings, n=100)
    return quantiles[49] * 1000, quantiles[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    tune_runtime()
    with tempfile.TemporaryDirectory(prefix="concord-projections-bench-") as directory:
        db = Path(directory) / "concord.db"
        entries = synthetic()
        log = CoordinationLog(sqlite_env(db))
        store = ProjectionStore(db)
        try:
            record(log, entries, 10_000)
            catch_up(log, store, [live(store, name) for name in PROJECTIONS])
            p50_10k, p99_10k = query_latency(store, log.last_position())
            print(f"members at 10,000 entries:   p50 {p50_10k:.3f} ms, p99 {p99_10k:.3f} ms")
            started = time.perf_counter()
            record(log, entries, args.events - 10_000)
            end = log.last_position()
            print(f"recorded {end:,} entries in {time.perf_counter() - started:.0f} s")
            started = time.perf_counter()
            rebuild_many(log, store, list(PROJECTIONS))
            took = time.perf_counter() - started
            rebuild_per_s = end / took
            print(f"rebuild of all {len(PROJECTIONS)} projections ({', '.join(PROJECTIONS)}) "
                  f"from {end:,} entries: {took:.1f} s, {rebuild_per_s:,.0f} entries/s "
                  f"({end * len(PROJECTIONS) / took:,.0f} entry-applications/s)")
            p50_full, p99_full = query_latency(store, end)
            print(f"members at {end:,} entries: p50 {p50_full:.3f} ms, p99 {p99_full:.3f} ms")
        finally:
            store.close()
            log.close()

        concord = Path(sys.executable).parent / "concord"
        server = subprocess.Popen(
            [str(concord), "serve", "--port", "18765", "--data-dir", directory],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "CONCORD_LOG_LEVEL": "WARNING"})
        try:
            base = "http://127.0.0.1:18765"
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
            timings = []
            for i in range(300):
                url = (f"{base}/v1/networks/NET-{i % NETWORKS}/members?on=1900-05-01"
                       f"&min_position={end}")
                started = time.perf_counter()
                with urllib.request.urlopen(url) as answer:
                    answer.read()
                timings.append(time.perf_counter() - started)
            http_p50 = statistics.quantiles(timings, n=100)[49] * 1000
            status = Path(f"/proc/{server.pid}/status").read_text()
            rss_mb = int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("VmRSS"))) / 1024
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"members over HTTP at {end:,} entries: p50 {http_p50:.2f} ms; "
              f"server RSS {rss_mb:.0f} MB")
    print(json.dumps({
        "rebuild_events_per_s": round(rebuild_per_s),
        "members_p50_ms_10k": round(p50_10k, 3),
        "members_p50_ms_1m": round(p50_full, 3),
        "members_http_p50_ms_1m": round(http_p50, 2),
        "rss_mb_1m": round(rss_mb),
    }))


if __name__ == "__main__":
    main()
