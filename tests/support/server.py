"""Start a real ``gramstack serve`` process on a free port for tests."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gramstack.runtime.http_process import HttpProcess, free_port, start_http_process

__all__ = ["TEST_ENV", "ServerProcess", "free_port", "start_server", "use_backend"]

# Cheap password hashing for tests: the KDF is still argon2id, just smaller.
TEST_ENV = {
    "GRAMSTACK_ARGON2_TIME_COST": "1",
    "GRAMSTACK_ARGON2_MEMORY_KIB": "1024",
    "GRAMSTACK_LOGIN_RATE_PER_MINUTE": "100000",
    "GRAMSTACK_SIGNUP_RATE_PER_MINUTE": "100000",
    "GRAMSTACK_JOB_POLL_INTERVAL_S": "0.05",
    # New posts reach explore within a second rather than a minute.
    "GRAMSTACK_EXPLORE_REFRESH_S": "1",
}


# The primary-store settings of the backend under test ({} is SQLite), set
# by the ``server`` fixture so that extra servers a test starts run on the
# same backend as the shared one.
_backend_env: dict[str, str] = {}


def use_backend(env: Mapping[str, str]) -> None:
    _backend_env.clear()
    _backend_env.update(env)


@dataclass
class ServerProcess(HttpProcess):
    data_dir: Path = field(kw_only=True)


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
    backend = _backend_env if on_test_backend else {}
    command = [sys.executable, "-m", "gramstack.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--workers", str(workers)]
    started = start_http_process(
        command,
        port,
        data_dir / "server.log",
        name="server",
        env={**TEST_ENV, **backend, **(env or {})},
    )
    return ServerProcess(started.base_url, started.process, started.log_path, data_dir=data_dir)
