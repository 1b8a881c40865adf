"""Invalidation in every region, on the multi-region dev-cluster: one
``gramstack invalidator`` per region, each on its own slot, deleting in its
own region's memcached pool, and never before its region's follower of the
global primary replayed the change."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from gramstack.cache import keys
from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memcached_pool import MemcachedPool
from gramstack.runtime import devcluster
from gramstack.runtime.config import load_settings
from gramstack.runtime.devcluster import ClusterState
from tests.support.server import free_port

REGIONS = ["us", "eu"]
USER = 4242


class Invalidator:
    def __init__(self, cluster: ClusterState, region: str, log_dir: Path) -> None:
        env = {
            **os.environ,
            **cluster.env_for(region),
            # Free ports: other suites' invalidators may hold the defaults.
            "GRAMSTACK_INVALIDATOR_METRICS_PORT": str(free_port()),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log_path = log_dir / f"invalidator-{region}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gramstack.cli", "invalidator"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterState]:
    # Not pytest's tmp_path: the servers run as the postgres user.
    directory = Path(tempfile.mkdtemp(prefix="gramstack-test-reginv-"))
    try:
        state = devcluster.up(directory, regions=REGIONS)
        yield state
    finally:
        devcluster.down(directory)
        shutil.rmtree(directory, ignore_errors=True)


def _pool(cluster: ClusterState, region: str) -> MemcachedLeaseCache:
    settings = load_settings(environ=cluster.env_for(region))
    return MemcachedLeaseCache(MemcachedPool(settings.region_memcached[region]))


@pytest.fixture
async def pools(cluster: ClusterState) -> AsyncIterator[dict[str, MemcachedLeaseCache]]:
    pools = {region: _pool(cluster, region) for region in REGIONS}
    yield pools
    for pool in pools.values():
        await pool.close()


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def _caught_up(db: asyncpg.Connection, pools: dict[str, MemcachedLeaseCache]) -> None:
    """Touch the user until every region's invalidator evicted its key (the
    slots are created when the invalidators start; earlier writes are not
    streamed)."""
    key = keys.user_key(USER)
    deadline = time.monotonic() + 60
    while True:
        for pool in pools.values():
            await pool.set(key, b"probe", 300)
        await db.execute("UPDATE users SET bio = bio || '.' WHERE id = $1", USER)
        for _ in range(100):
            if all([await pool.get(key) is None for pool in pools.values()]):
                return
            await asyncio.sleep(0.01)
        assert time.monotonic() < deadline, "the invalidators never caught up"


async def test_a_region_evicts_only_after_its_follower_replayed(
    cluster: ClusterState, pools: dict[str, MemcachedLeaseCache], tmp_path: Path
) -> None:
    invalidators = {r: Invalidator(cluster, r, tmp_path) for r in REGIONS}
    db = await asyncpg.connect(cluster.database_url)
    eu = await asyncpg.connect(cluster.superuser_dsn(cluster.follower("eu")))
    paused = False
    try:
        await db.execute(
            "INSERT INTO users (id, username, password_hash, created_at)"
            " VALUES ($1, 'regional', 'x', 0) ON CONFLICT (id) DO NOTHING",
            USER,
        )
        await _caught_up(db, pools)

        key = keys.user_key(USER)
        for pool in pools.values():
            await pool.set(key, b"old", 300)
        await eu.execute("SELECT pg_wal_replay_pause()")
        paused = True
        await db.execute("UPDATE users SET bio = 'changed in us' WHERE id = $1", USER)

        async def us_evicted() -> bool:
            return await pools["us"].get(key) is None

        await _eventually(us_evicted)
        # eu's follower has not replayed the change, so eu's pool keeps the
        # value: a refill there would read the old row from that follower.
        for _ in range(20):
            assert await pools["eu"].get(key) == b"old"
            bio = await eu.fetchval("SELECT bio FROM users WHERE id = $1", USER)
            assert bio != "changed in us"
            await asyncio.sleep(0.1)

        await eu.execute("SELECT pg_wal_replay_resume()")
        paused = False

        async def eu_evicted() -> bool:
            return await pools["eu"].get(key) is None

        await _eventually(eu_evicted)
        bio = await eu.fetchval("SELECT bio FROM users WHERE id = $1", USER)
        assert bio == "changed in us"
    finally:
        if paused:
            await eu.execute("SELECT pg_wal_replay_resume()")
        await eu.close()
        await db.close()
        codes = {r: inv.terminate() for r, inv in invalidators.items()}
    for region, invalidator in invalidators.items():
        log = invalidator.log()
        assert codes[region] == 0, log
        assert f"invalidator starting region={region} slot=gramstack_invalidator_{region}" in log
        assert f"waits_for=follower:{region}" in log
        assert f"invalidator stopped region={region}" in log
