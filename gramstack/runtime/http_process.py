"""A child process serving HTTP on a local port, started and waited for
until its ``/healthz`` answers: how the benchmark and the test suite run
``gramstack serve`` (and the hello-world ceiling) as real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A port free on 127.0.0.1 now (the OS picks; another process may take
    it before ours binds, which is rare enough for tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpProcess:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_timeout_s: float = 15.0

    def stop(self, timeout: float | None = None) -> int:
        """SIGTERM (a graceful shutdown), SIGKILL after ``timeout`` (else
        ``stop_timeout_s``); the exit code."""
        timeout = self.stop_timeout_s if timeout is None else timeout
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


def start_http_process(
    command: list[str],
    port: int,
    log_path: Path,
    *,
    name: str,
    env: Mapping[str, str] | None = None,
    ready_timeout_s: float = 30.0,
    stop_timeout_s: float = 15.0,
    cwd: Path | None = None,
) -> HttpProcess:
    """Run ``command`` (which serves on ``port``) with its output in
    ``log_path``, and return once ``/healthz`` answers 200; raises with the
    log if it exits or is not ready within ``ready_timeout_s``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=None if env is None else {**os.environ, **env},
            cwd=cwd,
        )
    server = HttpProcess(f"http://127.0.0.1:{port}", process, log_path, stop_timeout_s)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{server.log()}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not become ready:\n{server.log()}")
