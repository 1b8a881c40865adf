"""What account deletion clears, in bounded batches.

Each kind of row the account made is cleared by two calls: ``*_batch``
reads up to ``limit`` of them (with what the caller must clean outside this
database first: inbox items, timelines, blobs), then ``delete_*`` deletes
exactly those rows by ID and corrects the counters of the rows it really
deleted (``DELETE … RETURNING``), in one transaction. Run twice, or by two
workers at once, the second finds nothing to delete and decrements nothing:
the deletion job may be retried at any point.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from gramstack.records import Change
from gramstack.storage.ports import Connection, Database
from gramstack.storage.queries import in_list
from gramstack.storage.transaction import Writer


async def _decrement(conn: Connection, table: str, column: str, ids: Sequence[int]) -> None:
    # In ID order, as every other counter update, so concurrent writers
    # lock rows in one order and cannot deadlock.
    for row_id, n in sorted(Counter(ids).items()):
        await conn.execute(f"UPDATE {table} SET {column} = {column} - $2 WHERE id = $1", row_id, n)


class SqlAccountErasure:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._db: Database = writer.db

    async def _read(self, sql: str, *args: object) -> list[tuple[int, ...]]:
        async with self._db.read(fresh=True) as conn:
            rows = await conn.fetch(sql, *args)
        return [tuple(int(v) for v in row.values()) for row in rows]

    # -- follows --------------------------------------------------------------

    async def following_batch(self, user_id: int, limit: int) -> list[tuple[int, int]]:
        """(follow ID, followee ID) of follows the user made."""
        rows = await self._read(
            "SELECT id, followee_id FROM follows WHERE follower_id = $1 ORDER BY id LIMIT $2",
            user_id,
            limit,
        )
        return [(r[0], r[1]) for r in rows]

    async def follower_batch(self, user_id: int, limit: int) -> list[tuple[int, int]]:
        """(follow ID, follower ID) of follows of the user."""
        rows = await self._read(
            "SELECT id, follower_id FROM follows WHERE followee_id = $1 ORDER BY id LIMIT $2",
            user_id,
            limit,
        )
        return [(r[0], r[1]) for r in rows]

    async def delete_follows(self, follow_ids: Sequence[int]) -> int:
        if not follow_ids:
            return 0
        async with self._writer.transaction() as tx:
            rows = await tx.conn.fetch(
                f"DELETE FROM follows WHERE id IN ({in_list(follow_ids)})"
                " RETURNING follower_id, followee_id",
                *follow_ids,
            )
            pairs = [(int(r["follower_id"]), int(r["followee_id"])) for r in rows]
            updates = [(a, "following_count") for a, _ in pairs]
            updates += [(b, "follower_count") for _, b in pairs]
            for (user_id, column), n in sorted(Counter(updates).items()):
                await tx.conn.execute(
                    f"UPDATE users SET {column} = {column} - $2 WHERE id = $1", user_id, n
                )
            for follower, followee in pairs:
                row = {"follower_id": follower, "followee_id": followee}
                tx.changed(Change("follows", "delete", row))
            for user_id in {u for pair in pairs for u in pair}:
                tx.changed(Change("users", "update", {"id": user_id}))
        return len(pairs)

    # -- likes and comments ---------------------------------------------------

    async def like_batch(self, user_id: int, limit: int) -> list[tuple[int, int, int]]:
        """(like ID, media ID, media owner ID) of the user's likes."""
        rows = await self._read(
            "SELECT l.id, l.media_id, m.owner_id FROM likes l JOIN media m ON m.id = l.media_id"
            " WHERE l.user_id = $1 ORDER BY l.id LIMIT $2",
            user_id,
            limit,
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def delete_likes(self, like_ids: Sequence[int]) -> int:
        if not like_ids:
            return 0
        async with self._writer.transaction() as tx:
            rows = await tx.conn.fetch(
                f"DELETE FROM likes WHERE id IN ({in_list(like_ids)}) RETURNING media_id, user_id",
                *like_ids,
            )
            media_ids = [int(r["media_id"]) for r in rows]
            await _decrement(tx.conn, "media", "like_count", media_ids)
            for r in rows:
                row = {"user_id": int(r["user_id"]), "media_id": int(r["media_id"])}
                tx.changed(Change("likes", "delete", row))
            for media_id in set(media_ids):
                tx.changed(Change("media", "update", {"id": media_id}))
        return len(rows)

    async def comment_batch(self, user_id: int, limit: int) -> list[tuple[int, int, int]]:
        """(comment ID, media ID, media owner ID) of the user's comments."""
        rows = await self._read(
            "SELECT c.id, c.media_id, m.owner_id FROM comments c"
            " JOIN media m ON m.id = c.media_id"
            " WHERE c.author_id = $1 ORDER BY c.id LIMIT $2",
            user_id,
            limit,
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def delete_comments(self, comment_ids: Sequence[int]) -> int:
        if not comment_ids:
            return 0
        async with self._writer.transaction() as tx:
            rows = await tx.conn.fetch(
                f"DELETE FROM comments WHERE id IN ({in_list(comment_ids)}) RETURNING media_id",
                *comment_ids,
            )
            media_ids = [int(r["media_id"]) for r in rows]
            await _decrement(tx.conn, "media", "comment_count", media_ids)
            for media_id in set(media_ids):
                tx.changed(Change("media", "update", {"id": media_id}))
        return len(rows)

    # -- media ----------------------------------------------------------------

    async def media_batch(self, user_id: int, limit: int) -> list[int]:
        rows = await self._read(
            "SELECT id FROM media WHERE owner_id = $1 ORDER BY id LIMIT $2", user_id, limit
        )
        return [r[0] for r in rows]

    async def delete_media(self, owner_id: int, media_ids: Sequence[int]) -> int:
        """The posts with the likes and comments on them (by anyone: they
        count only toward these posts, which go)."""
        if not media_ids:
            return 0
        listed = in_list(media_ids)
        async with self._writer.transaction() as tx:
            await tx.conn.execute(f"DELETE FROM likes WHERE media_id IN ({listed})", *media_ids)
            await tx.conn.execute(f"DELETE FROM comments WHERE media_id IN ({listed})", *media_ids)
            rows = await tx.conn.fetch(
                f"DELETE FROM media WHERE id IN ({listed}) RETURNING id", *media_ids
            )
            await _decrement(tx.conn, "users", "media_count", [owner_id] * len(rows))
            for r in rows:
                row = {"id": int(r["id"]), "owner_id": owner_id}
                tx.changed(Change("media", "delete", row))
            tx.changed(Change("users", "update", {"id": owner_id}))
        return len(rows)

    # -- the account itself -----------------------------------------------------

    async def avatar_of_deleted(self, user_id: int) -> int | None:
        async with self._db.read(fresh=True) as conn:
            value = await conn.fetchval(
                "SELECT avatar_id FROM users WHERE id = $1 AND deleted_at IS NOT NULL", user_id
            )
        return None if value is None else int(value)

    async def delete_account(self, user_id: int) -> bool:
        """The last step: its sessions, search words and row. Only an account
        marked deleted, so a retried job cannot touch anything else."""
        async with self._writer.transaction(for_user=user_id) as tx:
            gone = await tx.conn.fetchval(
                "DELETE FROM users WHERE id = $1 AND deleted_at IS NOT NULL RETURNING id",
                user_id,
            )
            if gone is not None:
                await tx.conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
                await tx.conn.execute("DELETE FROM user_words WHERE user_id = $1", user_id)
                tx.changed(Change("users", "delete", {"id": user_id}))
        return gone is not None
