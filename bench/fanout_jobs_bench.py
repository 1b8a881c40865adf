"""Fan-out through the job queue, and the feed with pull, on the real code.

Two measurements, one run each, on SQLite files (the embedded default) and,
unless ``--sqlite-only``, a throwaway PostgreSQL leader for the primary
store:

1. Fan-out time for an author with N followers (1 K, 10 K, 100 K): one
   ``fanout_media`` job enqueued, then the queue drained by a real
   ``JobWorker`` running ``domain.fanout.run_job`` (claim, follower batch,
   one insert per region and batch, next batch enqueued, complete), with
   the followers placed alternately in two regions (``us``, ``eu``), each a
   regional store of its own. Goal: time linear in N (constant per follower).
2. Feed latency (``domain.feed.home_feed``, first page of 20, warm
   in-process lease cache) for a reader who follows 20 fanned-out accounts,
   against one who also follows an account above ``fanout_pull_threshold``
   whose posts are merged at read time.

    .venv/bin/python -m bench.fanout_jobs_bench [--sizes 1000,10000,100000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.fanout_bench import AUTHOR, FIRST_FOLLOWER, _insert_follows
from gramstack.cache.memory import InProcessLeaseCache
from gramstack.domain import jobs
from gramstack.domain.backends import Backends, Limits
from gramstack.domain.fanout import FANOUT_BATCH, run_job
from gramstack.domain.feed import home_feed
from gramstack.domain.ids import IdGenerator
from gramstack.domain.models import PageRequest
from gramstack.domain.passwords import Passwords
from gramstack.jobs.worker import JobWorker
from gramstack.media.blobs import FilesystemBlobStore
from gramstack.media.images import process_image
from gramstack.regional.sql import SqlRegionalStore
from gramstack.runtime import devcluster
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore

REGIONS = ("us", "eu")
THRESHOLD = 10_000
READER_NORMAL, READER_PULLED, STAR = 50, 51, 52
NORMAL_AUTHORS = range(100, 120)
POSTS_EACH = 10
FEED_READS = 400


@dataclass
class FanoutResult:
    backend: str
    followers: int
    jobs: int
    seconds: float
    us_per_follower: float


@dataclass
class FeedResult:
    backend: str
    reader: str  # normal | pulled
    p50_ms: float
    p99_ms: float


class _AlternatingPlacement:
    """Followers placed in ``us`` and ``eu`` by parity, as if Akkio had."""

    async def region_of(self, user_id: int) -> str:
        return REGIONS[user_id % 2]


async def _backends(db: Database, scratch: Path, threshold: int) -> Backends:
    regions: dict[str, SqlRegionalStore] = {}
    for region in REGIONS:
        regional_db = SqliteDatabase(scratch / f"{region}.db", readers=2)
        await regional_db.open()
        regions[region] = SqlRegionalStore(region, regional_db)
        await regions[region].create_schema()
    b = Backends(
        store=PrimaryStore(db, outbox=False),
        regions=regions,
        placement=_AlternatingPlacement(),
        cache=InProcessLeaseCache(64 * 1024 * 1024),
        blobs=FilesystemBlobStore(scratch / "media"),
        process_image=process_image,
        passwords=Passwords(1, 1024),
        limits=Limits(fanout_pull_threshold=threshold),
    )
    b.ids = IdGenerator(1)
    return b


async def _user(db: Database, user_id: int, followers: int) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO users (id, username, password_hash, created_at, follower_count)"
            " VALUES ($1, $2, 'x', 0, $3)"
            " ON CONFLICT (id) DO UPDATE SET follower_count = excluded.follower_count",
            user_id,
            f"user{user_id}",
            followers,
        )


async def _fanout(backend: str, b: Backends, db: Database, count: int) -> FanoutResult:
    async with db.write() as conn:
        await conn.execute("DELETE FROM follows WHERE followee_id = $1", AUTHOR)
    await _insert_follows(db, AUTHOR, count, 0)
    await _user(db, AUTHOR, count)
    worker = JobWorker(b, run_job, poll_interval_s=0.01)
    media_id = b.next_id()
    began = time.perf_counter()
    await b.store.queue.enqueue([jobs.fanout_media(b.next_id(), media_id, AUTHOR)], b.clock_ms())
    ran = 0
    while await worker.run_once():
        ran += 1
    seconds = time.perf_counter() - began
    # Every follower got it, in their own region.
    for follower in (FIRST_FOLLOWER + 1, FIRST_FOLLOWER + count):
        region = b.regions[await b.placement.region_of(follower)]
        assert (await region.timeline_page(follower, None, 1)) == [media_id], follower
    result = FanoutResult(backend, count, ran, round(seconds, 4), round(seconds / count * 1e6, 2))
    print(
        f"{backend:8} fan-out {count:>7} followers: {ran:>4} jobs  {seconds:8.3f} s"
        f"  ({result.us_per_follower:6.2f} µs/follower)",
        flush=True,
    )
    return result


async def _seed_feed(b: Backends, db: Database) -> None:
    """20 authors with 10 posts each, fanned out to both readers; a star
    above the threshold with 50 posts, followed by the second reader only."""
    for user_id in (READER_NORMAL, READER_PULLED):
        await _user(db, user_id, 0)
    for author in NORMAL_AUTHORS:
        await _user(db, author, 2)
    await _user(db, STAR, THRESHOLD + 1)
    follow_id = 10**12
    posts: list[tuple[int, int]] = []
    for author in [*NORMAL_AUTHORS, STAR]:
        for _ in range(50 if author == STAR else POSTS_EACH):
            posts.append((b.next_id(), author))
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO media (id, owner_id, width, height, created_at) VALUES ($1, $2, 1, 1, 0)",
            posts,
        )
        for reader in (READER_NORMAL, READER_PULLED):
            for author in [*NORMAL_AUTHORS, *([STAR] if reader == READER_PULLED else [])]:
                follow_id += 1
                await conn.execute(
                    "INSERT INTO follows (id, follower_id, followee_id, created_at)"
                    " VALUES ($1, $2, $3, 0)",
                    follow_id,
                    reader,
                    author,
                )
    for reader in (READER_NORMAL, READER_PULLED):
        region = b.regions[await b.placement.region_of(reader)]
        await region.add_many_to_timeline(reader, [p for p in posts if p[1] != STAR])


async def _feed(backend: str, b: Backends, reader: int, name: str) -> FeedResult:
    page = PageRequest(limit=20, after=None)
    first = await home_feed(b, reader, page)  # warms the cache
    authors = {item.owner.id for item in first.items}
    assert (STAR in authors) == (name == "pulled"), authors
    samples: list[float] = []
    for _ in range(FEED_READS):
        began = time.perf_counter()
        await home_feed(b, reader, page)
        samples.append(time.perf_counter() - began)
    samples.sort()
    p50 = statistics.median(samples) * 1000
    p99 = samples[int(len(samples) * 0.99) - 1] * 1000
    print(f"{backend:8} feed ({name:6} reader): p50 {p50:6.2f} ms  p99 {p99:6.2f} ms", flush=True)
    return FeedResult(backend, name, round(p50, 3), round(p99, 3))


async def _run(
    backend: str, db: Database, scratch: Path, sizes: list[int]
) -> tuple[list[FanoutResult], list[FeedResult]]:
    await migrate(db)
    scratch.mkdir(parents=True, exist_ok=True)
    b = await _backends(db, scratch, threshold=max(sizes) + 1)
    try:
        fanouts = [await _fanout(backend, b, db, count) for count in sizes]
        b.limits.fanout_pull_threshold = THRESHOLD
        await _seed_feed(b, db)
        feeds = [
            await _feed(backend, b, READER_NORMAL, "normal"),
            await _feed(backend, b, READER_PULLED, "pulled"),
        ]
        return fanouts, feeds
    finally:
        for region in b.regions.values():
            await region.close()


async def _sqlite(scratch: Path, sizes: list[int]) -> tuple[list[FanoutResult], list[FeedResult]]:
    db = SqliteDatabase(scratch / "sqlite" / "primary.db", readers=2)
    (scratch / "sqlite").mkdir()
    await db.open()
    try:
        return await _run("sqlite", db, scratch / "sqlite", sizes)
    finally:
        await db.close()


async def _postgres(
    cluster: devcluster.ClusterState, scratch: Path, sizes: list[int]
) -> tuple[list[FanoutResult], list[FeedResult]]:
    db = PostgresDatabase(cluster.database_url, min_size=1, max_size=4)
    await db.open()
    try:
        return await _run("postgres", db, scratch / "postgres-regions", sizes)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="gramstack-fanout-jobs-"))
    scratch.chmod(0o755)  # the PostgreSQL servers run as their own user
    fanouts: list[FanoutResult] = []
    feeds: list[FeedResult] = []
    try:
        f, r = asyncio.run(_sqlite(scratch, sizes))
        fanouts += f
        feeds += r
        if not args.sqlite_only:
            cluster = devcluster.up(scratch / "pg", followers=0)
            try:
                f, r = asyncio.run(_postgres(cluster, scratch, sizes))
                fanouts += f
                feeds += r
            finally:
                devcluster.down(Path(cluster.directory))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"(batches of {FANOUT_BATCH} followers per job)")
    if args.json:
        document = {"fanout": [asdict(x) for x in fanouts], "feed": [asdict(x) for x in feeds]}
        args.json.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
