"""Bulk writers for the seed: many rows per round trip, few transactions.

The ``Database`` port moves rows one statement at a time (aiosqlite hops to
a helper thread per call); a seed of millions of rows wants the drivers'
bulk paths instead: ``executemany`` on one ``sqlite3`` connection in a few
large transactions, and ``COPY`` through asyncpg on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import asyncpg

_LOAD_PRAGMAS = (
    "PRAGMA busy_timeout = 10000",  # leaving WAL waits for other connections to close
    "PRAGMA journal_mode = OFF",
    "PRAGMA synchronous = OFF",
    "PRAGMA locking_mode = EXCLUSIVE",
    "PRAGMA cache_size = -262144",  # 256 MiB: the unique indexes take rows in random order
    "PRAGMA temp_store = MEMORY",  # the sorts of the index builds after the load
)
_SERVE_PRAGMAS = (
    "PRAGMA locking_mode = NORMAL",
    "PRAGMA journal_mode = WAL",  # persistent in the file: what the servers open
    "PRAGMA synchronous = NORMAL",
    # No ANALYZE: servers never run one, so the planner sees a seeded file
    # as it sees one grown through the API.
)


class BulkWriter(Protocol):
    async def drop_indexes(self, table: str) -> list[str]:
        """Drop ``table``'s plain (non-constraint) indexes; returns the
        statements that create them again. Building an index once after the
        load costs about half the CPU of keeping it current row by row."""
        ...

    async def execute(self, sql: str) -> None: ...

    async def insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Add ``rows`` to ``table``, in the transaction that :meth:`commit` ends."""
        ...

    async def scalar(self, sql: str) -> Any: ...

    async def commit(self) -> None: ...

    async def close(self) -> None: ...


class SqliteBulkWriter:
    """One ``sqlite3`` connection holding the file to itself for the load.

    While it is open there is no rollback journal, no waiting for the disk
    and no lock to take per transaction: a seed that dies half-way is begun
    again on a fresh file, so there is nothing to roll back to. :meth:`close`
    restores what a server expects (WAL, normal syncs and locking).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in _LOAD_PRAGMAS:
            self._conn.execute(pragma)
        self._conn.execute("BEGIN")

    async def drop_indexes(self, table: str) -> list[str]:
        found = self._conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        ).fetchall()
        for name, _ in found:
            self._conn.execute(f'DROP INDEX "{name}"')
        return [sql for _, sql in found]

    async def execute(self, sql: str) -> None:
        self._conn.execute(sql)

    async def insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        marks = ", ".join("?" for _ in columns)
        self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    async def scalar(self, sql: str) -> Any:
        row = self._conn.execute(sql).fetchone()
        return None if row is None else row[0]

    async def commit(self) -> None:
        self._conn.execute("COMMIT")
        self._conn.execute("BEGIN")

    async def close(self) -> None:
        self._conn.execute("COMMIT")
        for pragma in _SERVE_PRAGMAS:
            self._conn.execute(pragma)
        self._conn.close()


class PostgresBulkWriter:
    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._tx: Any = None

    @classmethod
    async def connect(cls, dsn: str) -> PostgresBulkWriter:
        writer = cls(await asyncpg.connect(dsn))
        await writer._begin()
        return writer

    async def _begin(self) -> None:
        self._tx = self._conn.transaction()
        await self._tx.start()

    async def drop_indexes(self, table: str) -> list[str]:
        found = await self._conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i"
            " WHERE i.schemaname = current_schema() AND i.tablename = $1"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            table,
        )
        for row in found:
            await self._conn.execute(f'DROP INDEX "{row["indexname"]}"')
        return [row["indexdef"] for row in found]

    async def execute(self, sql: str) -> None:
        await self._conn.execute(sql)

    async def insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def scalar(self, sql: str) -> Any:
        return await self._conn.fetchval(sql)

    async def commit(self) -> None:
        await self._tx.commit()
        await self._begin()

    async def close(self) -> None:
        await self._tx.commit()
        # Fresh statistics, or the planner guesses on tables it saw empty.
        await self._conn.execute("ANALYZE users, follows, media, likes, comments")
        await self._conn.close()
