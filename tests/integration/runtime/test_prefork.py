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
            assert httpx.get(server.base_url + "/healthz", timeout=30).status_code == 200
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
