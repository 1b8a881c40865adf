"""The PostgreSQL adapter on a real server: migrations, ID shard leases and
counters under concurrency, each in a database of its own."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest

from gramstack.domain.ids import MAX_SHARD, IdGenerator, id_parts
from gramstack.domain.models import MediaRecord
from gramstack.runtime.devcluster import ClusterState
from gramstack.storage.ports import Database
from gramstack.storage.postgres import PostgresDatabase
from gramstack.storage.schema import _migration_files, migrate
from gramstack.storage.store import PrimaryStore


async def _new_database(cluster: ClusterState) -> str:
    name = f"t_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(cluster.superuser_dsn(cluster.leader))
    try:
        await admin.execute(f"CREATE DATABASE {name} OWNER gramstack")
    finally:
        await admin.close()
    return cluster.database_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
async def dsn(pg_cluster: ClusterState) -> str:
    return await _new_database(pg_cluster)


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[PostgresDatabase]:
    database = PostgresDatabase(dsn)
    await database.open()
    yield database
    await database.close()


def test_adapter_matches_the_port() -> None:
    port: Database = PostgresDatabase("postgresql://unused")
    for name in ("read", "write", "ping", "close", "replica_states"):
        assert callable(getattr(port, name))
    assert port.dialect == "postgres"


async def test_migrations_apply_once(db: PostgresDatabase) -> None:
    versions = [name for name, _ in _migration_files("postgres")]
    assert "0004_replica_identity" in versions
    assert "0004_replica_identity" not in [name for name, _ in _migration_files("sqlite")]
    assert await migrate(db) == versions
    assert await migrate(db) == []
    async with db.read() as conn:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == versions


def _migrate_in_process(dsn: str, out: multiprocessing.Queue[list[str]]) -> None:
    async def run() -> list[str]:
        database = PostgresDatabase(dsn, min_size=1, max_size=1)
        await database.open()
        try:
            return await migrate(database)
        finally:
            await database.close()

    out.put(asyncio.run(run()))


def _lease_in_process(dsn: str, owner: str, out: multiprocessing.Queue[list[int]]) -> None:
    async def run() -> list[int]:
        database = PostgresDatabase(dsn, min_size=1, max_size=1)
        await database.open()
        try:
            shard = await PrimaryStore(database).leases.lease_id_shard(
                owner, 0, 10**12, MAX_SHARD + 1
            )
        finally:
            await database.close()
        generator = IdGenerator(shard)
        return [generator.next_id() for _ in range(5000)]

    out.put(asyncio.run(run()))


def _run_all(target: object, args: list[tuple[object, ...]]) -> list[list[object]]:
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[list[object]] = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, out)) for a in args]  # type: ignore[arg-type]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    return results


async def test_concurrent_migrations_from_many_processes_are_safe(dsn: str) -> None:
    results = await asyncio.to_thread(_run_all, _migrate_in_process, [(dsn,)] * 4)
    applied = [version for result in results for version in result]
    assert sorted(applied) == sorted(name for name, _ in _migration_files("postgres"))


async def test_starting_processes_lease_distinct_shards_and_mint_unique_ids(
    db: PostgresDatabase, dsn: str
) -> None:
    await migrate(db)
    args = [(dsn, f"p{i}") for i in range(6)]
    results = await asyncio.to_thread(_run_all, _lease_in_process, args)
    every = [ident for ids in results for ident in ids]
    assert len(set(every)) == len(every) == 6 * 5000
    assert len({id_parts(int(ids[0]))[1] for ids in results}) == 6  # type: ignore[arg-type]


async def test_concurrent_likes_and_crossing_follows_keep_exact_counts(
    db: PostgresDatabase,
) -> None:
    await migrate(db)
    store = PrimaryStore(db)
    users = list(range(1, 41))
    for uid in users:
        await store.accounts.create_user(uid, f"user{uid}", "x", "", 0)
    await store.media.create_media(MediaRecord(1000, 1, "", 10, 10, 0, 0, 0), [])

    async def like_twice(uid: int) -> None:
        async with store.reactions.like(5000 + uid, 1000, uid, 0):
            pass
        async with store.reactions.like(6000 + uid, 1000, uid, 0):  # idempotent
            pass

    async def follow_both_ways(a: int, b: int) -> None:
        await asyncio.gather(
            store.graph.follow(10_000 + a * 100 + b, a, b, 0, []),
            store.graph.follow(10_000 + b * 100 + a, b, a, 0, []),
        )

    await asyncio.gather(
        *(like_twice(uid) for uid in users),
        *(follow_both_ways(a, a + 1) for a in range(1, 40, 2)),
    )
    media = await store.media.media([1000])
    assert media[1000].like_count == 40
    found = await store.accounts.users(users)
    assert all(found[uid].follower_count == 1 and found[uid].following_count == 1 for uid in users)
