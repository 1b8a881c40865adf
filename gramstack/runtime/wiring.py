"""The one function that turns settings into backends.

Everything the app runs on is chosen here from :class:`Settings`; the
domain only ever sees the resulting :class:`Backends`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memcached_pool import MemcachedPool
from gramstack.cache.memory import InProcessLeaseCache
from gramstack.cache.null import NullLeaseCache
from gramstack.cache.ports import LeaseCache
from gramstack.domain.backends import Backends, Limits
from gramstack.domain.fanout import run_job
from gramstack.domain.ids import MAX_SHARD, IdGenerator
from gramstack.domain.passwords import Passwords
from gramstack.invalidation import evict_after_commit
from gramstack.invalidation.outbox import (
    OutboxReader,
    OutboxSyncedCache,
    OutboxTailer,
    prune_forever,
)
from gramstack.jobs.worker import JobWorker
from gramstack.media.blobs import FilesystemBlobStore
from gramstack.media.images import process_image
from gramstack.placement.home import HomeRegionPlacement
from gramstack.regional.ports import RegionalStore
from gramstack.regional.sql import SqlRegionalStore
from gramstack.runtime.config import Settings
from gramstack.runtime.shared import SharedMaxTable
from gramstack.runtime.write_marks import SharedWriteMarks
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.router import FollowerRouter

# Re-exported for the API's test-mode read-node header: the API reaches the
# router's record of which nodes served a request through the wiring only.
from gramstack.storage.router import read_nodes as read_nodes
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore

log = logging.getLogger("gramstack.wiring")

SHARD_LEASE_MS = 10 * 60 * 1000


def _cache(settings: Settings) -> LeaseCache:
    if settings.cache_backend == "none":
        return NullLeaseCache()
    if settings.cache_backend == "memcached":
        return memcached_lease_cache(settings)
    return InProcessLeaseCache(
        settings.cache_max_bytes, lease_s=settings.cache_lease_s, leases=settings.cache_leases
    )


def memcached_lease_cache(settings: Settings) -> MemcachedLeaseCache:
    """The memcached lease cache over the servers the settings name; the
    server and the invalidator must agree on it (same ring, same lease
    time), so both build it here. Without ``memcached_servers``, the home
    region's pool (``region_memcached``)."""
    settings = settings.with_home_memcached()
    pool = MemcachedPool(
        settings.memcached_servers,
        settings.memcached_gutter_servers,
        timeout_s=settings.memcached_timeout_s,
    )
    return MemcachedLeaseCache(pool, lease_s=settings.cache_lease_s, leases=settings.cache_leases)


async def _keep_cache_current(
    settings: Settings, primary: Database, cache: LeaseCache
) -> tuple[LeaseCache, asyncio.Task[None], Callable[[int], None] | None]:
    """The cache the use cases get, and the task that keeps it current.

    An in-process cache is this worker's alone: it tails the outbox (and
    reads it before each request's first cached read, so a write made
    through another worker is seen). memcached is shared, so the writer's
    own deletes are enough here; the outbox is only pruned.

    The third value, for in-process caches, is told each committed outbox ID
    so that the workers of this server skip the outbox query while nothing
    new was committed.
    """
    reader = OutboxReader(primary)
    if isinstance(cache, InProcessLeaseCache):
        tailer = OutboxTailer(
            reader,
            cache,
            poll_s=settings.outbox_poll_s,
            retention_s=settings.outbox_retention_s,
        )
        await tailer.start()
        head = SharedMaxTable(settings.data_dir / "run" / "outbox-head.bin", slots=1)
        synced = OutboxSyncedCache(cache, tailer, committed_head=lambda: head.get(0))
        return synced, asyncio.create_task(tailer.run()), lambda i: head.raise_to(0, i)
    task = asyncio.create_task(prune_forever(reader, settings.outbox_retention_s))
    return cache, task, None


def _postgres(
    settings: Settings, dsn: str, name: str, *, bounded: bool, **pool: int
) -> PostgresDatabase:
    return PostgresDatabase(
        dsn,
        name=name,
        command_timeout_s=settings.db_command_timeout_s if bounded else None,
        statement_timeout_s=settings.db_statement_timeout_s if bounded else None,
        unresponsive_after_s=settings.db_unresponsive_after_s if bounded else None,
        **pool,
    )


