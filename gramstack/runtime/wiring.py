"""The one function that turns settings into backends.

Everything the app runs on is chosen here from :class:`Settings`; the
domain only ever sees the resulting :class:`Backends`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memcached_pool import MemcachedPool
from gramstack.cache.memory import InProcessLeaseCache
from gramstack.cache.null import NullLeaseCache
from gramstack.cache.ports import LeaseCache
from gramstack.domain.backends import Backends, Limits
from gramstack.domain.fanout import run_job
from gramstack.domain.ids import MAX_SHARD, IdGenerator
from gramstack.domain.passwords import Passwords
from gramstack.domain.placement import flush_reads
from gramstack.invalidation import evict_after_commit
from gramstack.invalidation.outbox import (
    OutboxReader,
    OutboxSyncedCache,
    OutboxTailer,
    prune_forever,
)
from gramstack.jobs.worker import JobWorker
from gramstack.media.blobs import FilesystemBlobStore
from gramstack.media.images import process_avatar, process_image
from gramstack.placement.client import AkkioPlacement
from gramstack.placement.policy import PlacementPolicy
from gramstack.placement.shared_cache import SharedLocationCache
from gramstack.regional.ports import RegionalStore
from gramstack.regional.sql import SqlRegionalStore
from gramstack.runtime.config import Settings
from gramstack.runtime.shared import SharedMaxTable
from gramstack.runtime.wan import across_wan
from gramstack.runtime.write_marks import FreshFillCache, SharedKeyMarks, SharedWriteMarks
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.router import FollowerRouter

# Re-exported for the API's test-mode read-node header: the API reaches the
# router's record of which nodes served a request through the wiring only.
from gramstack.storage.router import read_nodes as read_nodes
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore
from gramstack.webhooks.breaker import CircuitBreaker
from gramstack.webhooks.sender import HttpWebhookSender, tls_context

log = logging.getLogger("gramstack.wiring")

SHARD_LEASE_MS = 10 * 60 * 1000

T = TypeVar("T")


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
    settings: Settings, primary: Database, cache: LeaseCache, marks: SharedKeyMarks | None
) -> tuple[LeaseCache, asyncio.Task[None], Callable[[int], None] | None]:
    """The cache the use cases get, and the task that keeps it current.

    An in-process cache is this worker's alone: it tails the outbox (and
    reads it before each request's first cached read, so a write made
    through another worker is seen). memcached is shared, so the writer's
    own deletes are enough here; the outbox is only pruned.

    The third value, for in-process caches, is told each committed outbox ID
    so that the workers of this server skip the outbox query while nothing
    new was committed.

    With followers (``marks``), the tailer marks what it evicts and the
    cache's fills honour the marks (runtime/write_marks.py).
    """
    reader = OutboxReader(primary)
    if isinstance(cache, InProcessLeaseCache):
        tailer = OutboxTailer(
            reader,
            cache,
            poll_s=settings.outbox_poll_s,
            retention_s=settings.outbox_retention_s,
            mark=None if marks is None else marks.mark,
        )
        await tailer.start()
        head = SharedMaxTable(settings.data_dir / "run" / "outbox-head.bin", slots=1)
        synced: LeaseCache = OutboxSyncedCache(cache, tailer, committed_head=head.reader(0))
        if marks is not None:
            synced = FreshFillCache(synced, marks)
        return synced, asyncio.create_task(tailer.run()), lambda i: head.raise_to(0, i)
    task = asyncio.create_task(prune_forever(reader, settings.outbox_retention_s))
    if marks is None or isinstance(cache, NullLeaseCache):
        # No cache, no fill to outlive a write: reads see what their node has.
        return cache, task, None
    shared = cache if isinstance(cache, MemcachedLeaseCache) else None
    return FreshFillCache(cache, marks, shared, mark_ttl_s(settings)), task, None


def mark_ttl_s(settings: Settings) -> int:
    """How long a write mark is kept in a shared cache: past it, a follower
    still behind the write lags more than ``max_follower_lag_s`` and is
    skipped (with a margin for the router's polls)."""
    return int(settings.max_follower_lag_s * 2) + 5


async def _key_marks(settings: Settings, primary: Database) -> SharedKeyMarks | None:
    """The write marks of cache keys, when reads may come from followers."""
    if not isinstance(primary, FollowerRouter):
        return None
    sysid = await primary.leader.system_identifier()
    return SharedKeyMarks(SharedMaxTable(settings.data_dir / "run" / f"key-lsn-{sysid}.bin"))


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
            marks=SharedWriteMarks(table, cache, ttl_s=mark_ttl_s(settings)),
            max_lag_s=settings.max_follower_lag_s,
            refresh_s=settings.follower_poll_s,
        )
        await router.open()
    except BaseException:
        await leader.close()
        raise
    return router


