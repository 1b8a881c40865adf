"""Prometheus metrics for HTTP traffic, and the ``/metrics`` endpoint.

With several worker processes each keeps its own samples in files under
the ``metrics_dir`` setting (``gramstack serve`` installs
gramstack.runtime.process_metrics before anything builds a metric); the
endpoint merges them, so any worker can answer for all.
"""

from __future__ import annotations

import time

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

from gramstack.api.tracking import tracked
from gramstack.types import ASGIApp, Receive, Scope, Send

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


_Labels = tuple[str, str, int]


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The labelled children per (method, route template, status):
        # ``labels()`` checks and joins label values under a lock, which cost
        # as much as the samples themselves. It holds one entry per label
        # set prometheus_client already keeps.
        self._children: dict[_Labels, tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response, tracked_send = tracked(scope, send)
        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, tracked_send)
        finally:
            IN_FLIGHT.dec()
            route = scope.get("route")
            # Label by route template, never the raw path: IDs would make
            # the label set unbounded.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            status = 500 if response.status is None else response.status
            children = self._children.get((method, template, status))
            if children is None:
                children = self._children[(method, template, status)] = (
                    REQUESTS.labels(method, template, str(status)),
                    LATENCY.labels(method, template),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    directory = request.app.state.settings.metrics_dir
    if directory is not None:
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
