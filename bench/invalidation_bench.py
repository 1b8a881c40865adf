"""Invalidation benchmark: how fast and how safely the invalidation service
evicts what PostgreSQL commits.

1. Lag: commit of a change to the acknowledged ``md … I`` of its keys, under
   a write load of ``--rate`` single-row transactions per second.
2. Stale reads: a reader polls one cached media item through the lease
   cache while a writer changes it ``--changes`` times; it counts reads that
   returned a value older than one it had already seen (must be 0) and the
   longest time a read returned a value older than the newest commit.

Real PostgreSQL (dev-cluster code, wal_level=logical, wal2json), real
memcached, the daemon of ``gramstack invalidator`` run in this process so its
lag samples can be read. Loopback only, bounded loops.
Run: ``.venv/bin/python -m bench.invalidation_bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gramstack.cache import keys  # noqa: E402
from gramstack.cache.memcached import MemcachedLeaseCache  # noqa: E402
from gramstack.cache.memcached_pool import MemcachedPool  # noqa: E402
from gramstack.invalidation.daemon import InvalidationDaemon  # noqa: E402
from gramstack.invalidation.pg_slot import LogicalSlotReader  # noqa: E402
from gramstack.invalidation.rules import TABLES  # noqa: E402
from gramstack.runtime.devcluster.memcached import start_memcached, stop_memcached  # noqa: E402
from tests.support.postgres import start_cluster, stop_cluster  # noqa: E402

MEDIA = 1000


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def _seed(db: asyncpg.Connection) -> list[int]:
    await db.execute(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'o', 'x', 0)"
    )
    ids = list(range(100, 100 + MEDIA))
    await db.executemany(
        "INSERT INTO media (id, owner_id, width, height, created_at) VALUES ($1, 1, 1, 1, 0)",
        [(i,) for i in ids],
    )
    return ids


async def _write_load(pool: asyncpg.Pool, ids: list[int], rate: int, seconds: float) -> int:
    """``rate`` transactions per second, paced on a schedule, for ``seconds``."""
    total = int(rate * seconds)
    started = time.monotonic()
    sem = asyncio.Semaphore(32)

    async def one(n: int) -> None:
        async with sem:
            await pool.execute(
                "UPDATE media SET like_count = like_count + 1 WHERE id = $1", ids[n % len(ids)]
            )

    tasks = []
    for n in range(total):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return total


async def _lag(dsn: str, cache: MemcachedLeaseCache, rate: int, seconds: float) -> dict[str, Any]:
    db = await asyncpg.connect(dsn)
    ids = await _seed(db)
    reader = LogicalSlotReader(dsn, "bench_lag", TABLES)
    await reader.open()
    daemon = InvalidationDaemon(reader, [cache], log_every_s=3600, lags_kept=int(rate * seconds))
    runner = asyncio.create_task(daemon.run())
    await asyncio.sleep(0.5)
    daemon.lags.clear()
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=32)
    began = time.monotonic()
    written = await _write_load(pool, ids, rate, seconds)
    elapsed = time.monotonic() - began
    deadline = time.monotonic() + 30
    while len(daemon.lags) < written and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    daemon.stop()
    await asyncio.wait_for(runner, 10)
    await reader.close()
    await pool.close()
    await db.execute("SELECT pg_drop_replication_slot('bench_lag')")
    await db.close()
    lags = list(daemon.lags)[:written]
    return {
        "writes": written,
        "writes_per_s": round(written / elapsed, 1),
        "evicted_transactions": len(daemon.lags),
        "lag_p50_ms": round(statistics.median(lags) * 1000, 2),
        "lag_p99_ms": round(_quantile(lags, 0.99) * 1000, 2),
        "lag_max_ms": round(max(lags) * 1000, 2),
    }


async def _stale_reads(dsn: str, cache: MemcachedLeaseCache, changes: int) -> dict[str, Any]:
    db = await asyncpg.connect(dsn)
    reader_db = await asyncpg.connect(dsn)
    media_id = 99
    await db.execute(
        "INSERT INTO media (id, owner_id, width, height, created_at) VALUES ($1, 1, 1, 1, 0)",
        media_id,
    )
    slot = LogicalSlotReader(dsn, "bench_stale", TABLES)
    await slot.open()
    daemon = InvalidationDaemon(slot, [cache], log_every_s=3600)
    runner = asyncio.create_task(daemon.run())
    await asyncio.sleep(0.5)
    key = keys.media_key(media_id)
    committed: list[float] = [time.time()]  # committed[v] = when version v committed
    done = asyncio.Event()

    async def load() -> bytes | None:
        value = await reader_db.fetchval("SELECT like_count FROM media WHERE id = $1", media_id)
        return str(value).encode()

    async def writer() -> None:
        for version in range(1, changes + 1):
            await db.execute("UPDATE media SET like_count = $2 WHERE id = $1", media_id, version)
            committed.append(time.time())
            await asyncio.sleep(0.002)
        done.set()

    reads = regressions = 0
    newest_seen = 0
    longest_stale = 0.0
    task = asyncio.create_task(writer())
    while not done.is_set():
        raw = await cache.get_or_load(key, load, 300)
        now = time.time()
        assert raw is not None
        value = int(raw)
        reads += 1
        if value < newest_seen:
            regressions += 1
        newest_seen = max(newest_seen, value)
        latest = len(committed) - 1
        if value < latest:
            # Stale since the next version committed.
            longest_stale = max(longest_stale, now - committed[value + 1])
    await task
    daemon.stop()
    await asyncio.wait_for(runner, 10)
    await slot.close()
    await db.execute("SELECT pg_drop_replication_slot('bench_stale')")
    await db.close()
    await reader_db.close()
    return {
        "changes": changes,
        "reads": reads,
        "reads_older_than_one_already_seen": regressions,
        "longest_stale_window_ms": round(longest_stale * 1000, 2),
    }


async def _measure(
    dsn: str, address: tuple[str, int], rate: int, seconds: float, changes: int
) -> Any:
    cache = MemcachedLeaseCache(MemcachedPool([address]))
    try:
        return {
            "lag": await _lag(dsn, cache, rate, seconds),
            "stale_reads": await _stale_reads(dsn, cache, changes),
        }
    finally:
        await cache.close()


def _run(rate: int, seconds: float, changes: int) -> dict[str, Any]:
    cluster = start_cluster(followers=0)  # runs its own event loop: not inside ours
    memcached = start_memcached()
    try:
        results: dict[str, Any] = asyncio.run(
            _measure(cluster.database_url, memcached.endpoint, rate, seconds, changes)
        )
        return results
    finally:
        stop_memcached(memcached)
        stop_cluster(cluster)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=500, help="writes per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = _run(args.rate, args.seconds, args.changes)
    lag, stale = results["lag"], results["stale_reads"]
    print(
        f"invalidation lag at {lag['writes_per_s']} writes/s: p50 {lag['lag_p50_ms']} ms,"
        f" p99 {lag['lag_p99_ms']} ms, max {lag['lag_max_ms']} ms"
        f" ({lag['evicted_transactions']}/{lag['writes']} transactions evicted)"
    )
    print(
        f"stale reads over {stale['changes']} changes ({stale['reads']} reads):"
        f" {stale['reads_older_than_one_already_seen']} older than one already seen,"
        f" longest stale window {stale['longest_stale_window_ms']} ms"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
