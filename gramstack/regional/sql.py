"""The regional store over any ``Database``: one database per region, SQLite
file in the embedded default, PostgreSQL database when scaled out."""

from __future__ import annotations

from collections.abc import Sequence

from gramstack.records import ActivityRecord
from gramstack.storage.ports import Database

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS timeline ("
    " user_id BIGINT NOT NULL, media_id BIGINT NOT NULL, author_id BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, media_id))",
    "CREATE INDEX IF NOT EXISTS timeline_by_media ON timeline (media_id)",
    "CREATE TABLE IF NOT EXISTS inbox ("
    " user_id BIGINT NOT NULL, id BIGINT NOT NULL, type TEXT NOT NULL,"
    " actor_id BIGINT NOT NULL, media_id BIGINT, created_at BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, id))",
]

_NEWEST = (1 << 63) - 1
_REMOVED = "removed"


class SqlRegionalStore:
    def __init__(self, region: str, db: Database) -> None:
        self.region = region
        self.db = db

    async def create_schema(self) -> None:
        async with self.db.write() as conn:
            for statement in _SCHEMA:
                await conn.execute(statement)

    async def add_to_timelines(
        self, user_ids: Sequence[int], media_id: int, author_id: int
    ) -> None:
        if not user_ids:
            return
        async with self.db.write() as conn:
            await conn.executemany(
                "INSERT INTO timeline (user_id, media_id, author_id) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                [(user_id, media_id, author_id) for user_id in user_ids],
            )

    async def add_many_to_timeline(self, user_id: int, entries: Sequence[tuple[int, int]]) -> None:
        if not entries:
            return
        async with self.db.write() as conn:
            await conn.executemany(
                "INSERT INTO timeline (user_id, media_id, author_id) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                [(user_id, media_id, author_id) for media_id, author_id in entries],
            )

    async def remove_author_from_timeline(self, user_id: int, author_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "DELETE FROM timeline WHERE user_id = $1 AND author_id = $2", user_id, author_id
            )

    async def remove_media_from_timelines(self, media_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM timeline WHERE media_id = $1", media_id)

    async def timeline_page(self, user_id: int, after: int | None, limit: int) -> list[int]:
        async with self.db.read(for_user=user_id) as conn:
            rows = await conn.fetch(
                "SELECT media_id FROM timeline WHERE user_id = $1 AND media_id < $2"
                " ORDER BY media_id DESC LIMIT $3",
                user_id,
                _NEWEST if after is None else after,
                limit,
            )
        return [row["media_id"] for row in rows]

    async def add_activity(self, user_id: int, activity: ActivityRecord) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO inbox (user_id, id, type, actor_id, media_id, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                user_id,
                activity.id,
                activity.type,
                activity.actor_id,
                activity.media_id,
                activity.created_at,
            )

    async def remove_activity(self, user_id: int, activity_id: int) -> None:
        # A tombstone, not a delete: the add and the remove are separate jobs
        # that may run out of order, and a late add must not resurrect it.
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO inbox (user_id, id, type, actor_id, media_id, created_at)"
                f" VALUES ($1, $2, '{_REMOVED}', 0, NULL, 0)"
                f" ON CONFLICT (user_id, id) DO UPDATE SET type = '{_REMOVED}'",
                user_id,
                activity_id,
            )

    async def remove_activity_for_media(self, user_id: int, media_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "DELETE FROM inbox WHERE user_id = $1 AND media_id = $2", user_id, media_id
            )

    async def activity_page(
        self, user_id: int, after: int | None, limit: int
    ) -> list[ActivityRecord]:
        async with self.db.read(for_user=user_id) as conn:
            rows = await conn.fetch(
                "SELECT id, type, actor_id, media_id, created_at FROM inbox"
                f" WHERE user_id = $1 AND id < $2 AND type <> '{_REMOVED}'"
                " ORDER BY id DESC LIMIT $3",
                user_id,
                _NEWEST if after is None else after,
                limit,
            )
        return [ActivityRecord(**row) for row in rows]

    async def ping(self) -> None:
        await self.db.ping()

    async def close(self) -> None:
        await self.db.close()
