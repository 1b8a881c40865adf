"""Likes and comments on media, with the media's counters kept in the
writing transaction.

Writes whose follow-up jobs depend on what the transaction finds (the
media's owner, the removed like's ID) are context managers: they yield
what they found and the open transaction, the caller enqueues the jobs
(``tx.enqueue``), and the block's end commits. ``None`` in place of the
outcome means the media does not exist; the transaction is then rolled
back however the block ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from gramstack.records import Action, Change, CommentRecord, LikeOutcome, NewJob
from gramstack.storage.ports import Database, Row
from gramstack.storage.queries import before, viewer_edges
from gramstack.storage.transaction import Transaction, Writer


class MissingMedia(LookupError):
    """Raised to roll back a write on media that does not exist, when the
    block given ``None`` did not raise itself."""


def _comment(row: Row) -> CommentRecord:
    return CommentRecord(**row)


def _like_changes(action: Action, media_id: int, user_id: int) -> list[Change]:
    return [
        Change("likes", action, {"user_id": user_id, "media_id": media_id}),
        Change("media", "update", {"id": media_id}),
    ]


class SqlReactionStore:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._db: Database = writer.db

    # -- likes ---------------------------------------------------------------

    @asynccontextmanager
    async def like(
        self, like_id: int, media_id: int, user_id: int, now: int
    ) -> AsyncIterator[tuple[LikeOutcome | None, Transaction]]:
        async with self._writer.transaction(for_user=user_id, now=now) as tx:
            created = await tx.conn.fetchval(
                "INSERT INTO likes (id, media_id, user_id, created_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (media_id, user_id) DO NOTHING RETURNING id",
                like_id,
                media_id,
                user_id,
                now,
            )
            if created is not None:
                row = await tx.conn.fetchrow(
                    "UPDATE media SET like_count = like_count + 1 WHERE id = $1"
                    " RETURNING like_count, owner_id",
                    media_id,
                )
            else:
                row = await tx.conn.fetchrow(
                    "SELECT like_count, owner_id FROM media WHERE id = $1", media_id
                )
            if row is None:
                yield None, tx
                raise MissingMedia(media_id)
            if created is not None:
                tx.changed(*_like_changes("insert", media_id, user_id))
            liked = None if created is None else int(created)
            yield LikeOutcome(liked, int(row["like_count"]), int(row["owner_id"])), tx

    @asynccontextmanager
    async def unlike(
        self, media_id: int, user_id: int, now: int
    ) -> AsyncIterator[tuple[LikeOutcome | None, Transaction]]:
        async with self._writer.transaction(for_user=user_id, now=now) as tx:
            like_id = await tx.conn.fetchval(
                "DELETE FROM likes WHERE media_id = $1 AND user_id = $2 RETURNING id",
                media_id,
                user_id,
            )
            if like_id is not None:
                row = await tx.conn.fetchrow(
                    "UPDATE media SET like_count = like_count - 1 WHERE id = $1"
                    " RETURNING like_count, owner_id",
                    media_id,
                )
            else:
                row = await tx.conn.fetchrow(
                    "SELECT like_count, owner_id FROM media WHERE id = $1", media_id
                )
            if row is None:
                yield None, tx
                raise MissingMedia(media_id)
            if like_id is not None:
                tx.changed(*_like_changes("delete", media_id, user_id))
            removed = None if like_id is None else int(like_id)
            yield LikeOutcome(removed, int(row["like_count"]), int(row["owner_id"])), tx

    async def liked_among(self, viewer: int, media_ids: Sequence[int]) -> set[int]:
        return await viewer_edges(self._db, "likes", "user_id", "media_id", viewer, media_ids)

    async def likers_page(
        self, media_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[tuple[int, int]]:
        """(like ID, user ID), newest like first."""
        async with self._db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                "SELECT id, user_id FROM likes WHERE media_id = $1 AND id < $2"
                " ORDER BY id DESC LIMIT $3",
                media_id,
                before(after),
                limit,
            )
        return [(row["id"], row["user_id"]) for row in rows]

    # -- comments ------------------------------------------------------------

    @asynccontextmanager
    async def add_comment(
        self, comment: CommentRecord
    ) -> AsyncIterator[tuple[int | None, Transaction]]:
        """Store the comment; yields the media owner's ID."""
        async with self._writer.transaction(
            for_user=comment.author_id, now=comment.created_at
        ) as tx:
            owner = await tx.conn.fetchval(
                "UPDATE media SET comment_count = comment_count + 1 WHERE id = $1"
                " RETURNING owner_id",
                comment.media_id,
            )
            if owner is None:
                yield None, tx
                raise MissingMedia(comment.media_id)
            await tx.conn.execute(
                "INSERT INTO comments (id, media_id, author_id, text, created_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                comment.id,
                comment.media_id,
                comment.author_id,
                comment.text,
                comment.created_at,
            )
            tx.changed(Change("media", "update", {"id": comment.media_id}))
            yield int(owner), tx

    async def comment_with_owner(self, comment_id: int) -> tuple[CommentRecord, int] | None:
        """The comment and its media's owner, read on the leader (it guards a delete)."""
        async with self._db.read(fresh=True) as conn:
            row = await conn.fetchrow(
                "SELECT c.id, c.media_id, c.author_id, c.text, c.created_at, m.owner_id"
                " FROM comments c JOIN media m ON m.id = c.media_id WHERE c.id = $1",
                comment_id,
            )
        if row is None:
            return None
        fields = dict(row)
        owner = fields.pop("owner_id")
        return _comment(fields), int(owner)

    async def delete_comment(
        self, comment_id: int, now: int, jobs: Sequence[NewJob], *, actor: int | None = None
    ) -> bool:
        async with self._writer.transaction(for_user=actor, now=now) as tx:
            media_id = await tx.conn.fetchval(
                "DELETE FROM comments WHERE id = $1 RETURNING media_id", comment_id
            )
            if media_id is None:
                return False
            await tx.conn.execute(
                "UPDATE media SET comment_count = comment_count - 1 WHERE id = $1", media_id
            )
            tx.enqueue(*jobs)
            tx.changed(Change("media", "update", {"id": int(media_id)}))
        return True

    async def comments_page(
        self, media_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[CommentRecord]:
        """Oldest first."""
        async with self._db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                "SELECT id, media_id, author_id, text, created_at FROM comments"
                " WHERE media_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                media_id,
                after if after is not None else -1,
                limit,
            )
        return [_comment(row) for row in rows]
