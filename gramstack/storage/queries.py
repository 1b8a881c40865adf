"""Query shapes the aggregate stores share: lookups by ID that fall back to
the leader, the viewer's edges among a page, and page bounds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gramstack.storage.ports import BackendUnavailable, Database, Row


def in_list(ids: Sequence[int], start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + len(ids)))


def before(after: int | None) -> int:
    """Upper bound for newest-first pages: everything when there is no cursor."""
    return after if after is not None else (1 << 63) - 1


def has_replicas(db: Database) -> bool:
    return bool(db.replica_states())


async def fetchrow_fresh(db: Database, sql: str, *args: Any) -> Row | None:
    """The leader's row; a follower's while the leader is unavailable, so
    reads that want the freshest answer still get one through an outage."""
    try:
        async with db.read(fresh=True) as conn:
            return await conn.fetchrow(sql, *args)
    except BackendUnavailable:
        if not has_replicas(db):
            raise
        async with db.read() as conn:
            return await conn.fetchrow(sql, *args)


async def by_ids(db: Database, select: str, ids: Sequence[int], viewer: int | None) -> list[Row]:
    """``select … WHERE id IN (ids)``. Rows a follower lacks are looked for
    on the leader: the follower may not have them *yet*, and a client that
    holds an ID got it from a node that had the row."""
    sql = f"{select} WHERE id IN ({{}})"
    async with db.read(for_user=viewer) as conn:
        rows = await conn.fetch(sql.format(in_list(ids)), *ids)
    if len(rows) < len(ids) and has_replicas(db):
        found = {row["id"] for row in rows}
        missing = [i for i in ids if i not in found]
        async with db.read(fresh=True) as conn:
            rows += await conn.fetch(sql.format(in_list(missing)), *missing)
    return rows


async def viewer_edges(
    db: Database,
    table: str,
    viewer_column: str,
    other_column: str,
    viewer: int,
    others: Sequence[int],
) -> set[int]:
    """Which of ``others`` the viewer has an edge to (follows, likes): one query a page."""
    unique = list(dict.fromkeys(others))
    if not unique:
        return set()
    async with db.read(for_user=viewer) as conn:
        rows = await conn.fetch(
            f"SELECT {other_column} AS other FROM {table} WHERE {viewer_column} = $1"
            f" AND {other_column} IN ({in_list(unique, 2)})",
            viewer,
            *unique,
        )
    return {row["other"] for row in rows}
