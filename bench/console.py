"""The console's pages at scale: server-side render time of `/networks/{code}` and
`/history` against the JSON endpoints they draw on, measured in the same run.

Records the synthetic log of bench/projections.py (networks whose 249 states join and leave
every year for decades, declarations, conferences) into SQLite and brings every read model
up to date; then, with a real `concord serve` over that data directory, asks in turn for
each page and for each JSON endpoint it draws on, and reads how long the server took for
each from its access log (the time from the request's arrival to the answer's last byte).
Prints p50 and p99 of each, and each page's p50 over its endpoints' (the target: at most
2). The last line is one JSON object.

Run: python bench/console.py [--events 1000000] [--runs 60]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from concord.api.runtime import tune_runtime
from concord.log.application import CoordinationLog, sqlite_env
from concord.projections.registry import PROJECTIONS, live
from concord.projections.runner import catch_up
from concord.projections.store import ProjectionStore

PORT = 18769
CONCORD = Path(sys.executable).parent / "concord"
NETWORK = "NET-0"


def _synthetic_log() -> Any:
    """bench/projections.py, whose generator and recorder this benchmark shares."""
    spec = importlib.util.spec_from_file_location(
        "bench_projections", Path(__file__).with_name("projections.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(directory: Path, events: int) -> int:
    """Record `events` synthetic entries and bring every read model up to date."""
    shared = _synthetic_log()
    db = directory / "concord.db"
    log = CoordinationLog(sqlite_env(db))
    store = ProjectionStore(db)
    try:
        started = time.perf_counter()
        shared.record(log, shared.synthetic(), events)
        end: int = log.last_position()
        print(f"recorded {end:,} entries in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        catch_up(log, store, [live(store, name) for name in PROJECTIONS])
        print(f"read models caught up in {time.perf_counter() - started:.0f} s")
        return end
    finally:
        store.close()
        log.close()


def get(path: str) -> int:
    """Ask the server for `path`; the bytes of the answer."""
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}") as answer:
        assert answer.status == 200, path
        return len(answer.read())


def server_times(log_path: Path, since: int) -> dict[str, list[float]]:
    """Each path's server-side durations (ms) in the access log from byte `since` on."""
    found: dict[str, list[float]] = {}
    with log_path.open() as lines:
        lines.seek(since)
        for line in lines:
            if '"concord.access"' not in line:
                continue
            entry = json.loads(line)
            query = entry.get("path", "")
            found.setdefault(query, []).append(float(entry["duration_ms"]))
    return found


def quantiles(values: list[float]) -> tuple[float, float]:
    cut = statistics.quantiles(values, n=100, method="inclusive")
    return cut[49], cut[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    tune_runtime()
    with tempfile.TemporaryDirectory(prefix="concord-console-bench-") as name:
        directory = Path(name)
        end = build(directory, args.events)
        log_path = directory / "server.log"
        with log_path.open("w") as out:
            server = subprocess.Popen(
                [str(CONCORD), "serve", "--port", str(PORT), "--data-dir", name],
                stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "CONCORD_LOG_LEVEL": "INFO"})
        try:
            for _ in range(2_400):
                if server.poll() is not None:
                    raise SystemExit(f"the server exited: {log_path.read_text()[-2000:]}")
                try:
                    get("/readyz")
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise SystemExit("the server did not become ready in 120 s")
            # The pages and what each draws on, asked for in turn so that any drift of the
            # machine falls on all of them alike.
            pages = {
                f"/networks/{NETWORK}": [f"/v1/networks/{NETWORK}",
                                         f"/v1/networks/{NETWORK}/members",
                                         f"/v1/networks/{NETWORK}/intervals"],
                "/history": ["/v1/history"],
            }
            sizes = {}
            for page, endpoints in pages.items():  # once each, to warm caches
                for path in (page, *endpoints):
                    sizes[path] = get(path)
            since = log_path.stat().st_size
            for _ in range(args.runs):
                for page, endpoints in pages.items():
                    for path in (page, *endpoints):
                        get(path)
            time.sleep(0.5)  # the access log is written every 0.2 s
            times = server_times(log_path, since)
            status = Path(f"/proc/{server.pid}/status").read_text()
            rss_mb = int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("VmRSS"))) / 1024
        finally:
            server.terminate()
            server.wait(timeout=30)
    figures: dict[str, Any] = {"entries": end, "server_rss_mb": round(rss_mb)}
    print(f"at {end:,} entries, {args.runs} runs each, server-side time (p50 / p99):")
    for page, endpoints in pages.items():
        page_p50, page_p99 = quantiles(times[page])
        drawn_on = 0.0
        largest = 0.0
        print(f"  {page:28} {page_p50:8.1f} ms {page_p99:8.1f} ms  ({sizes[page]:,} bytes)")
        for path in endpoints:
            p50, p99 = quantiles(times[path])
            drawn_on += p50
            largest = max(largest, p50)
            print(f"    {path:26} {p50:8.1f} ms {p99:8.1f} ms  ({sizes[path]:,} bytes)")
        ratio = page_p50 / drawn_on
        key = page.strip("/").split("/")[0]
        print(f"  {page} p50 / its endpoints' p50 together: {ratio:.2f} (target: at most 2); "
              f"over the largest alone: {page_p50 / largest:.2f}")
        figures.update({f"{key}_page_p50_ms": round(page_p50, 1),
                        f"{key}_page_p99_ms": round(page_p99, 1),
                        f"{key}_endpoints_p50_ms": round(drawn_on, 1),
                        f"{key}_ratio": round(ratio, 2)})
    print(f"server RSS {rss_mb:.0f} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
