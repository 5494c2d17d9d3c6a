"""Instruments at scale: the read model folds an instrument's steps at query time, so its
answers cost grows with the steps on record. This measures it with every ISO state's
signature and ratification of each instrument (some of them denounced and acceded to
again), recorded through the log and read in-process on SQLite.

Prints the latency (p50, p99, ms) of one instrument's parties on a date as of the latest
position and as of a middle one, of the list of every instrument with its counts, and of a
state's dossier consents. The last line is one JSON object with the figures.

Run: python bench/instruments.py [--instruments 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pycountry

from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.instruments import (
    Instruments,
    consents_of,
    instrument,
    list_instruments,
)
from concord.projections.runner import catch_up
from concord.projections.store import ProjectionStore

STATES = sorted(c.alpha_3 for c in pycountry.countries)


def entries(count: int) -> Iterator[dict[str, Any]]:
    """Each instrument adopted, signed and ratified by every state, in force, and denounced
    by one state in ten, which then accedes again."""
    for i in range(count):
        code = f"PACT-{i}"
        yield {"type": "InstrumentAdopted", "effective_date": "1990-01-01",
               "data": {"instrument": code, "title": f"Pact {i}", "kind": "agreement",
                        "entry_into_force": {"consents_required": 40}}}
        for n, state in enumerate(STATES):
            yield {"type": "ConsentExpressed", "effective_date": f"1991-01-{1 + n % 28:02}",
                   "data": {"instrument": code, "state": state, "form": "signature"}}
            yield {"type": "ConsentExpressed", "effective_date": f"1992-01-{1 + n % 28:02}",
                   "data": {"instrument": code, "state": state, "form": "ratification"}}
        yield {"type": "InstrumentEnteredIntoForce", "effective_date": "1993-01-01",
               "data": {"instrument": code}}
        for state in STATES[::10]:
            yield {"type": "Denunciation", "effective_date": "2000-01-01",
                   "data": {"instrument": code, "state": state, "notified_on": "1999-01-01"}}
            yield {"type": "ConsentExpressed", "effective_date": "2005-01-01",
                   "data": {"instrument": code, "state": state, "form": "accession"}}


def timed(call: Callable[[], object], times: int) -> tuple[float, float]:
    """p50 and p99 of `call`, in ms."""
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        log = CoordinationLog(sqlite_env(Path(directory) / "log.db"))
        batch: list[dict[str, Any]] = []
        for entry in entries(args.instruments):
            batch.append(entry)
            if len(batch) == 1000:
                log.submit_batch(batch, recorded_by="bench")
                batch = []
        if batch:
            log.submit_batch(batch, recorded_by="bench")
        end = log.last_position()
        store = ProjectionStore(Path(directory) / "log.db")
        started = time.perf_counter()
        catch_up(log, store, [Instruments()])
        projected = end / (time.perf_counter() - started)
        reader = store.reader()
        figures: dict[str, Any] = {"entries": end, "instruments": args.instruments,
                                   "states": len(STATES), "projected_entries_per_s": projected}
        for name, call in {
            "instrument_latest": lambda: instrument(reader, "PACT-0", "2010-01-01", end),
            "instrument_as_of_middle": lambda: instrument(reader, "PACT-0", "2010-01-01",
                                                          end // 2),
            "list": lambda: list_instruments(reader, "2010-01-01", end),
            "dossier_consents": lambda: consents_of(reader, "ARG", "2010-01-01"),
        }.items():
            p50, p99 = timed(call, 200 if name != "list" else 20)
            figures[f"{name}_ms_p50"], figures[f"{name}_ms_p99"] = p50, p99
            print(f"{name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        parties = instrument(reader, "PACT-0", "2010-01-01", end)
        assert parties is not None and len(parties["parties"]) == len(STATES)
        print(f"{end:,} entries, projected at {projected:,.0f} entries/s")
        print(json.dumps(figures))
        store.close()
        log.close()


if __name__ == "__main__":
    main()
