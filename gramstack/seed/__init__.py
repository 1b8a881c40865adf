"""``gramstack seed``: a large social graph written straight into the stores.

The graph (``graph.py``) is generated in memory, then written table by
table with the drivers' bulk paths (``bulk.py``), counters already equal to
the rows they count; the home region's timelines and inboxes are filled as
fan-out would have left them, and every post gets image files
(``images.py``). Nothing goes through the API, the job queue or the outbox,
so seed a fresh database before a server starts on it: there is no cache
to keep current yet.

Every seeded account's password is :data:`PASSWORD`; the hash is computed
once and shared by all of them.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from argon2 import PasswordHasher
from tqdm import tqdm

from gramstack.regional.sql import SqlRegionalStore
from gramstack.runtime.config import Settings
from gramstack.seed.bulk import BulkWriter, PostgresBulkWriter, SqliteBulkWriter
from gramstack.seed.graph import SeedGraph, SeedPlan, caption, comment_text, generate, username
from gramstack.seed.images import RenditionLinker, seed_picture
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase

__all__ = ["PASSWORD", "SeedError", "SeedPlan", "SeedReport", "seed"]

PASSWORD = "gramstack-seed"
_CHUNK = 20_000
_T = TypeVar("_T")


class SeedError(Exception):
    pass


@dataclass
class SeedReport:
    rows: dict[str, int] = field(default_factory=dict)
    image_files: int = 0
    generate_s: float = 0.0
    write_s: float = 0.0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_s(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0


def _chunks(rows: Iterable[_T], size: int = _CHUNK) -> Iterator[list[_T]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


async def _write(
    writer: BulkWriter,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    bar: tqdm[Any],
) -> int:
    bar.set_description(table)
    written = 0
    indexes = await writer.drop_indexes(table)
    for chunk in _chunks(rows):
        await writer.insert(table, columns, chunk)
        written += len(chunk)
        bar.update(len(chunk))
    bar.set_description(f"{table} (indexing)")
    for statement in indexes:
        await writer.execute(statement)
    await writer.commit()
    return written


async def _prepare_schema(settings: Settings) -> None:
    primary: Database
    if settings.database_url:
        primary = PostgresDatabase(settings.database_url, max_size=1)
        await primary.open()
    else:
        sqlite = SqliteDatabase(settings.sqlite_path, readers=0)
        await sqlite.open()
        primary = sqlite
    try:
        await migrate(primary)
    finally:
        await primary.close()
    region_db = SqliteDatabase(settings.regional_dir / f"{settings.region}.db", readers=0)
    await region_db.open()
    region = SqlRegionalStore(settings.region, region_db)
    await region.create_schema()
    await region.close()


async def _primary_writer(settings: Settings) -> BulkWriter:
    if settings.database_url:
        return await PostgresBulkWriter.connect(settings.database_url)
    return SqliteBulkWriter(settings.sqlite_path)


async def _write_primary(
    writer: BulkWriter, g: SeedGraph, password_hash: str, bar: tqdm[Any]
) -> dict[str, int]:
    ids = g.user_ids
    followers, following, posts = g.follower_counts(), g.following_counts(), g.media_counts()
    likes, comments = g.like_counts(), g.comment_counts()
    media_ids, owners = g.media_ids, g.media_owner
    rows = {}
    rows["users"] = await _write(
        writer,
        "users",
        (
            "id",
            "username",
            "password_hash",
            "full_name",
            "bio",
            "created_at",
            "follower_count",
            "following_count",
            "media_count",
        ),
        (
            (
                ids[i],
                username(i),
                password_hash,
                f"User {i}",
                "",
                g.user_created[i],
                followers[i],
                following[i],
                posts[i],
            )
            for i in range(g.plan.users)
        ),
        bar,
    )
    rows["follows"] = await _write(
        writer,
        "follows",
        ("id", "follower_id", "followee_id", "created_at"),
        zip(
            g.follow_ids,
            (ids[u] for u in g.follow_follower),
            (ids[u] for u in g.follow_followee),
            g.follow_created,
            strict=True,
        ),
        bar,
    )
    rows["media"] = await _write(
        writer,
        "media",
        (
            "id",
            "owner_id",
            "caption",
            "width",
            "height",
            "created_at",
            "like_count",
            "comment_count",
        ),
        (
            (
                media_ids[m],
                ids[owners[m]],
                caption(m),
                g.image_width,
                g.image_height,
                g.media_created[m],
                likes[m],
                comments[m],
            )
            for m in range(len(media_ids))
        ),
        bar,
    )
    rows["likes"] = await _write(
        writer,
        "likes",
        ("id", "media_id", "user_id", "created_at"),
        zip(
            g.like_ids,
            (media_ids[m] for m in g.like_media),
            (ids[u] for u in g.like_user),
            g.like_created,
            strict=True,
        ),
        bar,
    )
    rows["comments"] = await _write(
        writer,
        "comments",
        ("id", "media_id", "author_id", "text", "created_at"),
        zip(
            g.comment_ids,
            (media_ids[m] for m in g.comment_media),
            (ids[u] for u in g.comment_author),
            (comment_text(i) for i in range(len(g.comment_ids))),
            g.comment_created,
            strict=True,
        ),
        bar,
    )
    return rows


async def _write_regional(settings: Settings, g: SeedGraph, bar: tqdm[Any]) -> dict[str, int]:
    writer = SqliteBulkWriter(settings.regional_dir / f"{settings.region}.db")
    ids = g.user_ids
    try:
        timeline = await _write(
            writer,
            "timeline",
            ("user_id", "media_id", "author_id"),
            (
                (ids[user], media_id, author)
                for user, entries in g.timelines()
                for media_id, author in entries
            ),
            bar,
        )
        inbox = await _write(
            writer,
            "inbox",
            ("user_id", "id", "type", "actor_id", "media_id", "created_at"),
            ((ids[user], *item) for user, items in g.inboxes() for item in items),
            bar,
        )
    finally:
        await writer.close()
    return {"timeline": timeline, "inbox": inbox}


async def seed(settings: Settings, plan: SeedPlan, *, progress: bool = True) -> SeedReport:
    """Seed ``plan`` into the primary store and home region that ``settings``
    name; refuses a primary store that already has users."""
    started = time.perf_counter()
    report = SeedReport()
    await _prepare_schema(settings)
    writer = await _primary_writer(settings)
    open_writer: BulkWriter | None = writer
    try:
        if await writer.scalar("SELECT count(*) FROM users"):
            raise SeedError("the database already has users; seed a fresh one")
        picture = seed_picture()
        if progress:
            tqdm.write(f"generating {plan.users:,} users, {plan.posts:,} posts, ...")
        g = generate(plan, now_ms=int(time.time() * 1000))
        g.image_width, g.image_height = picture.width, picture.height
        # One hash for every account: argon2 is slow on purpose, and a
        # server verifies it with the parameters stored inside it.
        password_hash = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=1,
        ).hash(PASSWORD)
        report.generate_s = time.perf_counter() - started
        written_at = time.perf_counter()
        primary_rows = plan.users + sum(
            len(c) for c in (g.follow_ids, g.media_ids, g.like_ids, g.comment_ids)
        )
        linker = RenditionLinker(settings.blob_dir, picture)
        with (
            tqdm(total=primary_rows, unit=" rows", disable=not progress, position=0) as bar,
            tqdm(
                total=len(g.media_ids), unit=" posts", desc="images", disable=not progress
            ) as images_bar,
            concurrent.futures.ThreadPoolExecutor(1) as pool,
        ):
            # File links are system calls that release the GIL: they run
            # beside the inserts rather than after them.
            images = pool.submit(linker.link_all, g.media_ids, images_bar.update)
            report.rows.update(await _write_primary(writer, g, password_hash, bar))
            open_writer = None
            await writer.close()
            bar.reset(total=None)
            report.rows.update(await _write_regional(settings, g, bar))
            report.image_files = 2 * images.result()
    finally:
        if open_writer is not None:
            await open_writer.close()
    report.write_s = time.perf_counter() - written_at
    report.seconds = time.perf_counter() - started
    return report
