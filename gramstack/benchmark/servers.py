"""Servers the benchmark starts itself: the hello-world ceiling, and
optionally gramstack on a seeded data directory."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

_READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StartedServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(command: list[str], port: int, log_path: Path) -> StartedServer:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = StartedServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[2]} exited early; see {log_path}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{command[2]} did not become ready; see {log_path}")


def start_hello(workers: int, log_path: Path) -> StartedServer:
    port = free_port()
    command = [sys.executable, "-m", "gramstack.benchmark.hello", "--port", str(port)]
    return _start([*command, "--workers", str(workers)], port, log_path)


def start_gramstack(data_dir: Path, workers: int, log_path: Path) -> StartedServer:
    port = free_port()
    command = [sys.executable, "-m", "gramstack.cli", "serve", "--data-dir", str(data_dir)]
    return _start([*command, "--port", str(port), "--workers", str(workers)], port, log_path)
