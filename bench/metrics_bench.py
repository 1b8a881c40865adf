"""Metrics benchmark: CPU per request of the request front's metrics (with
its deadline: gramstack.api.front) and per metric
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
  batching alone). The request front now batches this way
  (``RouteSamples.record``, flushed by the deadline sweep).

End to end (``--e2e``): a real one-worker ``gramstack serve`` (SQLite,
embedded cache) as it was before (prometheus_client's default value,
``labels()`` on each request) and as it is now, answers the same anonymous
media reads over one keep-alive connection; the worker's CPU time per
request comes from /proc, and py-spy (when installed) samples the worker
for the share of its time under the metrics code.

Run: ``.venv/bin/python -m bench.metrics_bench [--e2e]`` (``--profile`` adds
a pyinstrument profile of the front with the ``getpid`` and
``fork-reset`` values). pyinstrument and py-spy are not dependencies:
``.venv/bin/pip install pyinstrument py-spy``. The front is measured with
the samples as they were at first (``labels()``, ``inc`` and ``observe``
on every request), as they were next (cached label children, ``inc`` and
``observe`` per request) and as they are (added up, flushed by the sweep).
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
from dataclasses import dataclass
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


def _per_request(labels_each_time: bool) -> Any:
    """The request front's samples handed to prometheus_client on every
    request, with ``labels()`` each time (as at first) or the label
    children cached (as next)."""
    from gramstack.api.metrics import LATENCY, REQUESTS, RouteSamples

    class ObserveEachRequest(RouteSamples):
        __slots__ = ("_made",)

        def __init__(self) -> None:
            super().__init__()
            self._made: dict[tuple[str, str, int], Any] = {}

        def record(self, method: str, template: str, status: int, seconds: float) -> None:
            key = (method, template, status)
            children = None if labels_each_time else self._made.get(key)
            if children is None:
                children = self._made[key] = (
                    REQUESTS.labels(method, template, str(status)),
                    LATENCY.labels(method, template),
                )
            children[0].inc()
            children[1].observe(seconds)

    return ObserveEachRequest()


def _front(app: Any, per_request: str = "") -> Any:
    """``app`` behind the request front (metrics, deadline, error answers);
    ``per_request``: "labels" or "cached" for the samples as they were."""
    from gramstack.api.front import RequestFront

    front = RequestFront(app, deadline_s=12.0, handlers={})
    if per_request:
        front.samples = _per_request(labels_each_time=per_request == "labels")
    return front


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
        bare = _request_cpu_us(_bare_app, REQUESTS)
        result["labels_each_request_us"] = (
            _request_cpu_us(_front(_bare_app, per_request="labels"), REQUESTS) - bare
        )
        result["observe_each_request_us"] = (
            _request_cpu_us(_front(_bare_app, per_request="cached"), REQUESTS) - bare
        )
        wrapped = _front(_bare_app)
        result["middleware_us"] = _request_cpu_us(wrapped, REQUESTS) - bare
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001)
            profiler.start()
            _request_cpu_us(wrapped, REQUESTS // 4)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
    return result


E2E_SERVERS = ("before", "now")


def _serve(version: str, port: int, data_dir: Path) -> None:
    """``gramstack serve --workers 1``, as before or now (in the server process)."""
    import gc

    from gramstack.runtime.config import load_settings
    from gramstack.runtime.logging import configure_logging
    from gramstack.runtime.prefork import PreforkServer, prepare_metrics_dir
    from gramstack.runtime.process_metrics import use_multiprocess_metrics

    gc.disable()
    overrides = {"port": port, "data_dir": data_dir, "workers": 1}
    settings = load_settings(overrides=overrides).with_metrics_dir()
    assert settings.metrics_dir is not None
    prepare_metrics_dir(settings.metrics_dir)
    configure_logging(settings.log_level)
    if version == "before":
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(settings.metrics_dir)
        import gramstack.api.front

        gramstack.api.front.SAMPLES = _per_request(labels_each_time=True)
    else:
        use_multiprocess_metrics(settings.metrics_dir)
    from gramstack.api.app import create_app

    PreforkServer(create_app(settings), settings).run()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _E2EServer:
    version: str
    process: subprocess.Popen[bytes]
    base_url: str
    worker: int = 0
    path: str = ""
    cpu_s: float = 0.0


def _start_e2e(version: str, data_dir: Path) -> _E2EServer:
    from gramstack.runtime.http_process import free_port, start_http_process
    from tests.support.server import TEST_ENV

    port = free_port()
    data_dir.mkdir(parents=True)
    command = [sys.executable, "-m", "bench.metrics_bench", "--serve", version, str(port)]
    command.append(str(data_dir))
    started = start_http_process(
        command,
        port,
        data_dir / "server.log",
        name=f"server {version}",
        env=TEST_ENV,
        ready_timeout_s=60,
        cwd=ROOT,
    )
    server = _E2EServer(version, started.process, started.base_url)
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text()
    server.worker = int(children.split()[0])
    return server


def _profile_shares(raw: Path) -> dict[str, float]:
    """Shares of py-spy's samples (raw format: frames root first, then a
    count) spent in metric code: prometheus_client, or the middleware's own
    lines (not what it awaits)."""
    total = metrics = pid_checks = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or "(idle)" in stack:
            continue
        leaf = stack.rsplit(";", 1)[-1]
        total += int(count)
        in_metrics = "prometheus_client" in stack or "process_metrics" in stack
        if in_metrics or "api/metrics.py" in leaf or "LabelsEachRequest" in leaf:
            metrics += int(count)
        if "check_for_pid_change" in stack:
            pid_checks += int(count)
    return {"metrics_share": metrics / total, "pid_check_share": pid_checks / total}


def _e2e(directory: Path, rounds: int = 5, batch: int = 1000) -> dict[str, dict[str, float]]:
    """Both servers up at once, requests alternated in batches, so that
    other load on the machine falls on both alike."""
    import shutil
    import signal

    from tests.api.conftest import API, api_client, post_media, signup_user

    servers = [_start_e2e(version, directory / version) for version in E2E_SERVERS]
    clients = [api_client(server.base_url) for server in servers]
    results: dict[str, dict[str, float]] = {}
    try:
        for server, client in zip(servers, clients, strict=True):
            server.path = f"{API}/media/{post_media(client, signup_user(client))['id']}"
            for _ in range(500):
                client.get(server.path).raise_for_status()
        for _ in range(rounds):
            for server, client in zip(servers, clients, strict=True):
                started = _cpu_s(server.worker)
                for _ in range(batch):
                    client.get(server.path).raise_for_status()
                server.cpu_s += _cpu_s(server.worker) - started
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        for server, client in zip(servers, clients, strict=True):
            results[server.version] = {"cpu_us_per_request": server.cpu_s / rounds / batch * 1e6}
            if not Path(spy).exists():
                continue
            raw = directory / f"{server.version}.txt"
            command = [spy, "record", "--pid", str(server.worker), "--nonblocking"]
            command += ["--rate", "1000", "--format", "raw", "-o", str(raw)]
            recorder = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(1)
            for _ in range(2 * batch):
                client.get(server.path).raise_for_status()
            recorder.send_signal(signal.SIGINT)
            recorder.wait(30)
            if raw.exists():
                results[server.version].update(_profile_shares(raw))
    finally:
        for server, client in zip(servers, clients, strict=True):
            client.close()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(30)
    return results


def _report_e2e() -> None:
    with tempfile.TemporaryDirectory(prefix="gramstack-metrics-e2e-") as tmp:
        results = _e2e(Path(tmp))
    print("GET /api/v1/media/{id} anonymous, one worker each, 5 x 1,000 requests alternated:")
    print(f"{'server':<7} {'worker CPU us/request':>22} {'metrics share':>14} {'pid checks':>11}")
    for version, r in results.items():
        shares = [
            f"{r[key]:.1%}" if key in r else "-" for key in ("metrics_share", "pid_check_share")
        ]
        print(f"{version:<7} {r['cpu_us_per_request']:22.1f} {shares[0]:>14} {shares[1]:>11}")
    before, now = (results[v]["cpu_us_per_request"] for v in E2E_SERVERS)
    print(f"worker CPU per request, now / before: {now / before:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--e2e", action="store_true", help="also measure a real server")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(_measure(args.variant, args.profile)))
        return
    if args.serve:
        _serve(args.serve[0], int(args.serve[1]), Path(args.serve[2]))
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
    print("CPU per metric operation and per request of the request front (us): labels(),")
    print("inc and observe on each request; cached children; added up and flushed (now):")
    columns = ("labels_each_request_us", "observe_each_request_us", "middleware_us")
    print(f"{'variant':<11} {'ns/op':>6} {'labels()':>9} {'cached':>7} {'flushed':>8}")
    for variant, numbers in results.items():
        cells = [f"{numbers[key]:.2f}" if key in numbers else "-" for key in columns]
        print(f"{variant:<11} {numbers['op_ns']:6.0f} {cells[0]:>9} {cells[1]:>7} {cells[2]:>8}")
    before = results["getpid"]["labels_each_request_us"]
    after = results["fork-reset"]["middleware_us"]
    print(f"middleware CPU per request, now / before: {after:.2f} / {before:.2f}", end=" ")
    print(f"= {after / before:.2f}")
    if args.e2e:
        _report_e2e()


if __name__ == "__main__":
    main()
