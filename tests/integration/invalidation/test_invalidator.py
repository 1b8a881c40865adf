"""The invalidation service against a real PostgreSQL slot and real memcached,
run as its own process the way operators run it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from PIL import Image

from gramstack.cache import keys
from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memcached_pool import MemcachedPool
from gramstack.runtime.devcluster import ClusterState
from gramstack.runtime.devcluster.memcached import (
    MemcachedProcess,
    start_memcached,
    stop_memcached,
)
from tests.support.postgres import start_cluster, stop_cluster
from tests.support.server import free_port, start_server

SLOT = "gramstack_invalidator"


@dataclass
class Stack:
    cluster: ClusterState
    memcached: MemcachedProcess
    env: dict[str, str]
    log_dir: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    cluster = start_cluster(followers=0)
    memcached = start_memcached()
    env = {
        **os.environ,
        "GRAMSTACK_DATABASE_URL": cluster.database_url,
        "GRAMSTACK_CACHE_BACKEND": "memcached",
        "GRAMSTACK_MEMCACHED_SERVERS": memcached.address,
        "GRAMSTACK_INVALIDATOR_METRICS_PORT": str(free_port()),
        "GRAMSTACK_INVALIDATOR_LOG_EVERY_S": "1",
        "GRAMSTACK_MEMCACHED_TIMEOUT_S": "0.3",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    stack = Stack(cluster, memcached, env, tmp_path_factory.mktemp("invalidator"))
    try:
        yield stack
    finally:
        stop_memcached(stack.memcached)  # a test may have restarted it
        stop_cluster(cluster)


class Invalidator:
    def __init__(self, stack: Stack, name: str) -> None:
        self.log_path = stack.log_dir / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gramstack.cli", "invalidator"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=stack.env,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_started(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while "invalidator starting" not in self.log():
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.02)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(15)


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


async def _connect(stack: Stack) -> asyncpg.Connection:
    return await asyncpg.connect(stack.cluster.database_url)


async def _seed_media(db: asyncpg.Connection, first_id: int, count: int) -> list[int]:
    owner = first_id
    await db.execute(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, 'x', 0)",
        owner,
        f"owner{owner}",
    )
    ids = [first_id + 1 + i for i in range(count)]
    await db.executemany(
        "INSERT INTO media (id, owner_id, width, height, created_at) VALUES ($1, $2, 1, 1, 0)",
        [(media_id, owner) for media_id in ids],
    )
    return ids


async def _slot_position(db: asyncpg.Connection) -> int:
    lsn = await db.fetchval(
        "SELECT confirmed_flush_lsn - '0/0'::pg_lsn FROM pg_replication_slots WHERE slot_name = $1",
        SLOT,
    )
    return int(lsn or 0)


async def _caught_up(stack: Stack, cache: MemcachedLeaseCache, db: asyncpg.Connection) -> None:
    """Write a probe change and wait for its eviction: all before it is done.
    The probe is repeated, since one written before the slot existed (the
    invalidator creates it at start) is never streamed."""
    probe = keys.user_key(1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await cache.set(probe, b"probe", 300)
        await db.execute(
            "INSERT INTO users (id, username, password_hash, created_at)"
            " VALUES (1, 'probe', 'x', 0) ON CONFLICT (id) DO UPDATE SET bio = users.bio || '.'"
        )
        for _ in range(100):
            if await cache.get(probe) is None:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the invalidator never caught up")


async def test_each_changed_row_evicts_its_keys(stack: Stack) -> None:
    invalidator = Invalidator(stack, "rows")
    cache = MemcachedLeaseCache(MemcachedPool([stack.memcached.endpoint]))
    db = await _connect(stack)
    try:
        await _caught_up(stack, cache, db)
        (media_id,) = await _seed_media(db, 10_000, 1)
        await db.execute(
            "INSERT INTO users (id, username, password_hash, created_at)"
            " VALUES (10100, 'fan', 'x', 0)"
        )
        await _caught_up(stack, cache, db)
        watched = {
            keys.media_key(media_id): "UPDATE media SET like_count = like_count + 1 WHERE id = $1",
            keys.liked_key(10100, media_id): "INSERT INTO likes (id, media_id, user_id,"
            " created_at) VALUES (1, $1, 10100, 0)",
        }
        for key, sql in watched.items():
            await cache.set(key, b"stale", 300)
            await db.execute(sql, media_id)

            async def gone(key: str = key) -> bool:
                return await cache.get(key) is None

            await _eventually(gone)
        # A delete names its keys through the whole old row (replica identity).
        await cache.set(keys.liked_key(10100, media_id), b"stale", 300)
        await db.execute("DELETE FROM likes WHERE id = 1")

        async def like_gone() -> bool:
            return await cache.get(keys.liked_key(10100, media_id)) is None

        await _eventually(like_gone)

        # The periodic line comes every LOG_EVERY_S (1 s) of the daemon's
        # run; a fast machine gets here sooner, so wait for it rather than
        # assume the test took that long.
        async def logged_periodically() -> bool:
            return "transactions=" in invalidator.log()

        await _eventually(logged_periodically)
    finally:
        await db.close()
        await cache.close()
        assert invalidator.terminate() == 0
    log = invalidator.log()
    assert "invalidator starting" in log and "invalidator stopped" in log
    assert "transactions=" in log  # the periodic line


async def test_kill_9_mid_stream_loses_no_invalidation(stack: Stack) -> None:
    cache = MemcachedLeaseCache(MemcachedPool([stack.memcached.endpoint]))
    db = await _connect(stack)
    first = Invalidator(stack, "before-crash")
    try:
        ids = await _seed_media(db, 20_000, 1000)
        await _caught_up(stack, cache, db)
        for media_id in ids:
            await cache.set(keys.media_key(media_id), b"stale", 300)
        writer = asyncio.create_task(
            _update_each(db, ids)  # 1,000 transactions
        )
        await asyncio.sleep(0.05)
        first.kill()  # SIGKILL while the stream is flowing
        await writer
        second = Invalidator(stack, "after-crash")
        second.wait_started()
        try:

            async def all_gone() -> bool:
                found = await asyncio.gather(*(cache.get(keys.media_key(i)) for i in ids))
                return all(value is None for value in found)

            await _eventually(all_gone, timeout=60)
        finally:
            assert second.terminate() == 0
    finally:
        await db.close()
        await cache.close()


async def _update_each(db: asyncpg.Connection, ids: list[int]) -> None:
    for media_id in ids:
        await db.execute("UPDATE media SET caption = 'edited' WHERE id = $1", media_id)


async def test_memcached_down_holds_the_slot_until_deletes_land(stack: Stack) -> None:
    invalidator = Invalidator(stack, "outage")
    cache = MemcachedLeaseCache(MemcachedPool([stack.memcached.endpoint]))
    db = await _connect(stack)
    try:
        (media_id,) = await _seed_media(db, 30_000, 1)
        await _caught_up(stack, cache, db)
        await asyncio.sleep(0.3)
        held = await _slot_position(db)
        stop_memcached(stack.memcached, hard=True)
        for _ in range(20):
            await db.execute("UPDATE media SET like_count = like_count + 1 WHERE id = $1", media_id)
        await asyncio.sleep(2)
        assert await _slot_position(db) == held, "slot moved past unacknowledged deletes"
        stack.memcached = start_memcached(port=stack.memcached.port)
        await cache.close()
        cache = MemcachedLeaseCache(MemcachedPool([stack.memcached.endpoint]))

        async def advanced() -> bool:
            return await _slot_position(db) > held

        await _eventually(advanced, timeout=30)
        assert "deletes not acknowledged" in invalidator.log()
    finally:
        await db.close()
        await cache.close()
        assert invalidator.terminate() == 0


def test_the_writer_reads_its_own_write_without_waiting_for_the_invalidator(
    stack: Stack, tmp_path: Path
) -> None:
    """No invalidator runs here: the writer's own post-commit delete is what
    keeps its next read (and everyone's, memcached being shared) fresh."""
    env = {k: v for k, v in stack.env.items() if k.startswith("GRAMSTACK_")}
    server = start_server(tmp_path / "server", env=env, workers=2)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:

            def signup(name: str) -> dict[str, str]:
                response = client.post(
                    "/api/v1/accounts", json={"username": name, "password": "password1"}
                )
                assert response.status_code == 201, response.text
                return {"Authorization": f"Bearer {response.json()['token']}"}

            ana, bo = signup("ryw_ana"), signup("ryw_bo")
            picture = tmp_path / "p.png"
            Image.new("RGB", (40, 30), "red").save(picture)
            with open(picture, "rb") as fh:
                posted = client.post("/api/v1/media", headers=ana, files={"file": fh})
            assert posted.status_code == 201, posted.text
            media = f"/api/v1/media/{posted.json()['id']}"
            for _ in range(3):  # warm the shared cache from both sides
                assert client.get(media).json()["like_count"] == 0
                assert client.get(media, headers=ana).json()["like_count"] == 0
            for expected in range(1, 4):
                who = bo if expected % 2 else ana
                if expected == 3:
                    who = signup("ryw_cy")
                assert client.put(f"{media}/like", headers=who).json()["like_count"] == expected
                mine = client.get(media, headers=who).json()
                assert (mine["like_count"], mine["liked_by_me"]) == (expected, True)
                assert client.get(media).json()["like_count"] == expected
    finally:
        assert server.stop() == 0, server.log()


def _gauge(stack: Stack, name: str) -> float | None:
    port = stack.env["GRAMSTACK_INVALIDATOR_METRICS_PORT"]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


async def _terminate_invalidator_connections(stack: Stack) -> int:
    """What an operator's ``pg_terminate_backend`` does: every backend but
    ours, the slot's walsender and the lag watcher's session among them."""
    admin = await asyncpg.connect(stack.cluster.superuser_dsn(stack.cluster.leader))
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND datname = 'gramstack'"
                " AND backend_type IN ('client backend', 'walsender')"
            )
        )
    finally:
        await admin.close()


