"""The regional store on SQLite and on a real PostgreSQL: behaviour, and that
its hot-path statements are single-partition primary-key (or index) range
reads, the shape a Cassandra table would serve."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from gramstack.domain.models import ActivityRecord
from gramstack.regional.sql import SqlRegionalStore
from gramstack.runtime.devcluster import ClusterState
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.sqlite import SqliteDatabase

USERS = range(1, 21)
MEDIA = range(1000, 1200)


async def _postgres_database(cluster: ClusterState) -> Database:
    name = f"r_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(cluster.superuser_dsn(cluster.leader))
    try:
        await admin.execute(f"CREATE DATABASE {name} OWNER gramstack")
    finally:
        await admin.close()
    return PostgresDatabase(cluster.database_url.rsplit("/", 1)[0] + f"/{name}")


@pytest.fixture(params=["sqlite", "postgres"])
def cluster(request: pytest.FixtureRequest) -> ClusterState | None:
    """The session's PostgreSQL cluster, started only for the PostgreSQL
    runs (outside the event loop: starting it runs a loop of its own)."""
    return None if request.param == "sqlite" else request.getfixturevalue("pg_cluster")


@pytest.fixture
async def store(cluster: ClusterState | None, tmp_path: Path) -> AsyncIterator[SqlRegionalStore]:
    db: Database
    if cluster is None:
        db = SqliteDatabase(tmp_path / "eu.db", readers=1)
    else:
        db = await _postgres_database(cluster)
    await db.open()  # type: ignore[attr-defined]
    regional = SqlRegionalStore("eu", db)
    await regional.create_schema()
    await regional.create_schema()  # idempotent: every server start runs it
    yield regional
    await regional.close()


async def _fill(store: SqlRegionalStore) -> None:
    # Authors 1..4 post in turn; every user follows all of them.
    for media_id in MEDIA:
        await store.add_to_timelines(list(USERS), media_id, author_id=1 + media_id % 4)


async def _plan(store: SqlRegionalStore, sql: str, *args: object, seqscan: bool = True) -> str:
    """``seqscan=False``: PostgreSQL rightly scans a test's few rows; this
    shows whether an index can serve the statement at all."""
    async with store.db.write() as conn:
        if store.db.dialect == "postgres":
            if not seqscan:
                await conn.execute("SET LOCAL enable_seqscan = off")
            await conn.execute("ANALYZE timeline")
            await conn.execute("ANALYZE inbox")
            rows = await conn.fetch("EXPLAIN " + sql, *args)
            return "\n".join(row["QUERY PLAN"] for row in rows)
        rows = await conn.fetch("EXPLAIN QUERY PLAN " + sql, *args)
        return "\n".join(row["detail"] for row in rows)


async def test_timeline_pages_newest_first(store: SqlRegionalStore) -> None:
    await _fill(store)
    first = await store.timeline_page(7, None, 50)
    assert first == sorted(MEDIA, reverse=True)[:50]
    second = await store.timeline_page(7, first[-1], 50)
    assert second == sorted(MEDIA, reverse=True)[50:100]
    await store.add_to_timelines([7], MEDIA[0], 1)  # a redelivered job adds nothing
    assert len(await store.timeline_page(7, None, 1000)) == len(MEDIA)


async def test_timeline_page_is_a_primary_key_range_read(store: SqlRegionalStore) -> None:
    await _fill(store)
    # A long-lived account's timeline: a page is a small part of its partition.
    await store.add_many_to_timeline(7, [(m, 1 + m % 4) for m in range(10_000, 15_000)])
    plan = await _plan(
        store,
        "SELECT media_id FROM timeline WHERE user_id = $1 AND media_id < $2"
        " ORDER BY media_id DESC LIMIT $3",
        7,
        14_000,
        50,
    )
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    if store.db.dialect == "postgres":
        assert "Index Only Scan Backward using timeline_pkey" in plan or (
            "Index Scan Backward using timeline_pkey" in plan
        ), plan
    else:
        assert "SEARCH timeline USING PRIMARY KEY (user_id=? AND media_id<?)" in plan, plan


async def test_unfollow_removes_one_author_from_one_partition(store: SqlRegionalStore) -> None:
    await _fill(store)
    await store.remove_author_from_timeline(7, author_id=2)
    assert all(1 + m % 4 != 2 for m in await store.timeline_page(7, None, 1000))
    assert len(await store.timeline_page(7, None, 1000)) == len(MEDIA) * 3 // 4
    assert len(await store.timeline_page(8, None, 1000)) == len(MEDIA)
    plan = await _plan(store, "DELETE FROM timeline WHERE user_id = $1 AND author_id = $2", 7, 2)
    assert "timeline_by_author" in plan, plan


async def test_a_batch_of_followers_loses_one_author_in_one_statement(
    store: SqlRegionalStore,
) -> None:
    await _fill(store)
    await store.remove_author_from_timelines([3, 7, 11], author_id=2)
    for user in (3, 7, 11):
        page = await store.timeline_page(user, None, 1000)
        assert all(1 + m % 4 != 2 for m in page)
        assert len(page) == len(MEDIA) * 3 // 4
    for user in (1, 8, 20):  # not in the batch: untouched
        assert len(await store.timeline_page(user, None, 1000)) == len(MEDIA)
    await store.remove_author_from_timelines([], author_id=1)  # an empty batch is no statement
    if store.db.dialect == "postgres":
        sql = "DELETE FROM timeline WHERE user_id = ANY($1::bigint[]) AND author_id = $2"
        plan = await _plan(store, sql, [4, 5], 1)
    else:
        sql = (
            "DELETE FROM timeline WHERE user_id IN (SELECT value FROM json_each($1))"
            " AND author_id = $2"
        )
        plan = await _plan(store, sql, "[4, 5]", 1)
    # Each user is one range of the (user_id, author_id) index, not a scan.
    assert "timeline_by_author" in plan, plan


async def test_deleted_media_leaves_every_timeline(store: SqlRegionalStore) -> None:
    await _fill(store)
    await store.remove_media_from_timelines(MEDIA[5])
    for user in (1, 20):
        page = await store.timeline_page(user, None, 1000)
        assert MEDIA[5] not in page and len(page) == len(MEDIA) - 1
    plan = await _plan(store, "DELETE FROM timeline WHERE media_id + 0 = $1", MEDIA[6])
    assert "timeline_for_media_removal" in plan, plan


async def test_inbox_tombstone_wins_over_a_late_add(store: SqlRegionalStore) -> None:
    def activity(id_: int, media_id: int | None) -> ActivityRecord:
        return ActivityRecord(
            id=id_, type="like", actor_id=3, media_id=media_id, created_at=id_ * 10
        )

    for id_ in range(1, 11):
        await store.add_activity(5, activity(id_, 500 + id_ % 2))
    await store.remove_activity(5, 4)
    await store.add_activity(5, activity(4, 500))  # the add job ran late
    page = await store.activity_page(5, None, 100)
    assert [a.id for a in page] == [10, 9, 8, 7, 6, 5, 3, 2, 1]
    assert [a.id for a in await store.activity_page(5, 6, 2)] == [5, 3]
    await store.remove_activity_for_media(5, 501)
    assert [a.id for a in await store.activity_page(5, None, 100)] == [10, 8, 6, 2]
    assert await store.activity_page(6, None, 100) == []
    if store.db.dialect == "sqlite":  # PostgreSQL rightly scans ten rows instead
        plan = await _plan(store, "DELETE FROM inbox WHERE user_id = $1 AND media_id = $2", 5, 501)
        assert "inbox_by_media" in plan, plan


async def _sweep(
    store: SqlRegionalStore, batch_of: Callable[[], Awaitable[list[tuple[int, int]]]]
) -> list[tuple[int, int]]:
    """Removes batches of 7 until none is left, each twice (a retried batch
    changes nothing); the items swept, each once."""
    swept: list[tuple[int, int]] = []
    while batch := await batch_of():
        assert len(batch) <= 7 and not set(batch) & set(swept)
        await store.remove_activities(batch)
        await store.remove_activities(batch)
        swept += batch
    return swept


async def test_an_actors_items_are_swept_in_bounded_batches_across_partitions(
    store: SqlRegionalStore,
) -> None:
    # Actor 3's items in twenty inboxes, among actor 4's; one already tombstoned.
    for owner in USERS:
        for n in range(3):
            item = owner * 100 + n
            actor = 3 if n < 2 else 4
            await store.add_activity(owner, ActivityRecord(item, "mention", actor, 500, item))
    await store.remove_activity(1, 100)
    swept = await _sweep(store, lambda: store.activity_by_actor(3, 7))
    assert sorted(swept) == [(o, o * 100 + n) for o in USERS for n in (0, 1)][1:]
    for owner in USERS:
        assert [a.actor_id for a in await store.activity_page(owner, None, 100)] == [4]
        assert await store.count_activity_after(owner, 0, 100) == 1
    # The tombstones win over the items' add jobs running late.
    await store.add_activity(2, ActivityRecord(200, "mention", 3, 500, 200))
    assert await store.activity_by_actor(3, 7) == []
    await store.remove_activities([])
    # The sweep reads the partial index (its predicate is the statement's);
    # the hot reads keep the primary key.
    plan = await _plan(
        store,
        "SELECT user_id, id FROM inbox WHERE actor_id = $1 AND type <> 'removed' LIMIT $2",
        3,
        7,
        seqscan=False,
    )
    assert "inbox_by_actor" in plan, plan
    plan = await _plan(
        store,
        "SELECT id FROM inbox WHERE user_id = $1 AND id < $2 AND type <> 'removed'"
        " ORDER BY id DESC LIMIT $3",
        5,
        10**9,
        20,
    )
    assert "inbox_by_actor" not in plan, plan


async def test_a_posts_items_are_swept_in_bounded_batches_across_partitions(
    store: SqlRegionalStore,
) -> None:
    # Items about media 500 in twenty inboxes, by several actors, among items
    # about media 501; one already tombstoned.
    for owner in USERS:
        for n in range(3):
            item = owner * 100 + n
            media = 500 if n < 2 else 501
            await store.add_activity(owner, ActivityRecord(item, "mention", n + 3, media, item))
    await store.remove_activity(1, 100)
    swept = await _sweep(store, lambda: store.activity_for_media(500, 7))
    assert sorted(swept) == [(o, o * 100 + n) for o in USERS for n in (0, 1)][1:]
    for owner in USERS:
        assert [a.media_id for a in await store.activity_page(owner, None, 100)] == [501]
        assert await store.count_activity_after(owner, 0, 100) == 1
    await store.add_activity(2, ActivityRecord(200, "mention", 3, 500, 200))
    assert await store.activity_for_media(500, 7) == []
    # Enough posts' items that the planner weighs the indexes by their
    # conditions, not by size (PostgreSQL would walk any partial index whole).
    async with store.db.write() as conn:
        await conn.executemany(
            "INSERT INTO inbox (user_id, id, type, actor_id, media_id, created_at)"
            " VALUES ($1, $2, 'like', $3, $4, 0)",
            [(n % 20 + 1, 10_000 + n, n % 50 + 3, 1000 + n) for n in range(2000)],
        )
    plan = await _plan(
        store,
        "SELECT user_id, id FROM inbox WHERE media_id = $1 AND type <> 'removed' LIMIT $2",
        500,
        7,
        seqscan=False,
    )
    assert "inbox_for_media_removal" in plan, plan
    # Neither a page nor the owner's delete by media takes the cross-partition index.
    plan = await _plan(
        store,
        "SELECT id FROM inbox WHERE user_id = $1 AND id < $2 AND type <> 'removed'"
        " ORDER BY id DESC LIMIT $3",
        5,
        10**9,
        20,
    )
    assert "inbox_for_media_removal" not in plan, plan
    if store.db.dialect == "sqlite":
        plan = await _plan(store, "DELETE FROM inbox WHERE user_id = $1 AND media_id = $2", 5, 501)
        assert "inbox_by_media" in plan, plan
