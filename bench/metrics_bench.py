"""Metrics benchmark: CPU per request of ``MetricsMiddleware`` and per metric
operation, for each way prometheus_client can keep samples.

Variants (each in a fresh interpreter, since prometheus_client picks its
value class before the first metric is built):

- ``single``: one process, no multiprocess directory (a lock and a float);
  the floor, but /metrics would then only count the answering worker.
- ``getpid``: prometheus_client's default multiprocess value, which calls
  ``os.getpid()`` on every operation to notice a fork.
- ``fork-reset``: the same mmap files, switched to the child's own once by
  an ``os.register_at_fork`` hook, no lock and no pid check per operation
  (gramstack.runtime.process_metrics, what ``gramstack serve`` installs).
- ``batched``: a plain dict per worker flushed later (the hot-path cost of
  batching alone; it cannot answer /metrics exactly without a flush of
  every worker, so it is measured, not used).

Run: ``.venv/bin/python -m bench.metrics_bench`` (``--profile`` adds a
pyinstrument profile of the middleware with the ``getpid`` and
``fork-reset`` values). The middleware is measured as it was before
(``labels()`` on every request) and as it is (children cached).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("single", "getpid", "fork-reset", "batched")
REQUESTS = 100_000
OPERATIONS = 200_000


class _Route:
    path = "/api/v1/media/{media_id}"


async def _bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
    scope["route"] = _Route()


async def _ignore(message: Any) -> None:
    return None


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


class _LabelsEachRequest:
    """MetricsMiddleware as it was before its label children were cached."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from gramstack.api.metrics import IN_FLIGHT, LATENCY, REQUESTS
        from gramstack.api.tracking import ResponseTracker

        started = time.perf_counter()
        response = ResponseTracker(send)
        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, response.send)
        finally:
            IN_FLIGHT.dec()
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            status = 500 if response.status is None else response.status
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)


def _request_cpu_us(app: Any, n: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/api/v1/media/1"}

    async def loop() -> float:
        for _ in range(1000):  # warm the label children and file offsets
            await app(dict(scope), _receive, _ignore)
        started = time.process_time()
        for _ in range(n):
            await app(dict(scope), _receive, _ignore)
        return (time.process_time() - started) / n * 1e6

    return asyncio.run(loop())


def _measure(variant: str, profile: bool) -> dict[str, float]:
    """Runs inside the child interpreter for one variant."""
    if variant in ("getpid", "fork-reset"):
        directory = Path(tempfile.mkdtemp(prefix="gramstack-metrics-bench-"))
        if variant == "fork-reset":
            from gramstack.runtime.process_metrics import use_multiprocess_metrics

            use_multiprocess_metrics(directory)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    from prometheus_client import Counter

    result: dict[str, float] = {}
    if variant == "batched":
        pending: dict[tuple[str, str, str], float] = {}

        def op() -> None:
            key = ("GET", "/route", "200")
            pending[key] = pending.get(key, 0.0) + 1.0

    else:
        child = Counter("bench_ops_total", "ops", ["method", "route", "status"]).labels(
            "GET", "/route", "200"
        )
        op = child.inc
    started = time.process_time()
    for _ in range(OPERATIONS):
        op()
    result["op_ns"] = (time.process_time() - started) / OPERATIONS * 1e9

    if variant != "batched":
        from gramstack.api.metrics import MetricsMiddleware

        bare = _request_cpu_us(_bare_app, REQUESTS)
        result["labels_each_request_us"] = (
            _request_cpu_us(_LabelsEachRequest(_bare_app), REQUESTS) - bare
        )
        wrapped = MetricsMiddleware(_bare_app)
        result["middleware_us"] = _request_cpu_us(wrapped, REQUESTS) - bare
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001)
            profiler.start()
            _request_cpu_us(wrapped, REQUESTS // 4)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(_measure(args.variant, args.profile)))
        return
    results: dict[str, dict[str, float]] = {}
    for variant in VARIANTS:
        command = [sys.executable, "-m", "bench.metrics_bench", "--variant", variant]
        if args.profile and variant in ("getpid", "fork-reset"):
            command.append("--profile")
        out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
        if args.profile and out.stderr:
            print(f"--- profile: {variant} ---\n{out.stderr}")
        results[variant] = json.loads(out.stdout)
    print("CPU per metric operation and per request of the middleware (us),")
    print("with labels() on each request (before) and cached children (now):")
    print(f"{'variant':<11} {'ns/op':>6} {'labels each request':>20} {'cached children':>16}")
    for variant, numbers in results.items():
        cells = [
            f"{numbers[key]:.2f}" if key in numbers else "-"
            for key in ("labels_each_request_us", "middleware_us")
        ]
        print(f"{variant:<11} {numbers['op_ns']:6.0f} {cells[0]:>20} {cells[1]:>16}")
    before = results["getpid"]["labels_each_request_us"]
    after = results["fork-reset"]["middleware_us"]
    print(f"middleware CPU per request, now / before: {after:.2f} / {before:.2f}", end=" ")
    print(f"= {after / before:.2f}")


if __name__ == "__main__":
    main()
