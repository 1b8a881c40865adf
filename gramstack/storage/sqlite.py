"""SQLite in WAL mode: the embedded primary store.

One writer connection per process (SQLite allows one writer at a time
anyway; ``BEGIN IMMEDIATE`` plus ``busy_timeout`` queue writers of other
processes) and a small pool of reader connections, which WAL lets run
alongside the writer.

Reads first run on the event loop's own thread, on a plain ``sqlite3``
connection: a session lookup or a page of rows by index costs a few
microseconds there, against ~150 µs of CPU for aiosqlite's hop to its
helper thread and back. That is safe because a WAL reader never waits for
the writer, and bounded because the connection's progress handler aborts a
statement past ``_INLINE_BUDGET_STEPS`` virtual-machine steps (or one that
would have to wait for a lock: its busy timeout is 0); the read then runs
again on a pooled aiosqlite connection, off the loop. Writes keep going
through aiosqlite, serialized as before.

Every connection maps the file (``mmap_size``): pages are read from the
page cache the kernel shares between workers, instead of each connection
copying them into a private cache.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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


@functools.lru_cache(maxsize=512)  # the statements are a fixed set of literals
def _sqlite_sql(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


# How far one read may go on the event-loop thread, in SQLite VM steps,
# checked every _PROGRESS_EVERY steps. An index seek or a page of 50 rows
# takes a few thousand; 100,000 is about a millisecond of CPU.
_PROGRESS_EVERY = 1_000
_INLINE_BUDGET_STEPS = 100_000
# Shared, read-only mapping of the database file (a ceiling, not a reservation).
MMAP_BYTES = 256 * 1024 * 1024
_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    f"PRAGMA mmap_size = {MMAP_BYTES}",
)


class _OverBudget(Exception):
    """An inline read was stopped (too long, or it would wait for a lock)."""


class InlineReader:
    """A ``sqlite3`` connection used on the event-loop thread for reads.

    Each statement runs to completion (every row fetched) before control
    returns to the loop, so coroutines can share the one connection. In
    autocommit mode every statement reads its own snapshot, as the pooled
    readers do."""

    def __init__(self, path: Path, node: str = "sqlite") -> None:
        self._node = node
        # Plain tuples: ``fetch`` turns them into dicts itself, faster than
        # through ``sqlite3.Row`` (and a single column without ``zip``).
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 0")
        for pragma in _PRAGMAS:
            self._conn.execute(pragma)
        self._steps_left = 0
        self._conn.set_progress_handler(self._progress, _PROGRESS_EVERY)
        self.inline = 0  # statements answered here
        self.deferred = 0  # statements handed to the thread pool

    def _progress(self) -> int:
        self._steps_left -= _PROGRESS_EVERY
        return 1 if self._steps_left <= 0 else 0  # non-zero interrupts the statement

    def fetch(self, sql: str, args: Sequence[Any], *, one: bool) -> list[Row]:
        """The rows, or :class:`_OverBudget` with nothing returned
        (:class:`BackendUnavailable` when the file cannot be used)."""
        self._steps_left = _INLINE_BUDGET_STEPS
        try:
            cursor = self._conn.execute(sql, args)
            try:
                rows = cursor.fetchmany(1) if one else cursor.fetchall()
                names = cursor.description
            finally:
                cursor.close()
        except sqlite3.OperationalError as exc:
            # "interrupted" (the budget) or "locked"/"busy" (a lock held
            # elsewhere): the pooled path may wait, this one may not.
            text = str(exc).lower()
            if "interrupt" in text or "locked" in text or "busy" in text:
                self.deferred += 1
                raise _OverBudget(text) from exc
            if _unavailable(exc):
                raise BackendUnavailable(self._node, str(exc)) from exc
            raise
        self.inline += 1
        if not rows:
            return []
        if len(names) == 1:
            name = names[0][0]
            return [{name: row[0]} for row in rows]
        columns = [column[0] for column in names]
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def close(self) -> None:
        self._conn.close()


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


class SqliteReadConnection:
    """Reads on the loop thread within the step budget, else on the pool."""

    def __init__(self, db: SqliteDatabase, inline: InlineReader) -> None:
        self._db = db
        self._inline = inline

    @asynccontextmanager
    async def _pooled(self) -> AsyncIterator[SqliteConnection]:
        conn = await self._db._readers.get()
        try:
            yield SqliteConnection(conn, self._db.name)
        finally:
            self._db._readers.put_nowait(conn)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return self._inline.fetch(_sqlite_sql(sql), args, one=False)
        except _OverBudget:
            async with self._pooled() as conn:
                return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        try:
            rows = self._inline.fetch(_sqlite_sql(sql), args, one=True)
        except _OverBudget:
            async with self._pooled() as conn:
                return await conn.fetchrow(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else next(iter(row.values()))

    async def execute(self, sql: str, *args: Any) -> None:
        # A statement on a read connection (rare: a read-only pragma or a
        # lock-free query run for its effect) goes the pooled way.
        async with self._pooled() as conn:
            await conn.execute(sql, *args)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        async with self._pooled() as conn:
            await conn.executemany(sql, args)


class _Reading(AbstractAsyncContextManager[SqliteReadConnection]):
    """``async with db.read()``: the read connection, stateless, so one
    instance serves every read (no generator-based context manager per
    statement, the hot path's bookkeeping)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: SqliteReadConnection) -> None:
        self._conn = conn

    async def __aenter__(self) -> SqliteReadConnection:
        return self._conn

    async def __aexit__(self, *exc_info: object) -> None:
        return None


async def _open(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA busy_timeout = 10000")
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    try:
        await conn.execute("SELECT log2(1)")
    except sqlite3.OperationalError:
        # An SQLite built without its math functions: the migrations that
        # recompute explore scores need log2 (the same as Python's).
        await conn.create_function("log2", 1, math.log2, deterministic=True)
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
        self._inline: InlineReader | None = None
        self._reading: _Reading | None = None

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
        self._inline = InlineReader(self.path, self.name)
        self._reading = _Reading(SqliteReadConnection(self, self._inline))

    @property
    def inline_reads(self) -> tuple[int, int]:
        """(statements answered on the loop thread, statements handed to the pool)."""
        if self._inline is None:
            return 0, 0
        return self._inline.inline, self._inline.deferred

    def read(
        self, *, for_user: int | None = None, fresh: bool = False
    ) -> AbstractAsyncContextManager[SqliteReadConnection]:
        # One file: every reader sees the latest commit, so ``fresh`` is free.
        if self._reading is None:
            raise RuntimeError("database is not open")
        return self._reading

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
        if self._inline is not None:
            self._inline.close()
            self._inline = None
            self._reading = None
        self._writer = None
