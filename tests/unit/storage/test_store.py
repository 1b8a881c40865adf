"""The aggregate stores on a real SQLite file: each one satisfies its
domain port, and transactional side effects (jobs, outbox rows) commit with
the write or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from gramstack.domain import jobs, ports
from gramstack.records import Change, CommentRecord, MediaRecord
from gramstack.storage.outbox import OutboxReader
from gramstack.storage.reactions import MissingMedia
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore


def test_the_store_implements_the_domain_ports() -> None:
    # Checked structurally by mypy where wiring builds Backends; this keeps
    # the claim visible next to the adapter.
    def as_port(store: PrimaryStore) -> ports.PrimaryStore:
        return store

    assert as_port


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = SqliteDatabase(tmp_path / "primary.db")
    await database.open()
    await migrate(database)
    yield database
    await database.close()


async def _seed(store: PrimaryStore) -> int:
    for uid in (1, 2):
        await store.accounts.create_user(uid, f"user{uid}", "x", "", 0)
    await store.media.create_media(MediaRecord(100, 1, "", 10, 10, 0, 0, 0), [])
    return 100


async def _job_count(db: SqliteDatabase) -> int:
    async with db.read() as conn:
        return int(await conn.fetchval("SELECT COUNT(*) FROM jobs"))


async def test_jobs_enqueued_in_the_block_commit_with_the_like(db: SqliteDatabase) -> None:
    committed: list[Sequence[Change]] = []

    async def on_commit(changes: Sequence[Change], lsn: int | None) -> None:
        assert lsn is None  # one SQLite file: no followers, no position
        committed.append(changes)

    store = PrimaryStore(db, on_commit=on_commit)
    media = await _seed(store)
    async with store.reactions.like(500, media, 2, 7) as (liked, tx):
        assert liked is not None and liked.like_id == 500 and liked.owner_id == 1
        tx.enqueue(jobs.inbox_remove(900, 1, 500))
    job = await store.queue.claim_job(7, 1000)
    assert job is not None and (job.id, job.kind) == (900, "inbox_remove")
    assert [c.table for c in committed[-1]] == ["likes", "media"]
    assert (await store.media.media([media]))[media].like_count == 1


async def test_raising_in_the_block_rolls_back_the_write_its_jobs_and_its_outbox_row(
    db: SqliteDatabase,
) -> None:
    store = PrimaryStore(db)
    media = await _seed(store)
    head = await OutboxReader(db).head()
    with pytest.raises(RuntimeError):
        async with store.reactions.like(500, media, 2, 7) as (_, tx):
            tx.enqueue(jobs.inbox_remove(900, 1, 500))
            raise RuntimeError("changed my mind")
    assert (await store.media.media([media]))[media].like_count == 0
    assert await store.reactions.liked_among(2, [media]) == set()
    assert await _job_count(db) == 0
    assert await OutboxReader(db).head() == head


async def test_a_block_that_ignores_missing_media_still_commits_nothing(
    db: SqliteDatabase,
) -> None:
    store = PrimaryStore(db)
    await _seed(store)
    with pytest.raises(MissingMedia):
        async with store.reactions.like(500, 999, 2, 7) as (liked, _):
            assert liked is None
    assert await store.reactions.liked_among(2, [999]) == set()
    with pytest.raises(MissingMedia):
        async with store.reactions.add_comment(CommentRecord(1, 999, 2, "hi", 7)) as (owner, _):
            assert owner is None
    assert await store.reactions.comments_page(999, None, 10) == []


async def test_unlike_and_unfollow_yield_the_removed_rows_id(db: SqliteDatabase) -> None:
    store = PrimaryStore(db)
    media = await _seed(store)
    async with store.reactions.like(500, media, 2, 7):
        pass
    async with store.reactions.unlike(media, 2, 8) as (unliked, _):
        assert unliked is not None and (unliked.like_id, unliked.like_count) == (500, 0)
    async with store.reactions.unlike(media, 2, 9) as (unliked, _):
        assert unliked is not None and unliked.like_id is None
    assert await store.graph.follow(600, 2, 1, 10, [])
    async with store.graph.unfollow(2, 1, 11) as (follow_id, _):
        assert follow_id == 600
    async with store.graph.unfollow(2, 1, 12) as (follow_id, _):
        assert follow_id is None
    users = await store.accounts.users([1, 2])
    assert (users[1].follower_count, users[2].following_count) == (0, 0)


async def test_missing_rows_are_none_or_false_not_errors(db: SqliteDatabase) -> None:
    store = PrimaryStore(db)
    assert await store.accounts.update_profile(42, "x", None) is None
    assert not await store.media.delete_media(42, 0, [])
    assert await _job_count(db) == 0