async def _open_region(settings: Settings, region: str) -> SqlRegionalStore:
    db: Database
    dsn = settings.regional_urls.get(region)
    if dsn:
        db = await _open_regional_cluster(settings, region, dsn)
    else:
        db = SqliteDatabase(settings.regional_dir / f"{region}.db", readers=2)
        await db.open()
    store = SqlRegionalStore(region, db)
    try:
        await store.create_schema()
    except BaseException:
        await store.close()
        raise
    return store


async def _open_regional_cluster(settings: Settings, region: str, dsn: str) -> Database:
    """The region's own PostgreSQL cluster: writes on its leader, page reads
    on its follower once it has caught up with the reader's own last write
    there (the same router as the primary's; its write marks stay in this
    host's shared table, since the lease cache's keys name primary positions).
    A move's copy reads the leader (``fresh``)."""
    leader = _postgres(settings, dsn, f"regional:{region}", bounded=True)
    await leader.open()
    follower_dsn = settings.regional_follower_urls.get(region)
    if not follower_dsn:
        return leader
    try:
        table = SharedMaxTable(
            settings.data_dir
            / "run"
            / f"regional-lsn-{region}-{await leader.system_identifier()}.bin"
        )
        router = FollowerRouter(
            leader,
            {
                region: _postgres(
                    settings, follower_dsn, f"regional-follower:{region}", bounded=True, min_size=0
                )
            },
            home_region=region,
            marks=SharedWriteMarks(table, NullLeaseCache(), ttl_s=1),
            max_lag_s=settings.max_follower_lag_s,
            refresh_s=settings.follower_poll_s,
        )
        await router.open()
    except BaseException:
        await leader.close()
        raise
    return router


async def _open_regions(settings: Settings) -> dict[str, SqlRegionalStore]:
    """A regional store for every configured region, the home one first."""
    stores: dict[str, SqlRegionalStore] = {}
    try:
        for region in dict.fromkeys((settings.region, *settings.all_regions)):
            stores[region] = await _open_region(settings, region)
    except BaseException:
        for store in stores.values():
            await store.close()
        raise
    return stores


def _as_seen_from(settings: Settings, stores: Mapping[str, T]) -> dict[str, T]:
    """``stores`` as this server reaches them: other regions across the WAN seam."""
    return {
        region: store if region == settings.region else across_wan(store, settings.wan_delay_ms)
        for region, store in stores.items()
    }


def _placement(
    settings: Settings, store: PrimaryStore, regions: Mapping[str, RegionalStore]
) -> AkkioPlacement[RegionalStore]:
    # One cache file per primary database and region list: every worker
    # process of this host that serves the same deployment maps the same one.
    deployment = hashlib.blake2b(
        f"{settings.database_url or settings.sqlite_path.resolve()}|{','.join(regions)}".encode(),
        digest_size=8,
    ).hexdigest()
    return AkkioPlacement(
        home=settings.region,
        stores=regions,
        locations=store.placement,
        cache=SharedLocationCache(settings.data_dir / "run" / f"placement-{deployment}.bin"),
        cache_ttl_s=settings.placement_cache_ttl_s,
        policy=PlacementPolicy(
            threshold=settings.placement_threshold,
            window_s=settings.placement_window_s,
            min_reads=settings.placement_min_reads,
            cooldown_s=settings.placement_cooldown_s,
        ),
    )


