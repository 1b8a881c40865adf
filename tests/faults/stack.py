"""A scaled gramstack on one machine, for breaking on purpose: a PostgreSQL
leader and follower, memcached, the invalidator and a prefork server, each a
real process this module can stop, kill, hang (SIGSTOP) and bring back."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gramstack.runtime.devcluster import ClusterState, Node
from gramstack.runtime.devcluster import postgres as pg
from gramstack.runtime.devcluster.memcached import (
    MemcachedProcess,
    start_memcached,
    stop_memcached,
)
from tests.support.server import ServerProcess, free_port, start_server

# How long a hung database goes unnoticed (db_unresponsive_after_s, 2 s by
# default, plus up to one 0.5 s heartbeat), and scheduling slack on a busy
# two-core machine.
HANG_BOUND_S = 2.0
SLACK_S = 1.5


def node_pids(node: Node) -> list[int]:
    """The postmaster of ``node`` and every process it started."""
    pid_file = Path(node.data) / "postmaster.pid"
    if not pid_file.exists():
        return []
    postmaster = int(pid_file.read_text().split("\n", 1)[0])
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # "pid (comm) state ppid ...": comm may hold spaces, so split after ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(entry.name))
    return pids


def signal_node(node: Node, signum: signal.Signals) -> None:
    for pid in node_pids(node):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def stop_node(cluster: ClusterState, node: Node) -> None:
    """Down as a crash is down: no checkpoint, clients cut off."""
    pg.stop(Path(cluster.bindir), Path(node.data), cluster.user, mode="immediate")


def start_node(cluster: ClusterState, node: Node) -> None:
    log = Path(cluster.directory) / f"{Path(node.data).name}.log"
    pg.start(Path(cluster.bindir), Path(node.data), log, cluster.user)


@dataclass
class Invalidator:
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_invalidator(env: dict[str, str], log_path: Path) -> Invalidator:
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gramstack.cli", "invalidator"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    deadline = time.monotonic() + 30
    while b"invalidator starting" not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(log_path.read_text(errors="replace"))
        time.sleep(0.05)
    return Invalidator(process, log_path)


@dataclass
class Stack:
    cluster: ClusterState
    directory: Path
    env: dict[str, str]
    memcached: MemcachedProcess | None = None
    invalidator: Invalidator | None = None
    server: ServerProcess | None = None
    extra: list[ServerProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def start_server(self, workers: int = 2) -> ServerProcess:
        self.server = start_server(self.directory / "server", env=self.env, workers=workers)
        return self.server

    def worker_pids(self) -> list[int]:
        assert self.server is not None
        master = self.server.process.pid
        return [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _parent(p) == master
        ]

    def restart_memcached(self) -> None:
        assert self.memcached is not None
        self.memcached = start_memcached(port=self.memcached.port)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.invalidator is not None:
            self.invalidator.stop()
        if self.memcached is not None:
            stop_memcached(self.memcached)


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def stack_env(
    cluster: ClusterState, memcached: MemcachedProcess | None, *, region: str = "local"
) -> dict[str, str]:
    env = {
        **cluster.env,
        "GRAMSTACK_REGION": region,
        "GRAMSTACK_EXPOSE_BACKEND_HEADER": "1",
        "GRAMSTACK_INVALIDATOR_METRICS_PORT": str(free_port()),
        "GRAMSTACK_INVALIDATOR_LOG_EVERY_S": "1",
    }
    if memcached is not None:
        env |= {
            "GRAMSTACK_CACHE_BACKEND": "memcached",
            "GRAMSTACK_MEMCACHED_SERVERS": memcached.address,
            "GRAMSTACK_MEMCACHED_TIMEOUT_S": "0.3",
        }
    return env


def wait_until_ok(client: httpx.Client, path: str, timeout: float = 60, in_a_row: int = 8) -> float:
    """Seconds until ``path`` answers 2xx ``in_a_row`` times, each on a new
    connection (the recovery time after a fault). Each worker process keeps
    its own view of the backends, and a kept-alive connection would only
    ever ask one of them."""
    started = time.monotonic()
    successes = 0
    while time.monotonic() - started < timeout:
        try:
            answer = client.get(path, timeout=5, headers={"Connection": "close"})
            successes = successes + 1 if answer.is_success else 0
        except httpx.HTTPError:
            successes = 0
        if successes >= in_a_row:
            return time.monotonic() - started
        time.sleep(0.05 if successes else 0.1)
    raise AssertionError(f"{path} did not recover in {timeout} s")
