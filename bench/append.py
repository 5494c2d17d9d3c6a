"""Append throughput of the coordination log on SQLite, on this machine.

Prints events/s for (a) one submitter, one event at a time; (b) 32 concurrent submitters
through the group-committing writer; (c) batches of 1,000; and, in the same run, (d) plain
eventsourcing `Application.save` of one new aggregate per call, the baseline the writer is
measured against. The last line is one JSON object with the four figures.

Run: python bench/append.py [--single N] [--per-thread N] [--batches N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import threading
import time
from itertools import product
from pathlib import Path
from typing import Any

import pycountry
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from concord.api.runtime import tune_runtime
from concord.log.application import CoordinationLog, sqlite_env

RECORDER = "bench"
THREADS = 32


class Item(Aggregate):
    """The baseline's aggregate: one created event each."""

    def __init__(self, name: str) -> None:
        self.name = name


def signatures(declarations: int) -> list[dict[str, Any]]:
    """Distinct DeclarationSigned submissions: every state on every declaration."""
    states = sorted(c.alpha_3 for c in pycountry.countries)
    return [
        {"type": "DeclarationSigned", "data": {"declaration": f"DECL-{d}", "state": s},
         "effective_date": "2025-01-01", "source": "benchmark"}
        for d, s in product(range(declarations), states)
    ]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def bench_single(log: CoordinationLog, work: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for raw in work:
        log.submit(raw, recorded_by=RECORDER)
    return rate(len(work), time.perf_counter() - started)


def bench_concurrent(log: CoordinationLog, work: list[dict[str, Any]]) -> tuple[float, list[float]]:
    slices = [work[t::THREADS] for t in range(THREADS)]
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS + 1)

    def submitter(t: int) -> None:
        barrier.wait()
        for raw in slices[t]:
            started = time.perf_counter()
            log.submit(raw, recorded_by=RECORDER)
            latencies[t].append(time.perf_counter() - started)

    threads = [threading.Thread(target=submitter, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return rate(len(work), elapsed), [x for per in latencies for x in per]


def bench_batches(log: CoordinationLog, work: list[dict[str, Any]], size: int) -> float:
    batches = [work[i:i + size] for i in range(0, len(work), size)]
    started = time.perf_counter()
    for batch in batches:
        log.submit_batch(batch, recorded_by=RECORDER)
    return rate(len(work), time.perf_counter() - started)


def bench_baseline(path: Path, count: int) -> float:
    app: Application[Any] = Application(env={
        "PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})
    try:
        started = time.perf_counter()
        for i in range(count):
            app.save(Item(name=f"item-{i}"))
        return rate(count, time.perf_counter() - started)
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--per-thread", type=int, default=300)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement; the median is reported")
    args = parser.parse_args()
    tune_runtime()  # as `concord serve` does

    concurrent_count = THREADS * args.per_thread
    batch_count = args.batches * args.batch_size
    per_run = args.single + concurrent_count + batch_count
    declarations = per_run * args.repeat // 249 + 1
    work = iter(signatures(declarations))

    def take(count: int) -> list[dict[str, Any]]:
        return [next(work) for _ in range(count)]

    figures: dict[str, list[float]] = {"single": [], "concurrent": [], "batch": [],
                                       "baseline": []}
    p50s: list[float] = []
    p99s: list[float] = []
    per_commit: list[float] = []
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as directory:
        log = CoordinationLog(sqlite_env(Path(directory) / "concord.db"))
        try:
            log.submit_batch(
                [{"type": "DeclarationAdopted",
                  "data": {"declaration": f"DECL-{d}", "title": f"Declaration {d}"},
                  "effective_date": "2024-01-01"} for d in range(declarations)],
                recorded_by=RECORDER,
            )
            for run in range(1, args.repeat + 1):
                figures["single"].append(bench_single(log, take(args.single)))
                commits = log.writer.commits
                concurrent, latencies = bench_concurrent(log, take(concurrent_count))
                figures["concurrent"].append(concurrent)
                per_commit.append(concurrent_count / (log.writer.commits - commits))
                quantiles = statistics.quantiles(latencies, n=100)
                p50s.append(quantiles[49] * 1000)
                p99s.append(quantiles[98] * 1000)
                figures["batch"].append(bench_batches(log, take(batch_count), args.batch_size))
                figures["baseline"].append(
                    bench_baseline(Path(directory) / f"baseline-{run}.db", args.single))
                print(f"run {run}: single {figures['single'][-1]:,.0f}, concurrent "
                      f"{concurrent:,.0f}, batch {figures['batch'][-1]:,.0f}, baseline "
                      f"{figures['baseline'][-1]:,.0f} events/s")
            total = log.last_position()
        finally:
            log.close()

    median = {name: statistics.median(values) for name, values in figures.items()}
    print(f"(a) single submitter:  {median['single']:>9,.0f} events/s "
          f"({args.single:,} events a run, one commit each)")
    print(f"(b) {THREADS} concurrent:     {median['concurrent']:>9,.0f} events/s "
          f"({concurrent_count:,} events a run, {statistics.median(per_commit):.1f} per commit; "
          f"latency p50 {statistics.median(p50s):.2f} ms, p99 {statistics.median(p99s):.2f} ms)")
    print(f"(c) batches of {args.batch_size:,}:  {median['batch']:>9,.0f} events/s "
          f"({args.batches} batches a run)")
    print(f"(d) Application.save:  {median['baseline']:>9,.0f} events/s "
          f"({args.single:,} new aggregates a run, one save each)")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"medians of {args.repeat} runs; log size {total:,} events; peak RSS {rss_mb:.0f} MB; "
          f"{os.cpu_count()} cores; concurrent/baseline "
          f"{median['concurrent'] / median['baseline']:.1f}x")
    print(json.dumps({
        "single_per_s": round(median["single"]),
        "concurrent_per_s": round(median["concurrent"]),
        "batch_per_s": round(median["batch"]),
        "baseline_save_per_s": round(median["baseline"]),
    }))


if __name__ == "__main__":
    main()