async def _flush_reads_forever(b: Backends, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            moves = await flush_reads(b)
        except Exception:
            log.exception("could not flush the placement read counters")
            continue
        for user_id, region in moves:
            log.info("placement: moving user %s to %s", user_id, region)


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


def build_read_mostly() -> None:
    """Build now what every process's backends would otherwise each build
    alike and then only read (the webhook client's TLS context). The app
    calls this as it is built: in the prefork master, so that its workers
    share one copy."""
    tls_context()


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
    opened = await _open_regions(settings)
    regions: dict[str, RegionalStore] = _as_seen_from(settings, opened)
    marks = await _key_marks(settings, primary)
    cache, cache_task, on_outbox = await _keep_cache_current(settings, primary, cache, marks)
    store = PrimaryStore(
        primary,
        on_commit=evict_after_commit(
            cache, cache.mark_written if isinstance(cache, FreshFillCache) else None
        ),
        outbox=settings.cache_backend == "memory",
        on_outbox=on_outbox,
    )
    placement = _placement(settings, store, regions)

    backends = Backends(
        store=store,
        regions=regions,
        placement=placement,
        cache=cache,
        blobs=FilesystemBlobStore(settings.blob_dir),
        process_image=functools.partial(process_image, max_pixels=settings.max_image_pixels),
        process_avatar=functools.partial(process_avatar, max_pixels=settings.max_image_pixels),
        passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        limits=Limits(
            max_upload_bytes=settings.max_upload_bytes,
            max_image_pixels=settings.max_image_pixels,
            cache_ttl_s=settings.cache_ttl_s,
            explore_refresh_s=settings.explore_refresh_s,
            fanout_pull_threshold=settings.fanout_pull_threshold,
            webhook_max_attempts=settings.webhook_max_attempts,
            webhook_backoff_ms=int(settings.webhook_backoff_s * 1000),
            webhook_allow_private=settings.webhook_allow_private,
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
        # One sender (and so one breaker per destination) for the process.
        backends.webhooks = HttpWebhookSender(
            deadline_s=settings.webhook_deadline_s,
            max_in_flight=settings.webhook_max_in_flight,
            breaker=CircuitBreaker(
                settings.webhook_breaker_failures, settings.webhook_breaker_cooldown_s
            ),
            allow_private=settings.webhook_allow_private,
        )
        claim_ms = int(settings.job_claim_s * 1000)
        worker = JobWorker(backends, run_job, settings.job_poll_interval_s, claim_ms)
    lease_task = asyncio.create_task(_keep_shard_lease(backends, shard, owner))
    worker_task = asyncio.create_task(worker.run() if worker else asyncio.Event().wait())
    flush_task = asyncio.create_task(_flush_reads_forever(backends, settings.placement_flush_s))
    log.info("backends open: %s id_shard=%s jobs=%s", settings.describe(), shard, run_jobs)
    try:
        yield Running(backends, worker)
    finally:
        lease_task.cancel()
        cache_task.cancel()
        flush_task.cancel()
        if worker is not None:
            worker.stop()
            # Let a running job finish; it is safe to cut off, just slower.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(worker_task), 5)
        worker_task.cancel()
        await asyncio.gather(
            lease_task, cache_task, worker_task, flush_task, return_exceptions=True
        )
        # The reads counted since the last flush still count.
        with contextlib.suppress(Exception):
            await flush_reads(backends)
        if backends.webhooks is not None:
            await backends.webhooks.close()
        with contextlib.suppress(Exception):
            await backends.store.leases.release_id_shard(shard, owner)
        await backends.cache.close()
        for region in opened.values():
            await region.close()
        placement.close()
        await primary.close()
        log.info("backends closed id_shard=%s", shard)
