"""An embedded store (the primary SQLite file, or the region's timeline and
inbox store) held by another writer, as a stuck process holding the write
lock would: a write that needs it answers 503 ``unavailable`` with
Retry-After before the request deadline, not 500, and goes through once the
lock is let go."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.faults.client import API, png
from tests.support.server import start_server

pytestmark = pytest.mark.faults

BUSY_TIMEOUT_S = 10.0  # SQLite's busy_timeout in the adapter
DEADLINE_S = 12.0


def _post(http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return http.post(f"{API}/media", headers=headers, files={"file": ("p.png", png(), "image/png")})


@pytest.mark.parametrize("held", ["gramstack.db", "regions/local.db"])
def test_a_held_write_lock_answers_503_before_the_deadline(tmp_path: Path, held: str) -> None:
    server = start_server(
        tmp_path / "server", env={"GRAMSTACK_DATABASE_URL": "", "GRAMSTACK_FOLLOWER_URLS": ""}
    )
    holder = sqlite3.connect(server.data_dir / held, isolation_level=None)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            signup = http.post(
                f"{API}/accounts", json={"username": "held", "password": "pw-12345678"}
            )
            assert signup.status_code == 201, signup.text
            auth = {"Authorization": f"Bearer {signup.json()['token']}"}
            holder.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            response = _post(http, auth)
            elapsed = time.monotonic() - started
            holder.execute("ROLLBACK")
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "unavailable"
            assert int(response.headers["retry-after"]) >= 1
            assert BUSY_TIMEOUT_S - 1 <= elapsed < DEADLINE_S
            assert _post(http, auth).status_code == 201
            assert http.get(f"{API}/feed", headers=auth).status_code == 200
    finally:
        holder.close()
        assert server.stop() == 0, server.log()
