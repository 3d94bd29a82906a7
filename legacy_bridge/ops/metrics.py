"""Prometheus metrics (prometheus-client) and the ``/metrics`` endpoint.

Under gunicorn each worker is a process: with ``PROMETHEUS_MULTIPROC_DIR`` set before
this module is imported (``gunicorn.conf.py`` does it), every worker writes its samples
there and ``/metrics`` adds up all workers, whichever one answers the scrape.

What is measured: requests by route, method and status with their latency; per
source, call latency and errors by operation, retries, calls refused by an open
breaker, the breaker's state and the connection pool's usage.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from legacy_bridge.errors import SourceError

__all__ = [
    "init_app",
    "SourceCalls",
    "breaker_state",
    "pool_usage",
    "calls_in_flight",
    "report_pools",
    "registry",
    "multiprocess_mode",
    "export_ended",
    "COLLECTORS",
    "version_called",
]

_PREFIX = "legacy_bridge_"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BREAKER_VALUES = {"closed": 0, "half-open": 1, "open": 2}

REQUESTS = Counter(_PREFIX + "http_requests", "HTTP requests answered", ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    _PREFIX + "http_request_duration_seconds",
    "Time to answer a request (to the first byte of a stream)",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
SOURCE_SECONDS = Histogram(
    _PREFIX + "source_call_duration_seconds",
    "Time of a call to a legacy source (a read: until its first row)",
    ["source", "operation"],
    buckets=_LATENCY_BUCKETS,
)
SOURCE_ERRORS = Counter(
    _PREFIX + "source_errors", "Calls to a legacy source that failed, by problem type", ["source", "operation", "error"]
)
SOURCE_RETRIES = Counter(_PREFIX + "source_retries", "Reads tried again after the source was unreachable", ["source"])
SOURCE_REJECTED = Counter(_PREFIX + "source_rejected", "Calls refused at once by an open circuit breaker", ["source"])
SOURCE_BUSY = Counter(
    _PREFIX + "source_busy", "Calls refused at once: the source's bulkhead was full (max_calls)", ["source"]
)
SOURCE_DISCARDED = Counter(
    _PREFIX + "source_connections_discarded",
    "Connections never pooled again because a call on them passed its deadline "
    "(closed: cut by the watchdog; abandoned: left to a helper thread, closed when it ends)",
    ["source", "reason"],
)
VERSION_REQUESTS = Counter(
    _PREFIX + "api_version_requests",
    "Requests to each API version, by caller (the key id; anonymous without one)",
    ["version", "key_id"],
)
EXPORTS = Counter(
    _PREFIX + "exports",
    "Streamed exports by how they ended (complete, broken, aborted)",
    ["resource", "format", "outcome"],
)
EXPORT_ROWS = Counter(
    _PREFIX + "export_rows", "Records sent by streamed exports, by how the export ended", ["resource", "outcome"]
)
# gauges: the worst worker's breaker; connections and calls summed over live workers
BREAKER_STATE = Gauge(
    _PREFIX + "breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open", ["source"], multiprocess_mode="livemax"
)
POOL_IN_USE = Gauge(
    _PREFIX + "pool_connections_in_use", "Pooled connections checked out", ["source"], multiprocess_mode="livesum"
)
POOL_SIZE = Gauge(
    _PREFIX + "pool_size", "Connections a pool keeps open (without overflow)", ["source"], multiprocess_mode="livesum"
)
CALLS_IN_FLIGHT = Gauge(
    _PREFIX + "source_calls_in_flight",
    "Calls to a source running now (streams and abandoned calls included)",
    ["source"],
    multiprocess_mode="livesum",
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def registry() -> CollectorRegistry:
    """What a scrape reads: every worker's samples in multiprocess mode, else this process's."""
    if not multiprocess_mode():
        return REGISTRY
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)
    return merged


def breaker_state(source: str, state: str) -> None:
    BREAKER_STATE.labels(source).set(BREAKER_VALUES[state])


def pool_usage(source: str, in_use: int, size: int) -> None:
    POOL_IN_USE.labels(source).set(in_use)
    POOL_SIZE.labels(source).set(size)


def calls_in_flight(source: str, count: int) -> None:
    CALLS_IN_FLIGHT.labels(source).set(count)


def export_ended(resource: str, fmt: str, outcome: str, rows: int) -> None:
    EXPORTS.labels(resource, fmt, outcome).inc()
    EXPORT_ROWS.labels(resource, outcome).inc(rows)


class SourceCalls:
    """The metrics of one source's calls, children resolved once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._seconds: dict[str, Histogram] = {}
        self._retries = SOURCE_RETRIES.labels(source)
        self._rejected = SOURCE_REJECTED.labels(source)
        self._busy = SOURCE_BUSY.labels(source)

    @contextmanager
    def timed(self, operation: str) -> Iterator[None]:
        seconds = self._seconds.get(operation)
        if seconds is None:
            seconds = self._seconds[operation] = SOURCE_SECONDS.labels(self.source, operation)
        started = time.perf_counter()
        try:
            yield
        except SourceError as error:
            SOURCE_ERRORS.labels(self.source, operation, error.slug).inc()
            self.discarded(getattr(error, "discarded", None))
            raise
        finally:
            seconds.observe(time.perf_counter() - started)

    def retried(self) -> None:
        self._retries.inc()

    def rejected(self) -> None:
        self._rejected.inc()

    def busy(self) -> None:
        self._busy.inc()

    def discarded(self, reason: str | None) -> None:
        """A connection given up at a call's deadline (``reason``: closed, abandoned)."""
        if reason is not None:
            SOURCE_DISCARDED.labels(self.source, reason).inc()


class _Unmeasured(SourceCalls):
    """What a source's calls record when metrics are off: nothing."""

    def __init__(self) -> None:
        pass

    @contextmanager
    def timed(self, operation: str) -> Iterator[None]:
        yield

    def retried(self) -> None:
        pass

    def rejected(self) -> None:
        pass

    def busy(self) -> None:
        pass

    def discarded(self, reason: str | None) -> None:
        pass


UNMEASURED = _Unmeasured()
bp = Blueprint("metrics", __name__)


def report_pools(bridge) -> None:
    """Publish this process's connection pool usage (a worker at start, and at every scrape)."""
    for driver in bridge.drivers.values():
        driver.report_usage()


#: app.extensions key: more registries a scrape reads (e.g. the event sinks', kept in the state store)
COLLECTORS = "legacy_bridge.collectors"


@bp.get("/metrics")
def scrape() -> Response:
    report_pools(current_app.extensions["legacy_bridge"])  # this worker's pools, read now
    body = generate_latest(registry())
    for extra in current_app.extensions.get(COLLECTORS, []):
        body += generate_latest(extra)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def version_called(version: str, key_id: str | None) -> None:
    VERSION_REQUESTS.labels(version, key_id or "anonymous").inc()


def init_app(app: Flask, enabled: bool = True) -> None:
    """Count and time every request and serve ``/metrics``; nothing at all unless ``enabled``."""
    if not enabled:
        return

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            REQUEST_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(bp)
