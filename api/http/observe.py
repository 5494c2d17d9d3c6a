"""Request logs (one JSON line each), request ids, and Prometheus metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concord.api.checkpoints import WitnessStatus
from concord.api.http.auth import route_path
from concord.domain.envelope import Envelope

access_log = logging.getLogger("concord.access")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class Metrics:
    """The application's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "concord_http_requests", "HTTP requests answered, by route and status.",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "concord_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["method", "route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.appended = Counter(
            "concord_events_appended", "Events appended to the log.", registry=self.registry)
        self.commit_size = Histogram(
            "concord_writer_commit_events", "Events saved per writer transaction (group commit).",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10000))
        self.stream_clients = Gauge(
            "concord_stream_clients", "Clients of the live stream.", registry=self.registry)

    def watch_witnesses(self, status: Callable[[], Sequence[WitnessStatus]]) -> None:
        """Export how each witness fares, as `status()` reads it from the log's database
        at each scrape (the process that asks the witnesses may be another one)."""
        self.registry.register(_WitnessCollector(status))

    def on_commit(self, envelopes: list[Envelope]) -> None:
        """Writer listener: count each commit."""
        self.appended.inc(len(envelopes))
        self.commit_size.observe(len(envelopes))


class _WitnessCollector(Collector):
    """Each witness's cosignatures, failures, cosigned size and state, from the database."""

    def __init__(self, status: Callable[[], Sequence[WitnessStatus]]) -> None:
        self.status = status

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        try:
            rows = self.status()
        except Exception:
            logging.getLogger(__name__).exception("could not read the witnesses' state")
            rows = []
        families = self._families()
        cosigned, failures, size, up = families
        for row in rows:
            cosigned.add_metric([row.witness], row.successes)
            failures.add_metric([row.witness], row.failures)
            size.add_metric([row.witness], row.cosigned_size)
            up.add_metric([row.witness], 0 if row.failing else 1)
        return iter(families)

    @staticmethod
    def _families() -> list[CounterMetricFamily | GaugeMetricFamily]:
        return [
            CounterMetricFamily("concord_witness_cosignatures",
                                "Checkpoints each witness has cosigned.", labels=["witness"]),
            CounterMetricFamily("concord_witness_failures",
                                "Requests to each witness that got no cosignature (down, "
                                "refused or malformed).", labels=["witness"]),
            GaugeMetricFamily("concord_witness_cosigned_size",
                              "The largest tree size each witness has cosigned.",
                              labels=["witness"]),
            GaugeMetricFamily("concord_witness_up",
                              "1 if the witness's last answer was a cosignature, else 0.",
                              labels=["witness"]),
        ]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `fields` given."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send Concord's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


class AccessLog:
    """Request log lines, one JSON object each, written in batches off the request path.

    Going through `logging` for every request costs a record, a format and a write (a
    system call) on the event loop; here a request costs one orjson call, and a background
    task writes what accumulated every `interval` seconds, and at shutdown.
    """

    def __init__(self, stream: BinaryIO | None = None, interval: float = 0.2) -> None:
        self.stream = stream
        self.interval = interval
        self.lines: list[bytes] = []
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        """Whether request lines are wanted (the concord.access logger at INFO)."""
        return access_log.isEnabledFor(logging.INFO)

    MAX_LINES = 100_000

    def add(self, fields: dict[str, Any]) -> None:
        """Queue one request's line (dropped, and counted, if the buffer is full)."""
        if len(self.lines) >= self.MAX_LINES:
            self.dropped += 1
            return
        line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "level": "info", "logger": access_log.name,
                "message": f"{fields['method']} {fields['path']} {fields['status']}", **fields}
        self.lines.append(orjson.dumps(line) + b"\n")

    def flush(self) -> None:
        """Write what has accumulated; lines that cannot be written are dropped, counted."""
        if self.lines:
            lines, self.lines = self.lines, []
            stream = self.stream or sys.stderr.buffer
            try:
                stream.write(b"".join(lines))
                stream.flush()
            except (OSError, ValueError):
                self.dropped += len(lines)

    async def run(self) -> None:
        """Flush every `interval` seconds until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self.interval)
                self.flush()
        finally:
            self.flush()


class ObserveMiddleware:
    """Gives every request an id, logs it as one JSON line, and counts it.

    Written as plain ASGI rather than with BaseHTTPMiddleware, which would copy each
    response body through an extra task; this one only watches the messages go by.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, access: AccessLog,
                 templates: Callable[[], Iterable[str]] = tuple) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access
        self.templates = templates
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def template(self, scope: Scope) -> str:
        """The template of the route a request was routed to, or, for one refused before
        routing (by the auth middleware, or for its method), of the route its path matches;
        "unmatched" if there is none."""
        template = getattr(scope.get("route"), "path", None)
        if template:
            return str(template)
        if self._patterns is None:  # once, at the first request refused before routing
            self._patterns = [(compile_path(t)[0], t) for t in self.templates()]
        path = route_path(scope)
        return next((t for pattern, t in self._patterns if pattern.match(path)), "unmatched")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope["concord.request_id"] = request_id  # for the 500 handler, outside this one
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            template = self.template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(duration)
            if self.access.enabled:
                self.access.add({
                    "method": method, "path": scope["path"], "route": template,
                    "status": status, "duration_ms": round(duration * 1000, 3),
                    "request_id": request_id,
                })


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None
