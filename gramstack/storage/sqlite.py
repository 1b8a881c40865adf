"""SQLite in WAL mode: the embedded primary store.

One writer connection per process (SQLite allows one writer at a time
anyway; ``BEGIN IMMEDIATE`` plus ``busy_timeout`` queue writers of other
processes) and a small pool of reader connections, which WAL lets run
alongside the writer.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from gramstack.storage.ports import BackendUnavailable, Dialect, Row

_PLACEHOLDER = re.compile(r"\$(\d+)")

# SQLite's ways of saying the file cannot be used now (held by a writer past
# busy_timeout, the disk failing or full), as opposed to a bad statement.
_UNAVAILABLE = ("database is locked", "disk i/o error", "unable to open", "disk is full")


def _unavailable(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return any(reason in text for reason in _UNAVAILABLE)


@asynccontextmanager
async def _as_unavailable(node: str) -> AsyncIterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if _unavailable(exc):
            raise BackendUnavailable(node, str(exc)) from exc
        raise


def _sqlite_sql(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


class SqliteConnection:
    def __init__(self, conn: aiosqlite.Connection, node: str = "sqlite") -> None:
        self._conn = conn
        self._node = node

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with (
            _as_unavailable(self._node),
            self._conn.execute(_sqlite_sql(sql), args) as cursor,
        ):
            rows = await cursor.fetchall()
        return [dict(row) for row in rows]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with (
            _as_unavailable(self._node),
            self._conn.execute(_sqlite_sql(sql), args) as cursor,
        ):
            row = await cursor.fetchone()
        return None if row is None else dict(row)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else next(iter(row.values()))

    async def execute(self, sql: str, *args: Any) -> None:
        async with _as_unavailable(self._node):
            await self._conn.execute(_sqlite_sql(sql), args)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        async with _as_unavailable(self._node):
            await self._conn.executemany(_sqlite_sql(sql), args)


async def _open(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA busy_timeout = 10000")
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class SqliteDatabase:
    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, readers: int = 4) -> None:
        self.path = path
        self.name = f"sqlite:{path.name}"
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []

    async def open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The file holds password hashes: owner-only, and SQLite gives its
        # -wal and -shm files the database file's mode.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(self.path, 0o600)
        self._writer = await _open(self.path)
        self._all.append(self._writer)
        for _ in range(self._reader_count):
            conn = await _open(self.path)
            self._all.append(conn)
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def read(
        self, *, for_user: int | None = None, fresh: bool = False
    ) -> AsyncIterator[SqliteConnection]:
        # One file: every reader sees the latest commit, so ``fresh`` is free.
        conn = await self._readers.get()
        try:
            yield SqliteConnection(conn, self.name)
        finally:
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def write(
        self, *, for_user: int | None = None, lsn_out: list[int] | None = None
    ) -> AsyncIterator[SqliteConnection]:
        # One file, no followers: no position to report.
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            async with _as_unavailable(self.name):
                await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteConnection(self._writer, self.name)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                async with _as_unavailable(self.name):
                    await self._writer.execute("COMMIT")

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.fetchval("SELECT 1")

    def replica_states(self) -> Mapping[str, str]:
        return {}

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()
        self._all.clear()
        self._writer = None
