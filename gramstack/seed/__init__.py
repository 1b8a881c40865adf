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

import asyncio
import concurrent.futures
import itertools
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from argon2 import PasswordHasher
from tqdm import tqdm

from gramstack.media.images import ProcessedImage
from gramstack.records import PhotoRecord
from gramstack.regional.sql import SqlRegionalStore
from gramstack.runtime.config import Settings
from gramstack.seed.bulk import BulkWriter, PostgresBulkWriter, SqliteBulkWriter
from gramstack.seed.graph import (
    INBOX_TYPES,
    SeedGraph,
    SeedPlan,
    captions,
    comment_texts,
    explore_scores,
    full_name,
    generate,
    username,
)
from gramstack.seed.images import RenditionLinker, seed_picture
from gramstack.storage.accounts import search_words
from gramstack.storage.media import encode_photos
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase

__all__ = ["PASSWORD", "SeedError", "SeedPlan", "SeedReport", "seed"]

PASSWORD = "gramstack-seed"
_CHUNK = 50_000  # rows per executemany / COPY
# A column of a table being written: an array (sliced per batch), a function
# of the batch's (start, stop) row numbers, or one value for every row.
ColumnSource = npt.NDArray[Any] | Callable[[int, int], list[Any]] | str | int | None


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


def _batches(
    count: int, columns: Sequence[ColumnSource], size: int = _CHUNK
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows ``0 .. count-1`` as tuples, ``size`` at a time: each column is
    turned into a list by one array operation, and zip builds the tuples,
    so no Python code runs per value."""
    for start in range(0, count, size):
        stop = min(count, start + size)
        parts: list[Iterable[Any]] = []
        for column in columns:
            if isinstance(column, np.ndarray):
                parts.append(column[start:stop].tolist())
            elif callable(column):
                parts.append(column(start, stop))
            else:
                parts.append(itertools.repeat(column, stop - start))
        yield list(zip(*parts, strict=True))


class _Progress:
    """Where a writer reports rows: a progress bar in this process, or a
    counter shared with the parent, whose bars show it."""

    def __init__(self, bar: tqdm[Any] | None = None, shared: Synchronized[int] | None = None):
        self.bar = bar
        self.shared = shared
        self.on_batch: Callable[[], None] = lambda: None

    def stage(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description(name)

    def add(self, rows: int, *, counted: bool) -> None:
        if self.bar is not None:
            if not counted and self.bar.total is not None:
                self.bar.total += rows
            self.bar.update(rows)
        if self.shared is not None:
            with self.shared.get_lock():
                self.shared.value += rows
        self.on_batch()


async def _write(
    writer: BulkWriter,
    table: str,
    columns: Sequence[str],
    batches: Iterable[list[tuple[Any, ...]]],
    progress: _Progress,
    *,
    counted: bool = True,
) -> int:
    """Write ``batches`` to ``table``; ``counted``: the bar's total already
    includes these rows (else each batch adds itself to it)."""
    progress.stage(table)
    written = 0
    indexes = await writer.drop_indexes(table)
    for batch in batches:
        await writer.insert(table, columns, batch)
        written += len(batch)
        progress.add(len(batch), counted=counted)
    progress.stage(f"{table} (indexing)")
    for statement in indexes:
        await writer.execute(statement)
    await writer.commit()
    return written


async def _prepare_schema(settings: Settings) -> None:
    """Migrate the primary store and create the region's tables; raises
    :class:`SeedError` if the primary store already has users."""
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
        # Checked here, before the bulk writer takes the file over.
        async with primary.read() as conn:
            if await conn.fetchval("SELECT count(*) FROM users"):
                raise SeedError("the database already has users; seed a fresh one")
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


def _user_words(start: int, stop: int, g: SeedGraph) -> list[tuple[str, int]]:
    ids = g.user_ids[start:stop].tolist()
    return [
        (word, user_id)
        for i, user_id in zip(range(start, stop), ids, strict=True)
        for word in search_words(username(i), full_name(i))
    ]


async def _write_primary(
    writer: BulkWriter, g: SeedGraph, password_hash: str, bar: _Progress
) -> dict[str, int]:
    users, ids, media_ids = g.plan.users, g.user_ids, g.media_ids
    likes, comments = g.like_counts(), g.comment_counts()
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
        _batches(
            users,
            (
                ids,
                lambda a, b: [username(i) for i in range(a, b)],
                password_hash,
                lambda a, b: [full_name(i) for i in range(a, b)],
                "",
                g.user_created,
                g.follower_counts(),
                g.following_counts(),
                g.media_counts(),
            ),
        ),
        bar,
    )
    # User search's words, as sign-up writes them.
    rows["user_words"] = await _write(
        writer,
        "user_words",
        ("word", "user_id"),
        (_user_words(a, min(users, a + _CHUNK), g) for a in range(0, users, _CHUNK)),
        bar,
        counted=False,
    )
    rows["follows"] = await _write(
        writer,
        "follows",
        ("id", "follower_id", "followee_id", "created_at"),
        _batches(
            len(g.follow_ids),
            (g.follow_ids, ids[g.follow_follower], ids[g.follow_followee], g.follow_created),
        ),
        bar,
    )
    # What posting writes: one photo per post, no tags or mentions in the
    # captions, and the explore score of the post's engagement.
    photos = encode_photos([PhotoRecord(g.image_width, g.image_height, "")])
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
            "photos",
            "hashtags",
            "mentions",
            "explore_score",
        ),
        _batches(
            len(media_ids),
            (
                media_ids,
                ids[g.media_owner],
                lambda a, b: captions(np.arange(a, b)),
                g.image_width,
                g.image_height,
                g.media_created,
                likes,
                comments,
                photos,
                "",
                "",
                explore_scores(g.media_created, likes, comments),
            ),
        ),
        bar,
    )
    rows["likes"] = await _write(
        writer,
        "likes",
        ("id", "media_id", "user_id", "created_at"),
        _batches(
            len(g.like_ids),
            (g.like_ids, media_ids[g.like_media], ids[g.like_user], g.like_created),
        ),
        bar,
    )
    rows["comments"] = await _write(
        writer,
        "comments",
        ("id", "media_id", "author_id", "text", "created_at"),
        _batches(
            len(g.comment_ids),
            (
                g.comment_ids,
                media_ids[g.comment_media],
                ids[g.comment_author],
                lambda a, b: comment_texts(np.arange(a, b)),
                g.comment_created,
            ),
        ),
        bar,
    )
    return rows


def _timeline_batches(g: SeedGraph) -> Iterator[list[tuple[Any, ...]]]:
    for run in g.timeline_rows():
        yield from _batches(len(run.user_ids), (run.user_ids, run.media_ids, run.author_ids))


async def _write_regional(path: Path, g: SeedGraph, bar: _Progress) -> dict[str, int]:
    writer = SqliteBulkWriter(path)
    try:
        timeline = await _write(
            writer, "timeline", ("user_id", "media_id", "author_id"), _timeline_batches(g), bar
        )
        inbox = g.inbox_rows()
        media: npt.NDArray[np.object_] = inbox.media_ids.astype(object)
        media[inbox.media_ids < 0] = None
        inbox_rows = await _write(
            writer,
            "inbox",
            ("user_id", "id", "type", "actor_id", "media_id", "created_at"),
            _batches(
                len(inbox.ids),
                (
                    inbox.user_ids,
                    inbox.ids,
                    np.array(INBOX_TYPES, dtype=object)[inbox.types],
                    inbox.actor_ids,
                    media,
                    inbox.created,
                ),
            ),
            bar,
        )
    finally:
        await writer.close()
    return {"timeline": timeline, "inbox": inbox_rows}


# -- the helper processes ---------------------------------------------------
# The regional store and the image files are written by processes of their
# own while this one writes the primary store: each is one core's worth of
# work (the GIL would serialize them as threads), and a file per store
# means no two writers share a database.

_regional_rows: Synchronized[int] | None = None
_image_posts: Synchronized[int] | None = None


def _start_helper(regional_rows: Synchronized[int], image_posts: Synchronized[int]) -> None:
    global _regional_rows, _image_posts
    _regional_rows, _image_posts = regional_rows, image_posts


def _regional_job(path: Path, g: SeedGraph) -> dict[str, int]:
    return asyncio.run(_write_regional(path, g, _Progress(shared=_regional_rows)))


def _images_job(blob_dir: Path, picture: ProcessedImage, media_ids: list[int]) -> int:
    counter = _image_posts

    def progress(posts: int) -> None:
        if counter is not None:
            with counter.get_lock():
                counter.value += posts

    return RenditionLinker(blob_dir, picture).link_all(media_ids, progress)


async def seed(
    settings: Settings, plan: SeedPlan, *, progress: bool = True, images: bool = True
) -> SeedReport:
    """Seed ``plan`` into the primary store and home region that ``settings``
    name; refuses a primary store that already has users. ``images=False``
    leaves out the image files (a post's image URLs then answer 404), for
    sizes whose millions of directories would take longer than the rows."""
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
        )  # and the user words, added as they are written
        context = multiprocessing.get_context("spawn")  # no fork of a running event loop
        regional_rows, image_posts = context.Value("q", 0), context.Value("q", 0)
        with (
            tqdm(total=primary_rows, unit=" rows", disable=not progress, position=0) as bar,
            tqdm(unit=" rows", desc="regional store", disable=not progress) as regional_bar,
            tqdm(
                total=len(g.media_ids) if images else 0,
                unit=" posts",
                desc="images",
                disable=not progress,
            ) as images_bar,
            concurrent.futures.ProcessPoolExecutor(
                2,
                mp_context=context,
                initializer=_start_helper,
                initargs=(regional_rows, image_posts),
            ) as pool,
        ):

            def show_helpers() -> None:
                regional_bar.update(regional_rows.value - regional_bar.n)
                images_bar.update(image_posts.value - images_bar.n)

            regional = pool.submit(
                _regional_job, settings.regional_dir / f"{settings.region}.db", g
            )
            linked = pool.submit(
                _images_job, settings.blob_dir, picture, g.media_ids.tolist() if images else []
            )
            primary = _Progress(bar)
            primary.on_batch = show_helpers
            report.rows.update(await _write_primary(writer, g, password_hash, primary))
            open_writer = None
            await writer.close()
            bar.set_description("primary store (done)")
            while not (regional.done() and linked.done()):
                show_helpers()
                await asyncio.sleep(0.25)
            show_helpers()
            report.rows.update(regional.result())
            report.image_files = 2 * linked.result()
    finally:
        if open_writer is not None:
            await open_writer.close()
    report.write_s = time.perf_counter() - written_at
    report.seconds = time.perf_counter() - started
    return report
