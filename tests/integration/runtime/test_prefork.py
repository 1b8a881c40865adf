"""The prefork server's collector set-up, on a real ``gramstack serve``."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from tests.support.server import start_server


def test_workers_tune_the_collector_and_freeze_their_warm_heap(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "server", env={"GRAMSTACK_WORKER_GC_FREEZE_AFTER_S": "0.5"}, workers=2
    )
    try:
        for _ in range(10):
            answer = httpx.get(server.base_url + "/healthz", timeout=30)
            assert answer.status_code == 200
            # HTTP/1.1's Date, and no Server header naming the software.
            assert "date" in answer.headers and "server" not in answer.headers
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.log().count("froze its warm heap") < 2:
            time.sleep(0.1)
        log = server.log()
        frozen = re.findall(r"froze its warm heap: (\d+) objects frozen", log)
        assert len(frozen) == 2, log
        # Each worker's permanent generation holds the master's heap and its own.
        assert all(int(count) > 10_000 for count in frozen), frozen
        assert httpx.get(server.base_url + "/healthz", timeout=30).status_code == 200
    finally:
        code = server.stop()
    assert code == 0, server.log()


def test_workers_import_nothing_of_their_own_while_serving(tmp_path: Path) -> None:
    # The master imports (and builds) what the workers run, before the fork,
    # so that they share it; a module a worker imports is its own copy.
    server = start_server(
        tmp_path / "server", env={"GRAMSTACK_WORKER_GC_FREEZE_AFTER_S": "6"}, workers=2
    )
    paths = ("/", "/login", "/docs", "/u/nobody", "/no/such/page", "/openapi.json", "/metrics")
    try:
        for _ in range(2):
            for path in paths:  # one connection per request: both workers serve
                response = httpx.get(server.base_url + path, headers={"accept": "text/html"})
                assert response.status_code in (200, 404), (path, response.status_code)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.log().count("modules after the fork") < 2:
            time.sleep(0.1)
        log = server.log()
        imported = re.findall(r"worker imported (\d+) modules after the fork: (.*)", log)
        assert len(imported) == 2, log
        assert all(count == "0" for count, _ in imported), imported
    finally:
        code = server.stop()
    assert code == 0, server.log()
