"""Migrations that fill new structures from the rows already there, on both
backends: a database made before them is served as if it had always had them."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gramstack.records import MediaRecord, PhotoRecord
from gramstack.runtime.devcluster import ClusterState
from gramstack.storage.media import explore_score
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore
from tests.integration.storage.test_postgres import _new_database

DAY_MS = 86_400_000


@pytest.fixture(params=["sqlite", "postgres"])
def cluster(request: pytest.FixtureRequest) -> ClusterState | None:
    """The PostgreSQL cluster, or None for SQLite (started outside any event loop)."""
    if request.param == "sqlite":
        return None
    found: ClusterState = request.getfixturevalue("pg_cluster")
    return found


@pytest.fixture
async def db(cluster: ClusterState | None, tmp_path: Path) -> AsyncIterator[Database]:
    database: SqliteDatabase | PostgresDatabase
    if cluster is None:
        database = SqliteDatabase(tmp_path / "primary.db")
    else:
        database = PostgresDatabase(await _new_database(cluster))
    await database.open()
    await migrate(database)
    yield database
    await database.close()


async def _run_again(db: Database, *versions: str, drop: tuple[str, ...] = ()) -> None:
    """Put the database back to before ``versions`` and migrate it again."""
    async with db.write() as conn:
        for table in drop:
            await conn.execute(f"DROP TABLE {table}")
        for version in versions:
            await conn.execute("DELETE FROM schema_migrations WHERE version = $1", version)
    assert await migrate(db) == list(versions)


async def _post(store: PrimaryStore, media_id: int, created_at: int, *tags: str) -> None:
    photo = PhotoRecord(10, 10, "")
    record = MediaRecord(media_id, 1, "", 10, 10, created_at, 0, 0, (photo,), tuple(tags))
    await store.media.create_media(record, [])


async def test_old_posts_explore_scores_count_their_likes_and_comments(db: Database) -> None:
    store = PrimaryStore(db)
    await store.accounts.create_user(1, "ana", "x", "", 0)
    now = 300 * DAY_MS
    engaged: dict[int, tuple[int, int, int]] = {
        101: (now - 2 * DAY_MS, 40, 5),  # two days old and much liked
        102: (now - DAY_MS // 2, 0, 0),  # newer, nobody reacted
        103: (now - DAY_MS, 3, 0),
    }
    for media_id, (created_at, _, _) in engaged.items():
        await _post(store, media_id, created_at)
    # As 0011 left posts made before it: counters set, score from age alone.
    async with db.write() as conn:
        for media_id, (_, likes, comments) in engaged.items():
            await conn.execute(
                "UPDATE media SET like_count = $1, comment_count = $2,"
                " explore_score = created_at / 86400000.0 WHERE id = $3",
                likes,
                comments,
                media_id,
            )
    await _run_again(db, "0072_explore_scores")
    async with db.read(fresh=True) as conn:
        rows = await conn.fetch("SELECT id, explore_score FROM media ORDER BY explore_score DESC")
    scores = {int(r["id"]): float(r["explore_score"]) for r in rows}
    for media_id, (created_at, likes, comments) in engaged.items():
        assert math.isclose(scores[media_id], explore_score(created_at, likes, comments))
    # The liked two-day-old post now ranks above the newer one nobody liked.
    assert [int(r["id"]) for r in rows] == [101, 103, 102]


async def test_tags_made_before_the_prefix_index_are_found_by_prefix(db: Database) -> None:
    store = PrimaryStore(db)
    await store.accounts.create_user(1, "ana", "x", "", 0)
    long_tag = "sunsetsoverthewater" + "x" * 10
    await _post(store, 201, 1, "sunset", "sun", long_tag)
    await _post(store, 202, 2, "sunset")
    await _run_again(db, "0071_tag_prefixes", drop=("tag_prefixes",))
    async with db.read(fresh=True) as conn:
        rows = await conn.fetch(
            "SELECT prefix, media_count FROM tag_prefixes WHERE name = $1 ORDER BY prefix",
            long_tag,
        )
    assert [r["prefix"] for r in rows] == sorted(long_tag[:n] for n in range(1, 21))
    found = await store.discovery.tags_with_prefix("su", 10, 1000, fresh=True)
    assert [(t.name, t.media_count) for t in found] == [("sunset", 2), ("sun", 1), (long_tag, 1)]
    # And the index keeps following the counts after the backfill.
    await _post(store, 203, 3, "sun")
    await _post(store, 204, 4, "sun")
    found = await store.discovery.tags_with_prefix("sun", 2, 1000, fresh=True)
    assert [(t.name, t.media_count) for t in found] == [("sun", 3), ("sunset", 2)]
