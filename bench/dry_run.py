"""Dry runs against recording: what checking a submission without writing it costs.

On a SQLite log holding a network of every ISO state, one submitter in turn: dry runs of a
join, then the same joins recorded, one at a time; then batches of 100 joins, dry-run and
recorded; then a dry run of a batch of 100 in which every tenth submission is refused by the
rules (each found by checking the batch again without it, as the desk lists them). Prints
submissions/s for each, and a JSON line with the figures.

Run: python bench/dry_run.py [--count 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pycountry

from concord.domain.catalogue import parse_submission
from concord.domain.errors import BatchRefused
from concord.log.application import CoordinationLog, sqlite_env

STATES = sorted(c.alpha_3 for c in pycountry.countries)


def join(network: str, state: str) -> dict[str, Any]:
    return {"type": "StateJoinedNetwork", "effective_date": "2020-01-01",
            "data": {"network": network, "state": state, "role": "member"}}


async def measure(log: CoordinationLog, count: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    networks = [f"N{i}" for i in range(count // len(STATES) + 1)]
    log.submit_batch([{"type": "NetworkEstablished", "effective_date": "2000-01-01",
                       "data": {"network": n, "name": n}} for n in networks],
                     recorded_by="bench")
    pairs = [(n, s) for n in networks for s in STATES][:count]

    started = time.perf_counter()
    for network, state in pairs:
        await log.dry_run_async([join(network, state)], batch=False, recorded_by="bench")
    figures["dry_runs_per_s"] = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for network, state in pairs:
        await log.submit_replayed_async([join(network, state)], batch=False,
                                        recorded_by="bench")
    figures["appends_per_s"] = count / (time.perf_counter() - started)

    fresh = [f"B{i}" for i in range(count // len(STATES) + 1)]
    log.submit_batch([{"type": "NetworkEstablished", "effective_date": "2000-01-01",
                       "data": {"network": n, "name": n}} for n in fresh],
                     recorded_by="bench")
    batches = [[join(n, s) for n, s in chunk] for chunk in (
        [(n, s) for n in fresh for s in STATES][i:i + 100] for i in range(0, count, 100))]
    started = time.perf_counter()
    for batch in batches:
        await log.dry_run_async(batch, batch=True, recorded_by="bench")
    figures["batch_dry_run_submissions_per_s"] = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for batch in batches:
        await log.submit_replayed_async(batch, batch=True, recorded_by="bench")
    figures["batch_append_submissions_per_s"] = count / (time.perf_counter() - started)

    # Every tenth submission already recorded: found one by one, as the desk lists them.
    log.submit_batch([{"type": "NetworkEstablished", "effective_date": "2000-01-01",
                       "data": {"network": "F", "name": "F"}},
                      *(join("F", state) for state in STATES[:100:10])], recorded_by="bench")
    faulty = [join("F", state) for state in STATES[:100]]
    started = time.perf_counter()
    remaining = [parse_submission(raw) for raw in faulty]
    found = 0
    while remaining:
        try:
            await log.writer.dry_run_async(remaining, "bench", None, batch=True)
            break
        except BatchRefused as e:
            found += 1
            del remaining[e.index]
    figures["batch_of_100_with_10_faults_ms"] = (time.perf_counter() - started) * 1000
    figures["faults_found"] = found
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        log = CoordinationLog(sqlite_env(Path(directory) / "log.db"))
        try:
            figures = asyncio.run(measure(log, args.count))
        finally:
            log.close()
    for name, value in figures.items():
        print(f"{name}: {value:,.1f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
