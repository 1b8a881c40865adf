"""Prometheus metrics for HTTP traffic, and the ``/metrics`` endpoint.

With several worker processes each keeps its own samples in files under
the ``metrics_dir`` setting (``gramstack serve`` installs
gramstack.runtime.process_metrics before anything builds a metric); the
endpoint merges them, so any worker can answer for all.

A request's count and latency are first added up per worker in plain
Python (``RouteSamples.record``) and handed to prometheus_client in bulk
by ``flush``: the request front's deadline sweep calls it at most a quarter
of a second apart while requests run (and once after the last), and
``/metrics`` before it answers. Recording a request this way costs a
quarter of a Counter increment plus a Histogram observation (three stores
to the shared files, each through a Python wrapper or two); a scrape may
miss at most one sweep interval of another worker's requests.
"""

from __future__ import annotations

from bisect import bisect_left

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("gramstack_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "gramstack_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 12, 30),
)
IN_FLIGHT = Gauge(
    "gramstack_http_requests_in_flight", "Requests being served", multiprocess_mode="livesum"
)


# The histogram's upper bounds, +Inf last, as prometheus_client keeps them.
_BOUNDS: tuple[float, ...] = tuple(LATENCY._upper_bounds)


class _Pending:
    """One label set's requests since the last flush, and the labelled
    children they are flushed to (made at the first flush, once:
    ``labels()`` checks and joins label values under a lock)."""

    __slots__ = ("buckets", "children", "count", "seconds")

    def __init__(self) -> None:
        self.children: tuple[Counter, Histogram] | None = None
        self.clear()

    def clear(self) -> None:
        self.count, self.seconds = 0, 0.0
        self.buckets = [0] * len(_BOUNDS)  # per bucket, not cumulative


class RouteSamples:
    """Per (method, route template, status): the requests recorded since
    the last flush."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str, int], _Pending] = {}

    def record(self, method: str, template: str, status: int, seconds: float) -> None:
        key = (method, template, status)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending()
        pending.count += 1
        pending.seconds += seconds
        # Histogram.observe's bucket: the first bound at or above the value.
        pending.buckets[bisect_left(_BOUNDS, seconds)] += 1

    def flush(self) -> None:
        for key, pending in self._pending.items():
            if not pending.count:
                continue
            if pending.children is None:
                method, template, status = key
                pending.children = (
                    REQUESTS.labels(method, template, str(status)),
                    LATENCY.labels(method, template),
                )
            requests, latency = pending.children
            requests.inc(pending.count)
            # What ``observe`` does once per request, in bulk: the sum and
            # each bucket are prometheus_client's own values.
            latency._sum.inc(pending.seconds)
            for bucket, n in zip(latency._buckets, pending.buckets, strict=True):
                if n:
                    bucket.inc(n)
            pending.clear()


# The one per process: the request front records into it, /metrics flushes it.
SAMPLES = RouteSamples()


def sampled(in_flight: int) -> None:
    """The deadline sweep's report: set the in-flight gauge, flush the rest."""
    IN_FLIGHT.set(in_flight)
    SAMPLES.flush()


async def metrics_endpoint(request: Request) -> Response:
    SAMPLES.flush()  # this worker's requests so far; the others', within a sweep
    directory = request.app.state.settings.metrics_dir
    if directory is not None:
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
