"""Memory benchmark: worker USS with the app preloaded and frozen in the
master, vs preloaded without ``gc.freeze()``, vs built in each worker.

Each variant starts a real ``gramstack serve`` (SQLite, embedded cache) with
the same number of workers, runs the same warm-up workload over new
connections (so that every worker serves its share), waits for the workers'
warm-heap freeze, and reads every process's ``/proc/<pid>/smaps_rollup``:

- USS (unique set size) = Private_Clean + Private_Dirty: what one more
  worker costs;
- PSS over the master and all workers: what the whole server costs.

The most workers in 1 GiB is ``(1 GiB - S) / USS`` where S, the part every
worker shares plus the master, is the measured total PSS minus the workers'
USS. Ratios are of this one run.

Run: ``.venv/bin/python -m bench.memory_bench [--workers 4]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gramstack.runtime.http_process import HttpProcess

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The server process runs this module too: what it imports here would be
# shared by every worker in every variant, so the test helpers (httpx,
# Pillow, pytest) are imported by the load side only.

VARIANTS = ("preload+freeze", "preload, no freeze", "no preload")
GIB_KIB = 1024 * 1024
FREEZE_AFTER_S = 3.0


def _serve(variant: str, port: int, data_dir: Path, workers: int) -> None:
    """``gramstack serve`` as the variant runs it (inside the server process)."""
    from gramstack.runtime.config import load_settings
    from gramstack.runtime.logging import configure_logging
    from gramstack.runtime.prefork import PreforkServer, prepare_metrics_dir
    from gramstack.runtime.process_metrics import use_multiprocess_metrics

    gc.disable()  # as gramstack serve does
    if object_map := os.environ.get("GRAMSTACK_BENCH_OBJECT_MAP"):  # bench.memory_pages
        from bench.memory_pages import install_object_map

        install_object_map(Path(object_map))
    overrides = {"port": port, "data_dir": data_dir, "workers": workers}
    settings = load_settings(overrides=overrides).with_metrics_dir()
    assert settings.metrics_dir is not None
    prepare_metrics_dir(settings.metrics_dir)
    use_multiprocess_metrics(settings.metrics_dir)
    configure_logging(settings.log_level)
    if variant == "preload, no freeze":
        gc.freeze = lambda: None
    if variant == "no preload":

        class _AppPerWorker(PreforkServer):  # type: ignore[misc]
            def preload_worker_modules(self) -> None:
                return None

            def load_config(self) -> None:
                super().load_config()
                self.cfg.set("preload_app", False)

            def load(self) -> Any:
                from gramstack.api.app import create_app

                return create_app(self._settings)

        _AppPerWorker(None, settings).run()
        return
    from gramstack.api.app import create_app

    PreforkServer(create_app(settings), settings).run()


def _worker_pids(server: HttpProcess) -> list[int]:
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def _start(
    variant: str, data_dir: Path, workers: int, extra_env: dict[str, str] | None = None
) -> HttpProcess:
    from gramstack.runtime.http_process import free_port, start_http_process
    from tests.support.server import TEST_ENV

    port = free_port()
    data_dir.mkdir(parents=True)
    env = {
        **TEST_ENV,
        "GRAMSTACK_WORKER_GC_FREEZE_AFTER_S": str(FREEZE_AFTER_S),
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "bench.memory_bench", "--serve", variant, str(port)]
    command += [str(data_dir), str(workers)]
    server = start_http_process(
        command,
        port,
        data_dir / "server.log",
        name="server",
        env=env,
        ready_timeout_s=60,
        stop_timeout_s=30,
        cwd=ROOT,
    )
    # Answering is not enough: every worker must have been forked.
    deadline = time.monotonic() + 60
    while len(_worker_pids(server)) != workers:
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"server did not start its workers:\n{server.log()}")
        time.sleep(0.2)
    return server


def _warm_up(base_url: str, rounds: int) -> None:
    """The same workload for every variant: a small graph, then reads of
    every kind over new connections, so that each worker takes a share."""
    from tests.api.conftest import API, Account, api_client, follow, post_media, signup_user

    with api_client(base_url) as client:
        accounts: list[Account] = [signup_user(client) for _ in range(8)]
        media: list[str] = []
        for n, account in enumerate(accounts):
            for other in accounts[n + 1 : n + 4]:
                follow(client, account, other.username)
            media += [post_media(client, account, caption=f"#warm {n}")["id"] for _ in range(2)]
    paths = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        f"{API}/feed",
        f"{API}/users/{{user}}",
        f"{API}/users/{{user}}/media",
        f"{API}/media/{{media}}",
        f"{API}/media/{{media}}/comments",
        f"{API}/activity",
        f"{API}/me",
        "/",
    ]
    for n in range(rounds):
        account = accounts[n % len(accounts)]
        path = paths[n % len(paths)].format(user=account.username, media=media[n % len(media)])
        with api_client(base_url) as client:  # a new connection: any worker
            headers = account.headers if n % 3 else {}
            if path.endswith(("/feed", "/activity", "/me")):
                headers = account.headers
            client.get(path, headers=headers)


def _rollup_kib(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])
    return fields


def _measure(
    variant: str, workers: int, rounds: int, extra_env: dict[str, str]
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="gramstack-memory-bench-") as tmp:
        server = _start(variant, Path(tmp) / "server", workers, extra_env)
        try:
            _warm_up(server.base_url, rounds)
            time.sleep(FREEZE_AFTER_S + 1)  # the workers' warm-heap freeze
            worker_pids = _worker_pids(server)
            rollups = [_rollup_kib(pid) for pid in worker_pids]
            master = _rollup_kib(server.process.pid)
        finally:
            server.stop()
    uss = [r["Private_Clean"] + r["Private_Dirty"] for r in rollups]
    total_pss = master["Pss"] + sum(r["Pss"] for r in rollups)
    shared = total_pss - sum(uss)
    mean_uss = statistics.mean(uss)
    return {
        "worker_uss_mib": mean_uss / 1024,
        "worker_rss_mib": statistics.mean(r["Rss"] for r in rollups) / 1024,
        "total_pss_mib": total_pss / 1024,
        "shared_mib": shared / 1024,
        "workers_in_1gib": (GIB_KIB - shared) // mean_uss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=600, help="warm-up requests")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="for the servers"
    )
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="default: all")
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        variant, port, data_dir, workers = args.serve
        _serve(variant, int(port), Path(data_dir), int(workers))
        return
    extra_env = dict(item.split("=", 1) for item in args.env)
    variants = args.variant or VARIANTS
    results = {v: _measure(v, args.workers, args.rounds, extra_env) for v in variants}
    print(f"{args.workers} workers, {args.rounds} warm-up requests, SQLite, embedded cache (MiB)")
    header = f"{'variant':<20} {'worker USS':>10} {'worker RSS':>10} {'total PSS':>10}"
    print(f"{header} {'shared+master':>13} {'workers in 1 GiB':>16}")
    for variant, r in results.items():
        print(
            f"{variant:<20} {r['worker_uss_mib']:10.1f} {r['worker_rss_mib']:10.1f} "
            f"{r['total_pss_mib']:10.1f} {r['shared_mib']:13.1f} {r['workers_in_1gib']:16.0f}"
        )
    if "preload+freeze" not in results:
        return
    shipped = results["preload+freeze"]["worker_uss_mib"]
    for variant in [v for v in results if v != "preload+freeze"]:
        ratio = shipped / results[variant]["worker_uss_mib"]
        print(f"worker USS, preload+freeze / {variant}: {ratio:.2f}")


if __name__ == "__main__":
    main()
