"""Photo posts, with the owner's ``media_count`` kept in the writing transaction."""

from __future__ import annotations

from collections.abc import Sequence

from gramstack.records import Change, MediaRecord, NewJob
from gramstack.storage.ports import Database, Row
from gramstack.storage.queries import before, by_ids
from gramstack.storage.transaction import Writer

MEDIA_COLUMNS = "id, owner_id, caption, width, height, created_at, like_count, comment_count"


def _media(row: Row) -> MediaRecord:
    return MediaRecord(**row)


class SqlMediaStore:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._db: Database = writer.db

    async def create_media(self, media: MediaRecord, jobs: Sequence[NewJob]) -> MediaRecord:
        async with self._writer.transaction(for_user=media.owner_id, now=media.created_at) as tx:
            await tx.conn.execute(
                "INSERT INTO media (id, owner_id, caption, width, height, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                media.id,
                media.owner_id,
                media.caption,
                media.width,
                media.height,
                media.created_at,
            )
            await tx.conn.execute(
                "UPDATE users SET media_count = media_count + 1 WHERE id = $1", media.owner_id
            )
            tx.enqueue(*jobs)
            tx.changed(
                Change("media", "insert", {"id": media.id, "owner_id": media.owner_id}),
                Change("users", "update", {"id": media.owner_id}),
            )
        return media

    async def media(
        self, ids: Sequence[int], *, viewer: int | None = None
    ) -> dict[int, MediaRecord]:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return {}
        rows = await by_ids(self._db, f"SELECT {MEDIA_COLUMNS} FROM media", unique, viewer)
        return {row["id"]: _media(row) for row in rows}

    async def delete_media(
        self, media_id: int, now: int, jobs: Sequence[NewJob], *, actor: int | None = None
    ) -> bool:
        """False when there was no such media (nothing is written then)."""
        async with self._writer.transaction(for_user=actor, now=now) as tx:
            owner = await tx.conn.fetchval(
                "DELETE FROM media WHERE id = $1 RETURNING owner_id", media_id
            )
            if owner is None:
                return False
            await tx.conn.execute(
                "UPDATE users SET media_count = media_count - 1 WHERE id = $1", owner
            )
            await tx.conn.execute("DELETE FROM likes WHERE media_id = $1", media_id)
            await tx.conn.execute("DELETE FROM comments WHERE media_id = $1", media_id)
            tx.enqueue(*jobs)
            # The likes go with it; their membership keys name media that no
            # longer exists, which hydration drops, so they need no eviction.
            tx.changed(
                Change("media", "delete", {"id": media_id, "owner_id": int(owner)}),
                Change("users", "update", {"id": int(owner)}),
            )
        return True

    async def user_media_page(
        self, owner: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[MediaRecord]:
        async with self._db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                f"SELECT {MEDIA_COLUMNS} FROM media WHERE owner_id = $1 AND id < $2"
                " ORDER BY id DESC LIMIT $3",
                owner,
                before(after),
                limit,
            )
        return [_media(row) for row in rows]
