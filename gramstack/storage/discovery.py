"""Hashtag pages, tag search and explore rankings: the read side of
discovery. Tag counts and tag membership are written with the post
(``storage.media``); explore snapshots are written here."""

from __future__ import annotations

from gramstack.records import TagRecord
from gramstack.storage.media import TAG_PREFIX_DEPTH
from gramstack.storage.ports import Database
from gramstack.storage.queries import before
from gramstack.storage.transaction import Writer

# Appended to a prefix, the exclusive upper bound of every name that starts
# with it (names compare as bytes: SQLite BINARY, PostgreSQL COLLATE "C").
_LAST_CHAR = "\U0010ffff"


class SqlDiscoveryStore:
    def __init__(self, writer: Writer) -> None:
        self._db: Database = writer.db

    async def tag(self, name: str, *, fresh: bool = False) -> TagRecord:
        async with self._db.read(fresh=fresh) as conn:
            count = await conn.fetchval("SELECT media_count FROM tags WHERE name = $1", name)
        return TagRecord(name, int(count or 0))

    async def tag_media_page(
        self,
        tag: str,
        after: int | None,
        limit: int,
        *,
        viewer: int | None = None,
        fresh: bool = False,
    ) -> list[int]:
        """Media IDs with the tag, newest first: a range of the primary key."""
        async with self._db.read(for_user=viewer, fresh=fresh) as conn:
            rows = await conn.fetch(
                "SELECT media_id FROM media_tags WHERE tag = $1 AND media_id < $2"
                " ORDER BY media_id DESC LIMIT $3",
                tag,
                before(after),
                limit,
            )
        return [int(row["media_id"]) for row in rows]

    async def tags_with_prefix(
        self, prefix: str, limit: int, candidates: int, *, fresh: bool = False
    ) -> list[TagRecord]:
        """The ``limit`` used tags starting with ``prefix`` with the most
        media (then by name). Up to ``TAG_PREFIX_DEPTH`` characters, the first
        rows of one range of the prefix index, exact whatever the number of
        matches. A longer prefix is rare and selective: the first
        ``candidates`` names of its range (a bounded walk of the primary
        key), ranked by count."""
        async with self._db.read(fresh=fresh) as conn:
            if len(prefix) <= TAG_PREFIX_DEPTH:
                rows = await conn.fetch(
                    "SELECT name, media_count FROM tag_prefixes"
                    " WHERE prefix = $1 AND media_count > 0"
                    " ORDER BY media_count DESC, name LIMIT $2",
                    prefix,
                    limit,
                )
                return [TagRecord(row["name"], int(row["media_count"])) for row in rows]
            rows = await conn.fetch(
                "SELECT name, media_count FROM tags WHERE name >= $1 AND name < $2"
                " AND media_count > 0 ORDER BY name LIMIT $3",
                prefix,
                prefix + _LAST_CHAR,
                candidates,
            )
        found = [TagRecord(row["name"], int(row["media_count"])) for row in rows]
        found.sort(key=lambda t: (-t.media_count, t.name))
        return found[:limit]

    # -- explore ---------------------------------------------------------------

    async def latest_explore_snapshot(self) -> tuple[int, int] | None:
        """(snapshot ID, taken at) of the newest snapshot, read on the leader."""
        async with self._db.read(fresh=True) as conn:
            row = await conn.fetchrow(
                "SELECT id, created_at FROM explore_snapshots ORDER BY id DESC LIMIT 1"
            )
        return None if row is None else (int(row["id"]), int(row["created_at"]))

    async def take_explore_snapshot(
        self, snapshot_id: int, now: int, since: int, size: int, keep_after: int
    ) -> int:
        """Rank the posts made after ``since`` by explore score (a walk of the
        score index, at most ``size`` rows) and store the ranking; drops
        snapshots taken before ``keep_after``. Returns the snapshot's ID (an
        existing one if another process took one at the same ``snapshot_id``)."""
        async with self._db.write() as conn:
            created = await conn.fetchval(
                "INSERT INTO explore_snapshots (id, created_at) VALUES ($1, $2)"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                snapshot_id,
                now,
            )
            if created is None:
                return snapshot_id
            rows = await conn.fetch(
                "SELECT id, owner_id FROM media WHERE created_at > $1"
                " ORDER BY explore_score DESC, id DESC LIMIT $2",
                since,
                size,
            )
            await conn.executemany(
                "INSERT INTO explore_rankings (snapshot_id, position, media_id, owner_id)"
                " VALUES ($1, $2, $3, $4)",
                [(snapshot_id, i, int(r["id"]), int(r["owner_id"])) for i, r in enumerate(rows)],
            )
            old = await conn.fetch(
                "SELECT id FROM explore_snapshots WHERE created_at < $1", keep_after
            )
            for r in old:
                await conn.execute(
                    "DELETE FROM explore_rankings WHERE snapshot_id = $1", int(r["id"])
                )
                await conn.execute("DELETE FROM explore_snapshots WHERE id = $1", int(r["id"]))
        return snapshot_id

    async def explore_snapshot(self, snapshot_id: int) -> list[tuple[int, int]] | None:
        """(media ID, owner ID) in rank order; None for an unknown snapshot."""
        async with self._db.read(fresh=True) as conn:
            known = await conn.fetchval(
                "SELECT id FROM explore_snapshots WHERE id = $1", snapshot_id
            )
            if known is None:
                return None
            rows = await conn.fetch(
                "SELECT media_id, owner_id FROM explore_rankings WHERE snapshot_id = $1"
                " ORDER BY position",
                snapshot_id,
            )
        return [(int(r["media_id"]), int(r["owner_id"])) for r in rows]
