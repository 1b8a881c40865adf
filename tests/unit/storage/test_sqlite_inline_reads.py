"""SQLite reads on the event-loop thread: cheap ones answer there, costly
ones move to the pooled connections
and still answer correctly, and every connection maps the file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gramstack.storage import sqlite as sqlite_module
from gramstack.storage.schema import migrate
from gramstack.storage.sqlite import SqliteDatabase


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = SqliteDatabase(tmp_path / "primary.db")
    await database.open()
    await migrate(database)
    async with database.write() as conn:
        await conn.execute(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, 'x', $3)",
            7,
            "seven",
            1000,
        )
    yield database
    await database.close()


async def test_an_index_seek_answers_on_the_loop_thread(db: SqliteDatabase) -> None:
    inline, deferred = db.inline_reads
    async with db.read() as conn:
        row = await conn.fetchrow("SELECT id, username FROM users WHERE id = $1", 7)
        missing = await conn.fetchrow("SELECT id FROM users WHERE id = $1", 8)
        value = await conn.fetchval("SELECT username FROM users WHERE id = $1", 7)
        rows = await conn.fetch("SELECT id FROM users WHERE id >= $1 ORDER BY id", 0)
    assert row == {"id": 7, "username": "seven"}
    assert missing is None
    assert value == "seven"
    assert rows == [{"id": 7}]
    assert db.inline_reads == (inline + 4, deferred)


async def test_a_costly_read_moves_off_the_loop_and_still_answers(db: SqliteDatabase) -> None:
    # Far past the inline budget of VM steps.
    costly = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)"
        " SELECT count(*) AS c, sum(i) AS s FROM n"
    )
    inline, deferred = db.inline_reads
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(ticker())
    try:
        async with db.read() as conn:
            row = await conn.fetchrow(costly, 500_000)
            rows = await conn.fetch(costly, 500_000)
    finally:
        running.cancel()
    assert row == {"c": 500_000, "s": 500_000 * 500_001 // 2}
    assert rows == [row]
    assert db.inline_reads == (inline, deferred + 2)
    assert ticks > 0  # the loop ran other work while the pool counted


async def test_every_connection_maps_the_file(db: SqliteDatabase) -> None:
    async with db.read() as conn:
        inline = await conn.fetchval("PRAGMA mmap_size")
    async with db.write() as conn:
        writer = await conn.fetchval("PRAGMA mmap_size")
    assert inline == writer == sqlite_module.MMAP_BYTES


async def test_inline_rows_are_dicts_by_column_name(db: SqliteDatabase) -> None:
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, 'x', $3)",
            [(8, "eight", 2000), (9, "nine", 3000)],
        )
    async with db.read() as conn:
        rows = await conn.fetch(
            "SELECT id, username AS name, created_at FROM users WHERE id >= $1 ORDER BY id DESC",
            8,
        )
        ids = await conn.fetch("SELECT id FROM users ORDER BY id")
        none = await conn.fetch("SELECT id, username FROM users WHERE id > $1", 100)
    assert rows == [
        {"id": 9, "name": "nine", "created_at": 3000},
        {"id": 8, "name": "eight", "created_at": 2000},
    ]
    assert ids == [{"id": 7}, {"id": 8}, {"id": 9}]
    assert none == []


async def test_one_read_context_serves_concurrent_readers(db: SqliteDatabase) -> None:
    async def read(user_id: int) -> object:
        async with db.read(for_user=user_id) as conn:
            await asyncio.sleep(0)
            return await conn.fetchval("SELECT username FROM users WHERE id = $1", user_id)

    assert await asyncio.gather(read(7), read(8), read(7)) == ["seven", None, "seven"]


async def test_a_closed_database_refuses_reads(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "closed.db")
    with pytest.raises(RuntimeError):
        database.read()
    await database.open()
    await database.close()
    with pytest.raises(RuntimeError):
        database.read()
