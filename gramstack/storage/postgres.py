"""PostgreSQL through an asyncpg pool: one node, leader or follower.

``FollowerRouter`` (storage/router.py) puts several of these behind the one
``Database`` port; on its own this adapter is a complete primary store with
every read and write on the same server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from gramstack.storage.ports import Dialect, Row

# Positions as plain byte offsets: comparable ints, no pg_lsn codec needed.
INSERT_LSN_SQL = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"
FLUSH_LSN_SQL = "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint"
REPLAY_LSN_SQL = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
CONNECT_TIMEOUT_S = 2.0


class PostgresConnection:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(row) for row in await self._conn.fetch(sql, *args)]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._conn.fetchrow(sql, *args)
        return None if row is None else dict(row)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(sql, *args)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, args)


class PostgresDatabase:
    dialect: Dialect = "postgres"

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            timeout=CONNECT_TIMEOUT_S,
            server_settings={"application_name": "gramstack"},
        )

    async def ensure_open(self) -> None:
        """Open the pool unless it is; a follower that was down at start is
        opened by the router's first successful poll."""
        if self._pool is None:
            await self.open()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        if self._pool is None:
            raise RuntimeError("database is not open")
        async with self._pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def read(
        self, *, for_user: int | None = None, fresh: bool = False
    ) -> AsyncIterator[PostgresConnection]:
        # No transaction: each statement sees the latest commit on this node.
        async with self._connection() as conn:
            yield PostgresConnection(conn)

    @asynccontextmanager
    async def write(
        self, *, for_user: int | None = None, lsn_out: list[int] | None = None
    ) -> AsyncIterator[PostgresConnection]:
        """A transaction; with ``lsn_out``, the WAL insert position after the
        commit is appended to it (what a follower must replay to see it)."""
        async with self._connection() as conn:
            async with conn.transaction():
                yield PostgresConnection(conn)
            if lsn_out is not None:
                lsn_out.append(int(await conn.fetchval(INSERT_LSN_SQL)))

    async def replay_lsn(self) -> int | None:
        """How far this node (a follower) has replayed the leader's WAL."""
        async with self._connection() as conn:
            value = await conn.fetchval(REPLAY_LSN_SQL)
        return None if value is None else int(value)

    async def flush_lsn(self) -> int:
        """The end of the WAL on disk: what a follower can have received.
        (The insert position can sit past a page or segment header that no
        follower ever reports as replayed, so lag is measured against this.)"""
        async with self._connection() as conn:
            return int(await conn.fetchval(FLUSH_LSN_SQL))

    async def system_identifier(self) -> str:
        async with self._connection() as conn:
            value = await conn.fetchval("SELECT system_identifier FROM pg_control_system()")
        return str(value)

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.fetchval("SELECT 1")

    def replica_states(self) -> Mapping[str, str]:
        return {}

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), 5)
            except TimeoutError:
                pool.terminate()
