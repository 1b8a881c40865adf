"""Servers the benchmark starts itself: the hello-world ceiling, and
optionally gramstack on a seeded data directory."""

from __future__ import annotations

import sys
from pathlib import Path

from gramstack.runtime.http_process import HttpProcess, free_port, start_http_process

StartedServer = HttpProcess


def _start(command: list[str], port: int, log_path: Path) -> StartedServer:
    return start_http_process(
        command, port, log_path, name=command[2], ready_timeout_s=60.0, stop_timeout_s=20.0
    )


def start_hello(workers: int, log_path: Path) -> StartedServer:
    port = free_port()
    command = [sys.executable, "-m", "gramstack.benchmark.hello", "--port", str(port)]
    return _start([*command, "--workers", str(workers)], port, log_path)


def start_gramstack(data_dir: Path, workers: int, log_path: Path) -> StartedServer:
    port = free_port()
    command = [sys.executable, "-m", "gramstack.cli", "serve", "--data-dir", str(data_dir)]
    return _start([*command, "--port", str(port), "--workers", str(workers)], port, log_path)
