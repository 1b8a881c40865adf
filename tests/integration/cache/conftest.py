"""Real memcached and a real primary store (SQLite, and PostgreSQL from the
dev-cluster code when ``GRAMSTACK_TEST_BACKENDS`` includes it), with a
query counter wrapped around the ``Database`` port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memcached_pool import MemcachedPool
from gramstack.cache.memory import InProcessLeaseCache
from gramstack.cache.ports import LeaseCache
from gramstack.domain.backends import Backends
from gramstack.domain.ids import MAX_SHARD, IdGenerator
from gramstack.domain.models import MediaRecord
from gramstack.invalidation import evict_after_commit
from gramstack.invalidation.outbox import OutboxReader, OutboxSyncedCache, OutboxTailer
from gramstack.runtime.devcluster.memcached import (
    MemcachedProcess,
    memcached_binary,
    start_memcached,
    stop_memcached,
)
from gramstack.storage.ports import Connection, Database, Row
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase
from gramstack.storage.store import PrimaryStore


class CountingConnection:
    def __init__(self, inner: Connection, queries: list[str]) -> None:
        self._inner = inner
        self._queries = queries

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        self._queries.append(sql)
        return await self._inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        self._queries.append(sql)
        return await self._inner.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self._queries.append(sql)
        return await self._inner.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        self._queries.append(sql)
        await self._inner.execute(sql, *args)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        self._queries.append(sql)
        await self._inner.executemany(sql, args)


class CountingDatabase:
    """Every statement sent through the port, in order."""

    def __init__(self, inner: Database) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.queries: list[str] = []

    def reads_of(self, table: str) -> list[str]:
        return [q for q in self.queries if f"FROM {table} " in q + " " and "outbox" not in q]

    @asynccontextmanager
    async def read(
        self, *, for_user: int | None = None, fresh: bool = False
    ) -> AsyncIterator[CountingConnection]:
        async with self.inner.read(for_user=for_user, fresh=fresh) as conn:
            yield CountingConnection(conn, self.queries)

    @asynccontextmanager
    async def write(
        self, *, for_user: int | None = None, lsn_out: list[int] | None = None
    ) -> AsyncIterator[CountingConnection]:
        async with self.inner.write(for_user=for_user, lsn_out=lsn_out) as conn:
            yield CountingConnection(conn, self.queries)

    async def ping(self) -> None:
        await self.inner.ping()

    def replica_states(self) -> Mapping[str, str]:
        return self.inner.replica_states()

    async def close(self) -> None:
        await self.inner.close()


def _backends_wanted() -> list[str]:
    return os.environ.get("GRAMSTACK_TEST_BACKENDS", "sqlite,postgres").split(",")


@pytest.fixture(scope="session")
def memcached_pair() -> Iterator[list[MemcachedProcess]]:
    if memcached_binary() is None:
        pytest.fail("memcached is not installed (make test-deps installs it)")
    servers = [start_memcached(), start_memcached()]
    yield servers
    for server in servers:
        stop_memcached(server)


@pytest.fixture(params=[b for b in ("sqlite", "postgres") if b in _backends_wanted()])
def database_url(request: pytest.FixtureRequest) -> str:
    """ "" for SQLite, else the dev cluster's leader (started synchronously:
    the cluster code runs its own event loop). GRAMSTACK_TEST_BACKENDS
    narrows the backends at collection time, so nothing is skipped."""
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("pg_cluster").database_url)


@pytest.fixture
async def database(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    db: Any
    if not database_url:
        db = SqliteDatabase(tmp_path / "primary.db")
    else:
        from gramstack.storage.postgres import PostgresDatabase

        db = PostgresDatabase(database_url, max_size=20)
    await db.open()
    await migrate(db)
    yield db
    await db.close()


def make_cache(kind: str, servers: Sequence[MemcachedProcess], **options: Any) -> LeaseCache:
    if kind == "memcached":
        return MemcachedLeaseCache(MemcachedPool([s.endpoint for s in servers]), **options)
    return InProcessLeaseCache(1 << 24, **options)


async def make_backends(db: Database, cache: LeaseCache, *, synced: bool = True) -> Backends:
    """What wiring builds, minus what these tests do not touch (``synced``:
    an in-process cache reads the outbox before each request's reads)."""
    if isinstance(cache, InProcessLeaseCache) and synced:
        tailer = OutboxTailer(OutboxReader(db), cache, poll_s=0.05)
        await tailer.start()
        cache = OutboxSyncedCache(cache, tailer)
    store = PrimaryStore(db, on_commit=evict_after_commit(cache))
    b = Backends(
        store=store,
        regions={},
        placement=None,  # type: ignore[arg-type]
        cache=cache,
        blobs=None,  # type: ignore[arg-type]
        process_image=None,  # type: ignore[arg-type]
        passwords=None,  # type: ignore[arg-type]
    )
    shard = await store.leases.lease_id_shard(f"test-{id(b)}", b.clock_ms(), 600_000, MAX_SHARD + 1)
    b.ids = IdGenerator(shard)
    return b


async def seed_user(b: Backends, name: str) -> int:
    user_id = b.next_id()
    created = await b.store.accounts.create_user(user_id, f"{name}{user_id}", "x", "", b.clock_ms())
    assert created is not None
    return user_id


async def seed_media(b: Backends, owner: int) -> int:
    media_id = b.next_id()
    record = MediaRecord(media_id, owner, "c", 10, 10, b.clock_ms(), 0, 0)
    await b.store.media.create_media(record, [])
    return media_id
