"""Prometheus metrics for HTTP traffic, and the ``/metrics`` endpoint.

With several worker processes each keeps its own samples in files under
the ``metrics_dir`` setting (``gramstack serve`` installs
gramstack.runtime.process_metrics before anything builds a metric); the
endpoint merges them, so any worker can answer for all.
"""

from __future__ import annotations

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


class RouteSamples:
    """The labelled children per (method, route template, status), made
    once: ``labels()`` checks and joins label values under a lock, which
    cost as much as the samples themselves. It holds one entry per label
    set prometheus_client already keeps."""

    __slots__ = ("children",)

    def __init__(self) -> None:
        self.children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def add(self, method: str, template: str, status: int) -> tuple[Counter, Histogram]:
        made = self.children[(method, template, status)] = (
            REQUESTS.labels(method, template, str(status)),
            LATENCY.labels(method, template),
        )
        return made


async def metrics_endpoint(request: Request) -> Response:
    directory = request.app.state.settings.metrics_dir
    if directory is not None:
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
