"""The outbox table: the rows each write changed, recorded in the writing
transaction (``append``) and read back in commit order (``OutboxReader``),
so every process can evict what changed from its own cache.

``invalidation.outbox`` tails it; this module only knows the table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gramstack.records import Change
from gramstack.storage.ports import Connection, Database


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def encode(changes: Sequence[Change]) -> str:
    return json.dumps([[c.table, c.action, dict(c.row)] for c in changes])


def decode(text: str) -> list[Change]:
    return [Change(table, action, row) for table, action, row in json.loads(text)]


async def append(conn: Connection, changes: Sequence[Change], now_ms: int | None = None) -> int:
    """Record ``changes`` in the caller's transaction; returns the outbox ID.
    Call it last in the transaction: the ID row stays locked until commit."""
    outbox_id = await conn.fetchval(
        "UPDATE outbox_seq SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id"
    )
    await conn.execute(
        "INSERT INTO outbox (id, created_at, changes) VALUES ($1, $2, $3)",
        int(outbox_id),
        _now_ms() if now_ms is None else now_ms,
        encode(changes),
    )
    return int(outbox_id)


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    created_at: int  # ms since the Unix epoch
    changes: list[Change]
    # The leader's WAL position when the entry was read, at or past its
    # commit (PostgreSQL; 0 on SQLite, which has no followers).
    read_at_lsn: int = 0


class OutboxReader:
    """Reads on the leader (``fresh``): a follower may not have the rows yet."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def head(self) -> int:
        """The newest committed outbox ID: where a reader with an empty cache starts."""
        async with self._db.read(fresh=True) as conn:
            value = await conn.fetchval("SELECT last_id FROM outbox_seq WHERE id = 1")
        return int(value or 0)

    async def after(self, position: int, limit: int) -> list[Entry]:
        # The WAL position is taken in the same statement, after its snapshot:
        # every row that snapshot shows committed before it.
        position_sql = (
            "(pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"
            if self._db.dialect == "postgres"
            else "0"
        )
        async with self._db.read(fresh=True) as conn:
            rows = await conn.fetch(
                f"SELECT id, created_at, changes, {position_sql} AS read_at_lsn FROM outbox"
                " WHERE id > $1 ORDER BY id LIMIT $2",
                position,
                limit,
            )
        return [
            Entry(int(r["id"]), int(r["created_at"]), decode(r["changes"]), int(r["read_at_lsn"]))
            for r in rows
        ]

    async def prune(self, older_than_ms: int) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM outbox WHERE created_at < $1", older_than_ms)
