"""Prefork server: the app is imported and built once in the master, the heap
is frozen with ``gc.freeze()`` and then workers are forked.

Instagram found that copy-on-write sharing was being defeated by the cyclic
garbage collector touching every object header; freezing moves everything
the master built into a permanent generation the collector never scans, so
the pages stay shared between workers. Gunicorn does the process management
(signals, restarts, timeouts); uvicorn runs the event loop inside each
worker.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from gramstack.runtime.config import Settings
from gramstack.runtime.headers import bounded_head_protocol
from gramstack.types import ASGIApp

log = logging.getLogger("gramstack.server")

# The collector in a worker. A young collection runs every 700 net container
# allocations by default, several times per feed request, and each one walks
# the survivors; objects of a request mostly die by reference counting
# anyway, so workers collect the young generation every 10,000. The older
# generations keep their default multipliers.
WORKER_GC_THRESHOLDS = (10_000, 10, 10)


def prepare_data_dir(settings: Settings) -> None:
    """The data directory holds the database (password hashes, tokens) and
    uploads: owner-only, whoever created it."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)


def prepare_metrics_dir(directory: Path) -> None:
    """Empty the prometheus multiprocess directory before any worker starts:
    files of an earlier run's workers would be added to this run's."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


class PreforkServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self._app = app
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        settings = self._settings
        options: dict[str, Any] = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "worker_class": _worker_class(settings),
            "preload_app": True,
            # The hard limit behind the deadline middleware: a worker whose
            # event loop is stuck past the deadline is killed and replaced.
            "timeout": int(settings.request_deadline_s * 2 + 10),
            "graceful_timeout": 10,
            "keepalive": 5,
            "forwarded_allow_ips": ",".join(str(n) for n in settings.trusted_proxies),
            "loglevel": settings.log_level,
            "accesslog": None,
            # One machine may run several servers (tests, regions): no shared
            # control socket in $HOME.
            "control_socket_disable": True,
            "pre_fork": _pre_fork,
            "post_fork": _post_fork,
            "child_exit": _child_exit,
            "on_exit": _on_exit,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> ASGIApp:
        return self._app

    def run(self) -> None:
        log.info("server starting %s", self._settings.describe())
        self.preload_worker_modules()
        # Objects built so far (the app, settings, imported modules) are shared
        # by every worker; keep the collector away from them. Collecting in
        # the master only frees what was allocated after this.
        gc.freeze()
        gc.enable()
        super().run()

    def preload_worker_modules(self) -> None:
        """Import in the master what each worker would import on its own
        (its event loop, HTTP parser, image codecs), so that it is shared."""
        for name in _WORKER_MODULES:
            with contextlib.suppress(ImportError):  # uvloop, httptools are optional
                importlib.import_module(name)
        if "PIL.Image" in sys.modules:
            # Pillow registers its common codecs on the first open.
            sys.modules["PIL.Image"].preinit()


# Imported by a uvicorn worker when it starts serving, or by its first
# requests (found with the log line of _freeze_warm_heap).
_WORKER_MODULES = (
    "concurrent.futures.thread",
    "httpcore",  # the webhook sender's client (httpx imports it on first use)
    "uvloop",
    "httptools",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.auto",
)

# The last module the master had imported when it forked: a worker reports
# the ones imported after it (sys.modules keeps import order), which it
# cannot share.
_last_master_module = ""


def _worker_class(settings: Settings) -> type[UvicornWorker]:
    """uvicorn's worker, on HTTP/1.1 whose request heads are bounded, taking
    X-Forwarded-For only from ``trusted_proxies``. (uvicorn would otherwise
    trust gunicorn's ``forwarded_allow_ips``, loopback by default, which lets
    any local caller pick its own client address.) No ``Server`` header:
    it tells a scanner which software to try, and uvicorn checks each header
    of every response against two regular expressions."""
    protocol = bounded_head_protocol(settings.max_header_bytes)
    trusted = [str(network) for network in settings.trusted_proxies]
    options = {
        **UvicornWorker.CONFIG_KWARGS,
        "http": protocol,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        "server_header": False,
    }
    return type("GramstackWorker", (UvicornWorker,), {"CONFIG_KWARGS": options})


def _pre_fork(server: Any, worker: Any) -> None:
    global _last_master_module
    _last_master_module = next(reversed(sys.modules))
    gc.freeze()


def _post_fork(server: Any, worker: Any) -> None:
    gc.set_threshold(*WORKER_GC_THRESHOLDS)
    # After warm-up a worker has built what it keeps (connections, lazily
    # compiled patterns, cached records); that is frozen too, so that full
    # collections only walk what later requests leave behind.
    settings: Settings = server.app._settings
    timer = threading.Timer(settings.worker_gc_freeze_after_s, _freeze_warm_heap)
    timer.daemon = True
    timer.start()
    log.info("worker started pid=%s", worker.pid)


def _freeze_warm_heap() -> None:
    gc.collect()  # garbage of the warm-up is not worth keeping forever
    started = time.perf_counter()
    gc.collect()
    before = time.perf_counter() - started
    gc.freeze()
    started = time.perf_counter()
    gc.collect()
    after = time.perf_counter() - started
    log.info(
        "worker froze its warm heap: %d objects frozen, full collection %.1f ms -> %.1f ms",
        gc.get_freeze_count(),
        before * 1000,
        after * 1000,
    )
    imported = sorted(_imported_after_fork())
    log.info("worker imported %d modules after the fork: %s", len(imported), " ".join(imported))


def _imported_after_fork() -> list[str]:
    # From the newest back to the master's last: a set of all the names
    # would touch the reference count of every shared name string, and so
    # copy the pages that hold them into this worker.
    imported: list[str] = []
    for name in reversed(sys.modules):
        if name == _last_master_module:
            break
        imported.append(name)
    return imported


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
    log.info("worker stopped pid=%s", worker.pid)


def _on_exit(server: Any) -> None:
    log.info("server stopped")
