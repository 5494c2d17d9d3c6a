"""The witness round trip: from a new checkpoint to the same checkpoint cosigned by three
witnesses, each a real `concord witness serve` process on this machine.

Records entries into a SQLite log one batch at a time; after each, brings the Merkle tree
up to date and times one round of the log's cosigning (sign the checkpoint, send it with a
consistency proof to the witnesses in parallel, check and keep their cosignatures).
Prints p50 and p99 in ms; the last line is one JSON object.

Run: python bench/witness.py [--rounds 300] [--witnesses 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from concord.api.checkpoints import Checkpoints
from concord.api.collector import Collector, WitnessEndpoint
from concord.api.keyfile import load_or_create_signer
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.runner import catch_up
from concord.projections.store import ProjectionStore
from concord.projections.tree import Transparency
from concord.tlog.cosignature import CosignatureVerifier

ORIGIN = "bench.concord/log"
CONCORD = str(Path(sys.executable).parent / "concord")


@contextmanager
def witness_processes(directory: Path, log_key: str, count: int,
                      first_port: int = 18_500) -> Iterator[list[WitnessEndpoint]]:
    """`count` witnesses of the log whose verifier key is `log_key`, running until the end
    of the `with`."""
    with ExitStack() as stack:
        witnesses = []
        for number in range(count):
            name = f"witness{number + 1}.bench"
            key = directory / f"{name}.key"
            made = subprocess.run([CONCORD, "witness", "keygen", "--name", name, "--out",
                                   str(key)], capture_output=True, text=True, check=True)
            port = first_port + number
            process = subprocess.Popen(
                [CONCORD, "witness", "serve", "--key", str(key), "--log", log_key,
                 "--state", str(directory / f"{name}.db"), "--port", str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(process.wait, 15)
            stack.callback(process.terminate)
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            witnesses.append(WitnessEndpoint(url, CosignatureVerifier.parse(made.stdout.strip())))
        yield witnesses


def round_trips(rounds: int, count: int, batch: int = 10) -> dict[str, float]:
    """p50 and p99 (ms) of one round of cosigning by `count` witnesses, `rounds` times."""
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        signer = load_or_create_signer(directory / "signing.key", ORIGIN)
        log = CoordinationLog(sqlite_env(directory / "concord.db"))
        store = ProjectionStore(directory / "concord.db")
        tree = Transparency()
        checkpoints = Checkpoints(store, signer, ORIGIN, witnessed=True)
        timings = []
        try:
            with witness_processes(directory, signer.verifier_key_string(), count) as found:
                collector = Collector(found, checkpoints, store, interval=1.0)
                number = 0
                for _ in range(rounds + 5):  # the first five warm up
                    log.submit_batch([{"type": "DeclarationAdopted",
                                       "data": {"declaration": f"D-{number + i}",
                                                "title": f"Declaration {number + i}"}}
                                      for i in range(batch)], recorded_by="bench")
                    number += batch
                    catch_up(log, store, [tree])
                    started = time.perf_counter()
                    size = collector.round()
                    timings.append((time.perf_counter() - started) * 1000)
                    statuses = checkpoints.witness_status()
                    assert size is not None and all(
                        s.cosigned_size == size and not s.failing for s in statuses), statuses
                collector.stop()
        finally:
            store.close()
            log.close()
    measured = sorted(timings[5:])
    return {"witness_round_trip_p50_ms": statistics.median(measured),
            "witness_round_trip_p99_ms": measured[min(len(measured) - 1,
                                                      int(len(measured) * 0.99))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--witnesses", type=int, default=3)
    options = parser.parse_args()
    figures = round_trips(options.rounds, options.witnesses)
    print(f"witness round trip, {options.witnesses} witnesses: "
          f"p50 {figures['witness_round_trip_p50_ms']:.2f} ms, "
          f"p99 {figures['witness_round_trip_p99_ms']:.2f} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