async def test_the_invalidator_survives_terminated_connections_and_its_gauge_stays_true(
    stack: Stack,
) -> None:
    stack.env["GRAMSTACK_INVALIDATOR_SLOT_LAG_EVERY_S"] = "0.2"
    invalidator = Invalidator(stack, "terminated")
    cache = MemcachedLeaseCache(MemcachedPool([stack.memcached.endpoint]))
    try:
        invalidator.wait_started()
        for _ in range(3):
            assert await _terminate_invalidator_connections(stack) >= 1
            await asyncio.sleep(0.5)
            db = await _connect(stack)
            try:
                # The stream came back: evictions happen again.
                await _caught_up(stack, cache, db)
                await asyncio.sleep(1.0)  # idle: the slot's lag holds still

                async def gauge_true(db: asyncpg.Connection = db) -> bool:
                    truth = await db.fetchval(
                        "SELECT pg_current_wal_lsn() - confirmed_flush_lsn"
                        " FROM pg_replication_slots WHERE slot_name = $1",
                        SLOT,
                    )
                    shown = await asyncio.to_thread(
                        _gauge, stack, "gramstack_invalidator_slot_lag_bytes"
                    )
                    return shown is not None and shown == float(truth)

                await _eventually(gauge_true, timeout=15)
            finally:
                await db.close()
        assert invalidator.process.poll() is None
        # The periodic line shows the lag again after stream reconnects.
        await asyncio.sleep(1.5)
        tail = invalidator.log().rsplit("reconnecting", 1)[-1]
        assert "slot_lag_bytes=" in tail and "slot_lag_bytes=-" not in tail, invalidator.log()
    finally:
        stack.env.pop("GRAMSTACK_INVALIDATOR_SLOT_LAG_EVERY_S", None)
        await cache.close()
        assert invalidator.terminate() == 0, invalidator.log()
