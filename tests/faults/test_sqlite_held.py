"""The embedded store held by another writer (a stuck process with the write
lock): a write answers 503 ``unavailable`` before the request deadline, not
500, and goes through once the lock is let go."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.faults.client import API
from tests.support.server import start_server

pytestmark = pytest.mark.faults

BUSY_TIMEOUT_S = 10.0  # SQLite's busy_timeout in the adapter
DEADLINE_S = 12.0


def test_a_held_write_lock_answers_503_before_the_deadline(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "server", env={"GRAMSTACK_DATABASE_URL": "", "GRAMSTACK_FOLLOWER_URLS": ""}
    )
    holder = sqlite3.connect(server.data_dir / "gramstack.db", isolation_level=None)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            holder.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            response = http.post(
                f"{API}/accounts", json={"username": "held", "password": "pw-12345678"}
            )
            elapsed = time.monotonic() - started
            holder.execute("ROLLBACK")
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "unavailable"
            assert int(response.headers["retry-after"]) >= 1
            assert BUSY_TIMEOUT_S - 1 <= elapsed < DEADLINE_S
            response = http.post(
                f"{API}/accounts", json={"username": "held", "password": "pw-12345678"}
            )
            assert response.status_code == 201, response.text
    finally:
        holder.close()
        assert server.stop() == 0, server.log()