async def _open_primary(
    settings: Settings, cache: LeaseCache | None = None, *, bounded: bool = True
) -> Database:
    """SQLite by default; PostgreSQL when ``database_url`` is set, behind a
    FollowerRouter when there are followers (and a cache for the write
    positions; migrations go to the leader alone). ``bounded``: every call
    within the settings' timeouts (serving), or as long as it takes
    (``gramstack migrate``)."""
    if not settings.database_url:
        primary = SqliteDatabase(settings.sqlite_path)
        await primary.open()
        return primary
    leader = _postgres(settings, settings.database_url, "leader", bounded=bounded)
    await leader.open()
    followers = settings.follower_urls
    if not followers or cache is None:
        return leader
    try:
        table = SharedMaxTable(
            settings.data_dir / "run" / f"write-lsn-{await leader.system_identifier()}.bin"
        )
        router = FollowerRouter(
            leader,
            # min_size 0: a follower that is down must not stop the start.
            {
                region: _postgres(settings, dsn, f"follower:{region}", bounded=bounded, min_size=0)
                for region, dsn in followers.items()
            },
            home_region=settings.region,
            marks=SharedWriteMarks(table, cache, ttl_s=int(settings.max_follower_lag_s * 2) + 5),
            max_lag_s=settings.max_follower_lag_s,
            refresh_s=settings.follower_poll_s,
        )
        await router.open()
    except BaseException:
        await leader.close()
        raise
    return router


async def _open_regions(settings: Settings) -> dict[str, RegionalStore]:
    region_db = SqliteDatabase(settings.regional_dir / f"{settings.region}.db", readers=2)
    await region_db.open()
    region = SqlRegionalStore(settings.region, region_db)
    await region.create_schema()
    return {settings.region: region}


@dataclass
class Running:
    backends: Backends
    jobs: JobWorker | None = None  # None when this process runs no jobs


async def _keep_shard_lease(b: Backends, shard: int, owner: str) -> None:
    while True:
        await asyncio.sleep(SHARD_LEASE_MS / 3000)
        try:
            held = await b.store.leases.renew_id_shard(shard, owner, b.clock_ms(), SHARD_LEASE_MS)
        except Exception:
            log.exception("could not renew ID shard %s", shard)
            continue
        if not held:
            # Someone else took the shard: minting more IDs could collide.
            log.error("lost the lease on ID shard %s; refusing to mint IDs", shard)
            b.ids = None
            return


async def migrate_primary(settings: Settings) -> list[str]:
    primary = await _open_primary(settings, bounded=False)
    try:
        return await migrate(primary)
    finally:
        await primary.close()


@contextlib.asynccontextmanager
async def open_backends(
    settings: Settings, *, run_jobs: bool | None = None
) -> AsyncIterator[Running]:
    """Open every backend for this process, and close them all on exit.
    ``run_jobs``: run a job worker here (default ``run_jobs_in_server``;
    ``gramstack worker`` passes True)."""
    cache = _cache(settings)
    primary = await _open_primary(settings, cache)
    await migrate(primary)
    regions = await _open_regions(settings)
    cache, cache_task, on_outbox = await _keep_cache_current(settings, primary, cache)

    backends = Backends(
        store=PrimaryStore(
            primary,
            on_commit=evict_after_commit(cache),
            outbox=settings.cache_backend == "memory",
            on_outbox=on_outbox,
        ),
        regions=regions,
        placement=HomeRegionPlacement(settings.region),
        cache=cache,
        blobs=FilesystemBlobStore(settings.blob_dir),
        process_image=functools.partial(process_image, max_pixels=settings.max_image_pixels),
        passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        limits=Limits(
            max_upload_bytes=settings.max_upload_bytes,
            max_image_pixels=settings.max_image_pixels,
            cache_ttl_s=settings.cache_ttl_s,
            fanout_pull_threshold=settings.fanout_pull_threshold,
        ),
    )
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    shard = await backends.store.leases.lease_id_shard(
        owner, backends.clock_ms(), SHARD_LEASE_MS, MAX_SHARD + 1
    )
    backends.ids = IdGenerator(shard)
    if run_jobs is None:
        run_jobs = settings.run_jobs_in_server
    worker = None
    if run_jobs:
        claim_ms = int(settings.job_claim_s * 1000)
        worker = JobWorker(backends, run_job, settings.job_poll_interval_s, claim_ms)
    lease_task = asyncio.create_task(_keep_shard_lease(backends, shard, owner))
    worker_task = asyncio.create_task(worker.run() if worker else asyncio.Event().wait())
    log.info("backends open: %s id_shard=%s jobs=%s", settings.describe(), shard, run_jobs)
    try:
        yield Running(backends, worker)
    finally:
        lease_task.cancel()
        cache_task.cancel()
        if worker is not None:
            worker.stop()
            # Let a running job finish; it is safe to cut off, just slower.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(worker_task), 5)
        worker_task.cancel()
        await asyncio.gather(lease_task, cache_task, worker_task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await backends.store.leases.release_id_shard(shard, owner)
        await backends.cache.close()
        for region in regions.values():
            await region.close()
        await primary.close()
        log.info("backends closed id_shard=%s", shard)
