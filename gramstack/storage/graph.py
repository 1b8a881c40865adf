"""The follow graph, with both users' counters kept in the writing transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from gramstack.records import Action, Change, NewJob
from gramstack.storage.ports import Connection, Database
from gramstack.storage.queries import before, viewer_edges
from gramstack.storage.transaction import Transaction, Writer


async def _count_follow(conn: Connection, follower: int, followee: int, delta: int) -> None:
    """Both users' counters, locked in ID order: A following B while B
    follows A must not deadlock on PostgreSQL's row locks."""
    updates = [
        (follower, "following_count"),
        (followee, "follower_count"),
    ]
    for user_id, column in sorted(updates):
        await conn.execute(
            f"UPDATE users SET {column} = {column} + $2 WHERE id = $1", user_id, delta
        )


def _follow_changes(action: Action, follower: int, followee: int) -> list[Change]:
    return [
        Change("follows", action, {"follower_id": follower, "followee_id": followee}),
        Change("users", "update", {"id": follower}),
        Change("users", "update", {"id": followee}),
    ]


class SqlGraphStore:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._db: Database = writer.db

    async def follow(
        self, follow_id: int, follower: int, followee: int, now: int, jobs: Sequence[NewJob]
    ) -> bool:
        """True when the follow is new; counters and jobs only then."""
        async with self._writer.transaction(for_user=follower, now=now) as tx:
            created = await tx.conn.fetchval(
                # Never onto a deleted account (a cached username may still name it).
                "INSERT INTO follows (id, follower_id, followee_id, created_at)"
                " SELECT $1, $2, $3, $4 WHERE EXISTS"
                " (SELECT 1 FROM users WHERE id = $3 AND deleted_at IS NULL)"
                " ON CONFLICT (follower_id, followee_id) DO NOTHING"
                " RETURNING id",
                follow_id,
                follower,
                followee,
                now,
            )
            if created is None:
                return False
            await _count_follow(tx.conn, follower, followee, 1)
            tx.enqueue(*jobs)
            tx.changed(*_follow_changes("insert", follower, followee))
        return True

    @asynccontextmanager
    async def unfollow(
        self, follower: int, followee: int, now: int
    ) -> AsyncIterator[tuple[int | None, Transaction]]:
        """The removed follow's ID (None if there was none), and the open
        transaction for the jobs that name it; commits when the block ends."""
        async with self._writer.transaction(for_user=follower, now=now) as tx:
            follow_id = await tx.conn.fetchval(
                "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING id",
                follower,
                followee,
            )
            if follow_id is not None:
                await _count_follow(tx.conn, follower, followee, -1)
                tx.changed(*_follow_changes("delete", follower, followee))
            yield (None if follow_id is None else int(follow_id)), tx

    async def followed_among(self, viewer: int, candidates: Sequence[int]) -> set[int]:
        return await viewer_edges(
            self._db, "follows", "follower_id", "followee_id", viewer, candidates
        )

    async def followers_page(
        self, user_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[tuple[int, int]]:
        """(follow ID, follower ID), newest follow first."""
        return await self._edge_page("follower_id", "followee_id", user_id, after, limit, viewer)

    async def following_page(
        self, user_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[tuple[int, int]]:
        return await self._edge_page("followee_id", "follower_id", user_id, after, limit, viewer)

    async def _edge_page(
        self,
        select: str,
        match: str,
        user_id: int,
        after: int | None,
        limit: int,
        viewer: int | None,
    ) -> list[tuple[int, int]]:
        async with self._db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                f"SELECT id, {select} AS other FROM follows WHERE {match} = $1"
                " AND id < $2 ORDER BY id DESC LIMIT $3",
                user_id,
                before(after),
                limit,
            )
        return [(row["id"], row["other"]) for row in rows]

    async def follower_ids_after(self, user_id: int, after: int, limit: int) -> list[int]:
        """Follower IDs in ascending order, for fan-out batches; read on the
        leader, so no follow committed before the post is missed."""
        async with self._db.read(fresh=True) as conn:
            rows = await conn.fetch(
                "SELECT follower_id FROM follows WHERE followee_id = $1 AND follower_id > $2"
                " ORDER BY follower_id LIMIT $3",
                user_id,
                after,
                limit,
            )
        return [row["follower_id"] for row in rows]

    async def followed_with_followers_over(self, viewer: int, threshold: int) -> list[int]:
        """The accounts ``viewer`` follows that have more than ``threshold``
        followers (their posts are pulled into the feed, not fanned out):
        one index range of the viewer's follows, each joined by primary key."""
        async with self._db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                "SELECT f.followee_id FROM follows f JOIN users u ON u.id = f.followee_id"
                " WHERE f.follower_id = $1 AND u.follower_count > $2 ORDER BY f.followee_id",
                viewer,
                threshold,
            )
        return [row["followee_id"] for row in rows]
