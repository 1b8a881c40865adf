"""Start a real ``gramstack serve`` process on a free port for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

# Cheap password hashing for tests: the KDF is still argon2id, just smaller.
TEST_ENV = {
    "GRAMSTACK_ARGON2_TIME_COST": "1",
    "GRAMSTACK_ARGON2_MEMORY_KIB": "1024",
    "GRAMSTACK_LOGIN_RATE_PER_MINUTE": "100000",
    "GRAMSTACK_SIGNUP_RATE_PER_MINUTE": "100000",
    "GRAMSTACK_JOB_POLL_INTERVAL_S": "0.05",
}


# The primary-store settings of the backend under test ({} is SQLite), set
# by the ``server`` fixture so that extra servers a test starts run on the
# same backend as the shared one.
_backend_env: dict[str, str] = {}


def use_backend(env: Mapping[str, str]) -> None:
    _backend_env.clear()
    _backend_env.update(env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    base_url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    *,
    on_test_backend: bool = False,
) -> ServerProcess:
    """``on_test_backend``: on the API suite's backend (``use_backend``).
    Off by default: a test that builds its own stack (its own leader, no
    followers) must not inherit the API suite's ``GRAMSTACK_FOLLOWER_URLS``,
    which would route its reads to another cluster's follower."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    backend = _backend_env if on_test_backend else {}
    full_env = {**os.environ, **TEST_ENV, **backend, **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gramstack.cli",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--workers",
                str(workers),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", process, data_dir, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not become ready:\n{server.log()}")
