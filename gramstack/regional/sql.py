"""The regional store over any ``Database``: one database per region, SQLite
file in the embedded default, PostgreSQL database when scaled out.

The tables are laid out the way a wide-column store such as Cassandra would
hold them, so the regional store could move to one without changing its
queries: the partition is the user (every hot-path statement names exactly
one ``user_id``), and inside a partition rows are clustered by ID, newest
first, so a page is one contiguous range read of the primary key. The CQL
equivalents:

``timeline`` (a user's home feed: media IDs of the accounts they follow)::

    CREATE TABLE timeline (
        user_id bigint, media_id bigint, author_id bigint,
        PRIMARY KEY ((user_id), media_id)
    ) WITH CLUSTERING ORDER BY (media_id DESC);

``inbox`` (a user's activity; ``type = 'removed'`` is a tombstone)::

    CREATE TABLE inbox (
        user_id bigint, id bigint, type text, actor_id bigint,
        media_id bigint, created_at bigint,
        PRIMARY KEY ((user_id), id)
    ) WITH CLUSTERING ORDER BY (id DESC);

SQLite stores the clustering order as written (``WITHOUT ROWID`` tables are
the primary-key B-tree itself, like a partition's sorted rows); PostgreSQL
does not take ``DESC`` in a primary key and serves ``ORDER BY ... DESC``
by scanning the same index backwards.

Secondary indexes, and what each would be in CQL:

- ``timeline_by_author (user_id, author_id)``: unfollow deletes one author's
  entries from one partition without reading the whole timeline. In CQL the
  delete would read the partition's ``(media_id, author_id)`` pairs with a
  filter and delete by primary key, or a second table
  ``timeline_by_author ((user_id), author_id, media_id)`` written alongside.
- ``inbox_by_media (user_id, media_id)``: same, for a deleted post's
  activity in its owner's inbox.
- ``inbox_by_actor (actor_id) WHERE type <> 'removed'``: cross-partition,
  for account deletion only: the live items a deleted account caused in
  anyone's inbox, found in bounded batches (``activity_by_actor``); the
  tombstones it writes leave the partial index, so each batch is the next.
  In CQL, a table ``inbox_by_actor ((actor_id), user_id, id)`` written
  alongside ``add_activity`` and deleted from with the tombstone.
- ``inbox_for_media_removal (media_id) WHERE media_id IS NOT NULL AND
  type <> 'removed'``:
  cross-partition, for post deletion only: the live items about a deleted
  post in anyone's inbox (above all the mention items of others' comments on
  it), swept in bounded batches (``activity_for_media``), as by actor. No
  inbox read orders or filters by ``media_id`` alone, so the planner has no
  reason to use it elsewhere. In CQL, a table
  ``inbox_by_media ((media_id), user_id, id)`` written alongside.
- ``timeline_for_media_removal (media_id + 0)``: the one cross-partition
  statement,
  ``remove_media_from_timelines``, which runs only when a post is deleted
  (a rare background job, never on a request). In CQL it would be a table
  ``timeline_by_media ((media_id), user_id)`` written alongside the fan-out;
  the alternative, deleting ``(user_id, media_id)`` for each follower the
  way fan-out adds it, needs the job to page through the followers (a
  change to ``domain/fanout.py``), after which this index can be dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from gramstack.records import ActivityRecord, RegionalPartition
from gramstack.storage.ports import Database

_REMOVED = "removed"

# {clustering}: SQLite keeps the partition's rows newest first and stores
# the table as its primary-key B-tree; PostgreSQL takes neither in a table's
# primary key and scans the index backwards instead.
_TABLES = [
    "CREATE TABLE IF NOT EXISTS timeline ("
    " user_id BIGINT NOT NULL, media_id BIGINT NOT NULL, author_id BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, media_id{clustering})){layout}",
    "CREATE TABLE IF NOT EXISTS inbox ("
    " user_id BIGINT NOT NULL, id BIGINT NOT NULL, type TEXT NOT NULL,"
    " actor_id BIGINT NOT NULL, media_id BIGINT, created_at BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, id{clustering})){layout}",
]
_INDEXES = [
    "CREATE INDEX IF NOT EXISTS timeline_by_author ON timeline (user_id, author_id)",
    "CREATE INDEX IF NOT EXISTS inbox_by_media ON inbox (user_id, media_id)",
    # Cross-partition, for account deletion only (see the module docstring);
    # tombstones are left out, so a sweep never walks what it already did.
    f"CREATE INDEX IF NOT EXISTS inbox_by_actor ON inbox (actor_id) WHERE type <> '{_REMOVED}'",
    # Cross-partition, for post deletion only, the same way. Items about no
    # post (follows) are left out: fewer entries to write, and a predicate an
    # actor's sweep does not imply, so the planner never walks this index
    # whole for it (which PostgreSQL does on a small table otherwise).
    "CREATE INDEX IF NOT EXISTS inbox_for_media_removal ON inbox (media_id)"
    f" WHERE media_id IS NOT NULL AND type <> '{_REMOVED}'",
    # Cross-partition, for post deletion only (see the module docstring). It
    # indexes an expression so that only that deletion can use it: a plain
    # (media_id) index tempts the planner into answering a timeline page by
    # walking every user's rows in media_id order, filtering on user_id.
    "DROP INDEX IF EXISTS timeline_by_media",
    "CREATE INDEX IF NOT EXISTS timeline_for_media_removal ON timeline ((media_id + 0))",
]


def schema_statements(dialect: str) -> list[str]:
    """The DDL for ``dialect`` (``sqlite`` or ``postgres``), idempotent."""
    sqlite = dialect == "sqlite"
    tables = [
        statement.format(
            clustering=" DESC" if sqlite else "", layout=" WITHOUT ROWID" if sqlite else ""
        )
        for statement in _TABLES
    ]
    return [*tables, *_INDEXES]


_NEWEST = (1 << 63) - 1


class SqlRegionalStore:
    def __init__(self, region: str, db: Database) -> None:
        self.region = region
        self.db = db

    async def create_schema(self) -> None:
        async with self.db.write() as conn:
            for statement in schema_statements(self.db.dialect):
                await conn.execute(statement)

    async def add_to_timelines(
        self, user_ids: Sequence[int], media_id: int, author_id: int
    ) -> None:
        if not user_ids:
            return
        # One user (an author's own post): their next read must see it, so a
        # follower router records where the write is. A fan-out batch is
        # others' timelines, which may show it a moment later.
        only = user_ids[0] if len(user_ids) == 1 else None
        async with self.db.write(for_user=only) as conn:
            if self.db.dialect == "postgres":
                # One statement for the whole batch: executemany would make
                # a round trip per follower, most of a fan-out job's time.
                await conn.execute(
                    "INSERT INTO timeline (user_id, media_id, author_id)"
                    " SELECT user_id, $2, $3 FROM unnest($1::bigint[]) AS u (user_id)"
                    " ON CONFLICT DO NOTHING",
                    list(user_ids),
                    media_id,
                    author_id,
                )
                return
            # SQLite: the batch as one JSON array, so it is one statement
            # too ("WHERE true" tells the parser ON CONFLICT is the upsert's).
            await conn.execute(
                "INSERT INTO timeline (user_id, media_id, author_id)"
                " SELECT value, $2, $3 FROM json_each($1) WHERE true ON CONFLICT DO NOTHING",
                json.dumps(list(user_ids)),
                media_id,
                author_id,
            )

    async def add_many_to_timeline(self, user_id: int, entries: Sequence[tuple[int, int]]) -> None:
        if not entries:
            return
        async with self.db.write(for_user=user_id) as conn:
            await conn.executemany(
                "INSERT INTO timeline (user_id, media_id, author_id) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                [(user_id, media_id, author_id) for media_id, author_id in entries],
            )

    async def remove_author_from_timeline(self, user_id: int, author_id: int) -> None:
        async with self.db.write(for_user=user_id) as conn:
            await conn.execute(
                "DELETE FROM timeline WHERE user_id = $1 AND author_id = $2", user_id, author_id
            )

    async def remove_author_from_timelines(self, user_ids: Sequence[int], author_id: int) -> None:
        if not user_ids:
            return
        # One statement for the batch, as add_to_timelines: each user is
        # still one range of timeline_by_author (user_id, author_id).
        async with self.db.write() as conn:
            if self.db.dialect == "postgres":
                await conn.execute(
                    "DELETE FROM timeline WHERE user_id = ANY($1::bigint[]) AND author_id = $2",
                    list(user_ids),
                    author_id,
                )
                return
            await conn.execute(
                "DELETE FROM timeline WHERE user_id IN (SELECT value FROM json_each($1))"
                " AND author_id = $2",
                json.dumps(list(user_ids)),
                author_id,
            )

    async def remove_media_from_timelines(self, media_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM timeline WHERE media_id + 0 = $1", media_id)

    async def timeline_page(
        self, user_id: int, after: int | None, limit: int, *, fresh: bool = False
    ) -> list[int]:
        async with self.db.read(for_user=user_id, fresh=fresh) as conn:
            rows = await conn.fetch(
                "SELECT media_id FROM timeline WHERE user_id = $1 AND media_id < $2"
                " ORDER BY media_id DESC LIMIT $3",
                user_id,
                _NEWEST if after is None else after,
                limit,
            )
        return [row["media_id"] for row in rows]

    async def add_activity(self, user_id: int, activity: ActivityRecord) -> None:
        async with self.db.write(for_user=user_id) as conn:
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
        async with self.db.write(for_user=user_id) as conn:
            await conn.execute(
                "INSERT INTO inbox (user_id, id, type, actor_id, media_id, created_at)"
                f" VALUES ($1, $2, '{_REMOVED}', 0, NULL, 0)"
                f" ON CONFLICT (user_id, id) DO UPDATE SET type = '{_REMOVED}'",
                user_id,
                activity_id,
            )

    async def remove_activities(self, items: Sequence[tuple[int, int]]) -> None:
        """Tombstone many (inbox owner, item ID) at once, in one statement."""
        if not items:
            return
        async with self.db.write() as conn:
            if self.db.dialect == "postgres":
                await conn.execute(
                    "INSERT INTO inbox (user_id, id, type, actor_id, media_id, created_at)"
                    f" SELECT u, i, '{_REMOVED}', 0, NULL, 0"
                    " FROM unnest($1::bigint[], $2::bigint[]) AS t (u, i)"
                    f" ON CONFLICT (user_id, id) DO UPDATE SET type = '{_REMOVED}'",
                    [owner for owner, _ in items],
                    [item for _, item in items],
                )
                return
            await conn.execute(
                "INSERT INTO inbox (user_id, id, type, actor_id, media_id, created_at)"
                f" SELECT value ->> 0, value ->> 1, '{_REMOVED}', 0, NULL, 0 FROM json_each($1)"
                f" WHERE true ON CONFLICT (user_id, id) DO UPDATE SET type = '{_REMOVED}'",
                json.dumps([list(item) for item in items]),
            )

    async def activity_by_actor(self, actor_id: int, limit: int) -> list[tuple[int, int]]:
        return await self._live_items("actor_id", actor_id, limit)

    async def activity_for_media(self, media_id: int, limit: int) -> list[tuple[int, int]]:
        return await self._live_items("media_id", media_id, limit)

    async def _live_items(
        self, column: Literal["actor_id", "media_id"], value: int, limit: int
    ) -> list[tuple[int, int]]:
        """(owner, item) of live inbox rows with ``column = value``, through
        that column's partial index. From the leader: a lagging follower would
        hand back items already tombstoned, and a sweep would not see its own
        progress."""
        async with self.db.read(fresh=True) as conn:
            rows = await conn.fetch(
                "SELECT user_id, id FROM inbox"
                f" WHERE {column} = $1 AND type <> '{_REMOVED}' LIMIT $2",
                value,
                limit,
            )
        return [(row["user_id"], row["id"]) for row in rows]

    async def remove_activity_for_media(self, user_id: int, media_id: int) -> None:
        async with self.db.write(for_user=user_id) as conn:
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

    async def export_partition(self, user_id: int) -> RegionalPartition:
        # From the leader: a copy from a lagging follower would miss entries.
        async with self.db.read(fresh=True) as conn:
            timeline = await conn.fetch(
                "SELECT media_id, author_id FROM timeline WHERE user_id = $1", user_id
            )
            inbox = await conn.fetch(
                "SELECT id, type, actor_id, media_id, created_at FROM inbox WHERE user_id = $1",
                user_id,
            )
        return RegionalPartition(
            [(row["media_id"], row["author_id"]) for row in timeline],
            [
                (row["id"], row["type"], row["actor_id"], row["media_id"], row["created_at"])
                for row in inbox
            ],
        )

    async def import_partition(self, user_id: int, partition: RegionalPartition) -> None:
        await self.add_many_to_timeline(user_id, partition.timeline)
        if not partition.inbox:
            return
        async with self.db.write(for_user=user_id) as conn:
            await conn.executemany(
                "INSERT INTO inbox (user_id, id, type, actor_id, media_id, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, id)"
                f" DO UPDATE SET type = excluded.type WHERE excluded.type = '{_REMOVED}'",
                [(user_id, *row) for row in partition.inbox],
            )

    async def delete_partition(self, user_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM timeline WHERE user_id = $1", user_id)
            await conn.execute("DELETE FROM inbox WHERE user_id = $1", user_id)

    async def has_activity(self, user_id: int, activity_id: int) -> bool:
        async with self.db.read(fresh=True) as conn:
            found = await conn.fetchval(
                f"SELECT 1 FROM inbox WHERE user_id = $1 AND id = $2 AND type <> '{_REMOVED}'",
                user_id,
                activity_id,
            )
        return found is not None

    async def count_activity_after(self, user_id: int, after: int, cap: int) -> int:
        # A range of the partition above ``after``, stopped at ``cap`` rows.
        async with self.db.read(fresh=True) as conn:
            value = await conn.fetchval(
                "SELECT COUNT(*) FROM (SELECT 1 FROM inbox WHERE user_id = $1 AND id > $2"
                f" AND type <> '{_REMOVED}' LIMIT $3) AS newer",
                user_id,
                after,
                cap,
            )
        return int(value or 0)

    async def ping(self) -> None:
        await self.db.ping()

    async def close(self) -> None:
        await self.db.close()
