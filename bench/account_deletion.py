"""Account deletion: time to delete a user with many posts and followers,
and row counts before and after (nothing the account made is left, every
counter equals its rows).

The victim's graph is bulk-seeded with SQL: ``--posts`` posts (each liked
and commented on by others), ``--followers`` followers (each with the
victim's newest posts in their timeline), accounts the victim follows,
likes and comments by the victim on others' posts with their inbox items
(and its comments' mention items for people other than the post's owner).
The timed part is the request's transaction (``accounts.delete_account``)
and the deletion job run to completion, batch by batch, as a worker would.

    .venv/bin/python bench/account_deletion.py [--posts 1000] [--followers 10000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gramstack.cache.memory import InProcessLeaseCache
from gramstack.domain import account_deletion, accounts
from gramstack.domain.backends import Backends
from gramstack.domain.ids import IdGenerator
from gramstack.domain.passwords import Passwords
from gramstack.media.blobs import FilesystemBlobStore
from gramstack.media.ports import ProcessedImage
from gramstack.placement.client import AkkioPlacement
from gramstack.placement.policy import PlacementPolicy
from gramstack.placement.shared_cache import SharedLocationCache
from gramstack.records import ActivityRecord
from gramstack.regional.sql import SqlRegionalStore
from gramstack.runtime import devcluster
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore

PASSWORD = "correct horse battery"
VICTIM = 10_000_000
OTHERS = 20_000_000  # IDs of other users start here
REGION = "local"


@dataclass
class Rig:
    b: Backends
    db: Database
    region: SqlRegionalStore
    blob_root: Path


def _no_images(_: BinaryIO) -> ProcessedImage:
    raise NotImplementedError("the deletion bench uploads nothing")


@asynccontextmanager
async def backends(
    root: Path, dsn: str | None = None, *, other_regions: Sequence[str] = ()
) -> AsyncIterator[Rig]:
    """Every port the deletion touches, real: SQLite or PostgreSQL primary,
    a SQLite regional store (``REGION``, home, and one per ``other_regions``),
    files for blobs, the in-process lease cache."""
    primary: Database
    primary = PostgresDatabase(dsn, max_size=4) if dsn else SqliteDatabase(root / "primary.db")
    await primary.open()
    await migrate(primary)
    regions: dict[str, SqlRegionalStore] = {}
    for name in (REGION, *other_regions):
        regional_db = SqliteDatabase(root / f"{name}.db", readers=2)
        await regional_db.open()
        regions[name] = SqlRegionalStore(name, regional_db)
        await regions[name].create_schema()
    region = regions[REGION]
    cache = InProcessLeaseCache(16 * 1024 * 1024)
    store = PrimaryStore(primary)
    placement = AkkioPlacement(
        home=REGION,
        stores=regions,
        locations=store.placement,
        cache=SharedLocationCache(root / "placement.bin"),
        cache_ttl_s=5.0,
        policy=PlacementPolicy(threshold=0.7, window_s=86400.0, min_reads=20.0),
    )
    b = Backends(
        store=store,
        regions=regions,
        placement=placement,
        cache=cache,
        blobs=FilesystemBlobStore(root / "blobs"),
        process_image=_no_images,
        passwords=Passwords(1, 8),
        ids=IdGenerator(7),
    )
    try:
        yield Rig(b, primary, region, root / "blobs")
    finally:
        await cache.close()
        for opened in regions.values():
            await opened.close()
        await primary.close()


async def seed(rig: Rig, *, posts: int, followers: int, others: int = 50) -> int:
    """The victim and its graph; returns the victim's ID. Counters are set
    from the rows at the end, as the write path would have kept them."""
    b, db = rig.b, rig.db
    password_hash = await b.passwords.hash(PASSWORD)
    users = [(VICTIM, "victim", password_hash, "Vic Tim", 1)]
    users += [(OTHERS + i, f"other{i}", password_hash, f"Other {i}", 1) for i in range(others)]
    users += [(OTHERS + others + i, f"fan{i}", password_hash, "", 1) for i in range(followers)]
    victim_media = [VICTIM + 1 + i for i in range(posts)]
    other_media = [OTHERS * 10 + i for i in range(others)]  # one post per other user
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO users (id, username, password_hash, full_name, created_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            users,
        )
        await conn.executemany(
            "INSERT INTO user_words (word, user_id) VALUES ($1, $2)",
            [(u[1], u[0]) for u in users] + [("vic", VICTIM), ("tim", VICTIM)],
        )
        # Placed at home, as sign-up places every account: the job's regional
        # writes then look each follower up rather than placing it first.
        await conn.executemany(
            "INSERT INTO placements (user_id, region, changed_at) VALUES ($1, $2, 1)",
            [(u[0], REGION) for u in users],
        )
        await conn.executemany(
            "INSERT INTO sessions (token_hash, user_id, created_at) VALUES ($1, $2, 1)",
            [(f"t{i}", VICTIM) for i in range(3)],
        )
        await conn.executemany(
            "INSERT INTO media (id, owner_id, caption, width, height, created_at)"
            " VALUES ($1, $2, '', 10, 10, 1)",
            [(m, VICTIM) for m in victim_media]
            + [(m, OTHERS + i) for i, m in enumerate(other_media)],
        )
        follows = [(1_000_000_000 + i, OTHERS + others + i, VICTIM) for i in range(followers)]
        follows += [(2_000_000_000 + i, OTHERS + i, VICTIM) for i in range(others // 2)]
        follows += [(3_000_000_000 + i, VICTIM, OTHERS + i) for i in range(others)]
        await conn.executemany(
            "INSERT INTO follows (id, follower_id, followee_id, created_at) VALUES ($1, $2, $3, 1)",
            follows,
        )
        likes = [(4_000_000_000 + i, m, VICTIM) for i, m in enumerate(other_media)]
        likes += [
            (5_000_000_000 + i * others + j, m, OTHERS + j)
            for i, m in enumerate(victim_media)
            for j in range(3)
        ]
        await conn.executemany(
            "INSERT INTO likes (id, media_id, user_id, created_at) VALUES ($1, $2, $3, 1)", likes
        )
        comments = [(6_000_000_000 + i, m, VICTIM) for i, m in enumerate(other_media)]
        comments += [(6_100_000_000 + i, m, VICTIM) for i, m in enumerate(other_media)]
        comments += [(7_000_000_000 + i, m, OTHERS) for i, m in enumerate(victim_media)]
        await conn.executemany(
            "INSERT INTO comments (id, media_id, author_id, text, created_at)"
            " VALUES ($1, $2, $3, 'hi', 1)",
            comments,
        )
        await _recount(conn)
    region = b.regions[REGION]
    newest = victim_media[-5:]
    for m in newest:
        await region.add_to_timelines([OTHERS + others + i for i in range(followers)], m, VICTIM)
    for like_id, m, _ in likes[:others]:
        await region.add_activity(
            OTHERS + other_media.index(m), ActivityRecord(like_id, "like", VICTIM, m, 1)
        )
    for follow_id, _, followee in follows[-others:]:
        await region.add_activity(followee, ActivityRecord(follow_id, "follow", VICTIM, None, 1))
    # The victim's comments mention the next user, not the post's owner:
    # an item under the comment's ID that no row of the primary store names.
    for i, (comment_id, m, _) in enumerate(comments[:others]):
        mentioned = OTHERS + (i + 1) % others
        await region.add_activity(mentioned, ActivityRecord(comment_id, "mention", VICTIM, m, 1))
    for m in victim_media:
        await b.blobs.put(f"{m}/thumb.jpg", b"x")
        await b.blobs.put(f"{m}/std.jpg", b"x")
    return VICTIM


async def _recount(conn: Any) -> None:
    await conn.execute(
        "UPDATE users SET"
        " follower_count = (SELECT COUNT(*) FROM follows WHERE followee_id = users.id),"
        " following_count = (SELECT COUNT(*) FROM follows WHERE follower_id = users.id),"
        " media_count = (SELECT COUNT(*) FROM media WHERE owner_id = users.id)"
    )
    await conn.execute(
        "UPDATE media SET"
        " like_count = (SELECT COUNT(*) FROM likes WHERE media_id = media.id),"
        " comment_count = (SELECT COUNT(*) FROM comments WHERE media_id = media.id)"
    )


async def row_counts(rig: Rig, user_id: int) -> dict[str, int]:
    """Rows the account made or that name it, everywhere it could be."""
    db = rig.db
    queries = {
        "users": "SELECT COUNT(*) FROM users WHERE id = $1",
        "sessions": "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
        "user_words": "SELECT COUNT(*) FROM user_words WHERE user_id = $1",
        "media": "SELECT COUNT(*) FROM media WHERE owner_id = $1",
        "follows_out": "SELECT COUNT(*) FROM follows WHERE follower_id = $1",
        "follows_in": "SELECT COUNT(*) FROM follows WHERE followee_id = $1",
        "likes_by": "SELECT COUNT(*) FROM likes WHERE user_id = $1",
        "comments_by": "SELECT COUNT(*) FROM comments WHERE author_id = $1",
        "likes_on_its_media": "SELECT COUNT(*) FROM likes l JOIN media m ON m.id = l.media_id"
        " WHERE m.owner_id = $1",
        "comments_on_its_media": "SELECT COUNT(*) FROM comments c JOIN media m"
        " ON m.id = c.media_id WHERE m.owner_id = $1",
    }
    counts: dict[str, int] = {}
    async with db.read() as conn:
        for name, sql in queries.items():
            counts[name] = int(await conn.fetchval(sql, user_id))
    async with rig.region.db.read() as conn:
        counts["timeline_entries_of_its_posts"] = int(
            await conn.fetchval("SELECT COUNT(*) FROM timeline WHERE author_id = $1", user_id)
        )
        counts["its_timeline"] = int(
            await conn.fetchval("SELECT COUNT(*) FROM timeline WHERE user_id = $1", user_id)
        )
        counts["activity_it_caused"] = int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM inbox WHERE actor_id = $1 AND type <> 'removed'", user_id
            )
        )
    counts["image_files"] = sum(1 for p in rig.blob_root.rglob("*") if p.is_file())
    return counts


async def counter_mismatches(rig: Rig) -> list[str]:
    """Every denormalized counter that differs from its rows (empty when exact)."""
    db = rig.db
    checks = [
        "SELECT id FROM users WHERE follower_count <>"
        " (SELECT COUNT(*) FROM follows WHERE followee_id = users.id)",
        "SELECT id FROM users WHERE following_count <>"
        " (SELECT COUNT(*) FROM follows WHERE follower_id = users.id)",
        "SELECT id FROM users WHERE media_count <>"
        " (SELECT COUNT(*) FROM media WHERE owner_id = users.id)",
        "SELECT id FROM media WHERE like_count <>"
        " (SELECT COUNT(*) FROM likes WHERE media_id = media.id)",
        "SELECT id FROM media WHERE comment_count <>"
        " (SELECT COUNT(*) FROM comments WHERE media_id = media.id)",
    ]
    wrong: list[str] = []
    async with db.read() as conn:
        for sql in checks:
            wrong += [f"{sql[7:40]}… id={row['id']}" for row in await conn.fetch(sql)]
    return wrong


async def delete_and_time(b: Backends, user_id: int) -> dict[str, float]:
    start = time.perf_counter()
    await accounts.delete_account(b, user_id, PASSWORD)
    requested = time.perf_counter()
    runs = 1
    while not await account_deletion.run(b, user_id):
        runs += 1
    done = time.perf_counter()
    return {
        "request_ms": round((requested - start) * 1000, 1),
        "job_s": round(done - requested, 2),
        "job_runs": runs,
    }


async def _bench(root: Path, dsn: str | None, posts: int, followers: int) -> dict[str, Any]:
    async with backends(root, dsn) as rig:
        victim = await seed(rig, posts=posts, followers=followers)
        before = await row_counts(rig, victim)
        timing = await delete_and_time(rig.b, victim)
        after = await row_counts(rig, victim)
        return {
            "backend": "postgres" if dsn else "sqlite",
            "posts": posts,
            "followers": followers,
            **timing,
            "before": before,
            "after": after,
            "counter_mismatches": await counter_mismatches(rig),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="gramstack-deletion-"))
    scratch.chmod(0o755)  # the PostgreSQL server runs as its own user
    results = []
    try:
        (scratch / "sqlite").mkdir()
        results.append(asyncio.run(_bench(scratch / "sqlite", None, args.posts, args.followers)))
        if not args.sqlite_only:
            cluster = devcluster.up(scratch / "pg", followers=0)
            try:
                (scratch / "pgrun").mkdir()
                results.append(
                    asyncio.run(
                        _bench(scratch / "pgrun", cluster.database_url, args.posts, args.followers)
                    )
                )
            finally:
                devcluster.down(Path(cluster.directory))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
