"""Photo posts, with the owner's ``media_count``, the hashtags' media
counts and the caption mentions kept in the writing transaction."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from gramstack.records import CaptionEdit, Change, MediaRecord, NewJob, PhotoRecord
from gramstack.storage.ports import Connection, Database, Row
from gramstack.storage.queries import before, by_ids
from gramstack.storage.transaction import Transaction, Writer

MEDIA_COLUMNS = (
    "id, owner_id, caption, width, height, created_at, like_count, comment_count,"
    " photos, hashtags, mentions, edited_at"
)


def encode_photos(photos: Sequence[PhotoRecord]) -> str:
    return json.dumps(
        [{"width": p.width, "height": p.height, "alt_text": p.alt_text} for p in photos],
        ensure_ascii=False,
    )


def split_names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def media_record(row: Row) -> MediaRecord:
    photos = tuple(PhotoRecord(**p) for p in json.loads(row["photos"] or "[]"))
    if not photos:  # a row written before carousels, not yet migrated
        photos = (PhotoRecord(int(row["width"]), int(row["height"]), ""),)
    edited = row["edited_at"]
    return MediaRecord(
        id=int(row["id"]),
        owner_id=int(row["owner_id"]),
        caption=row["caption"],
        width=int(row["width"]),
        height=int(row["height"]),
        created_at=int(row["created_at"]),
        like_count=int(row["like_count"]),
        comment_count=int(row["comment_count"]),
        photos=photos,
        hashtags=split_names(row["hashtags"]),
        mentions=split_names(row["mentions"]),
        edited_at=None if edited is None else int(edited),
    )


def explore_score(created_at: int, likes: int, comments: int) -> float:
    """log2(1 + likes + 2 comments) + age in days: sorting by it sorts by
    engagement halved for each day since posting (one day's half-life)."""
    return math.log2(1 + max(0, likes) + 2 * max(0, comments)) + created_at / 86_400_000


async def update_explore_score(conn: Connection, media_id: int) -> None:
    """Recompute a post's score from its counters; runs in the transaction
    that changed them, after the counter update (so it holds the row lock)."""
    row = await conn.fetchrow(
        "SELECT created_at, like_count, comment_count FROM media WHERE id = $1", media_id
    )
    if row is None:
        return
    score = explore_score(int(row["created_at"]), int(row["like_count"]), int(row["comment_count"]))
    await conn.execute("UPDATE media SET explore_score = $1 WHERE id = $2", score, media_id)


# Tag search's prefix index (``tag_prefixes``) holds each tag under every
# prefix of its name up to this many characters, with the tag's media count,
# so the best tags for a prefix are the first rows of one index range. Tag
# search caches prefixes up to the same length (cache.keys).
TAG_PREFIX_DEPTH = 20


def tag_name_prefixes(name: str) -> list[str]:
    """The prefixes a tag is indexed under (in characters, as SQL's substr)."""
    return [name[:n] for n in range(1, min(len(name), TAG_PREFIX_DEPTH) + 1)]


async def _set_tag_count(tx: Transaction, tag: str, count: int) -> None:
    """Copy the tag's new count to its prefix rows (the tag's row, updated
    first in the same transaction, holds the lock that orders these)."""
    if count == 1:
        # Maybe a new tag (or one used again): its prefix rows may not exist.
        await tx.conn.executemany(
            "INSERT INTO tag_prefixes (prefix, name, media_count) VALUES ($1, $2, $3)"
            " ON CONFLICT (prefix, name) DO UPDATE SET media_count = excluded.media_count",
            [(prefix, tag, count) for prefix in tag_name_prefixes(tag)],
        )
    else:
        await tx.conn.execute(
            "UPDATE tag_prefixes SET media_count = $1 WHERE name = $2", count, tag
        )


async def _add_tags(tx: Transaction, media_id: int, tags: Sequence[str]) -> None:
    for tag in tags:
        await tx.conn.execute(
            "INSERT INTO media_tags (tag, media_id) VALUES ($1, $2)", tag, media_id
        )
        count = await tx.conn.fetchval(
            "INSERT INTO tags (name, media_count) VALUES ($1, 1)"
            " ON CONFLICT (name) DO UPDATE SET media_count = tags.media_count + 1"
            " RETURNING media_count",
            tag,
        )
        await _set_tag_count(tx, tag, int(count))
        tx.changed(Change("media_tags", "insert", {"tag": tag, "media_id": media_id}))


async def remove_tags(tx: Transaction, media_id: int, tags: Sequence[str]) -> None:
    for tag in tags:
        await tx.conn.execute(
            "DELETE FROM media_tags WHERE tag = $1 AND media_id = $2", tag, media_id
        )
        count = await tx.conn.fetchval(
            "UPDATE tags SET media_count = media_count - 1 WHERE name = $1 RETURNING media_count",
            tag,
        )
        if count is not None:
            await _set_tag_count(tx, tag, int(count))
        tx.changed(Change("media_tags", "delete", {"tag": tag, "media_id": media_id}))


class SqlMediaStore:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._db: Database = writer.db

    async def create_media(
        self,
        media: MediaRecord,
        jobs: Sequence[NewJob],
        mention_items: Mapping[int, int] | None = None,
    ) -> MediaRecord:
        """``mention_items``: mentioned user ID -> the ID of their activity item."""
        async with self._writer.transaction(for_user=media.owner_id, now=media.created_at) as tx:
            await tx.conn.execute(
                "INSERT INTO media (id, owner_id, caption, width, height, created_at,"
                " photos, hashtags, mentions, explore_score)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                media.id,
                media.owner_id,
                media.caption,
                media.width,
                media.height,
                media.created_at,
                encode_photos(media.photos),
                " ".join(media.hashtags),
                " ".join(media.mentions),
                explore_score(media.created_at, 0, 0),
            )
            await tx.conn.execute(
                "UPDATE users SET media_count = media_count + 1 WHERE id = $1", media.owner_id
            )
            await _add_tags(tx, media.id, media.hashtags)
            for user_id, activity_id in (mention_items or {}).items():
                await tx.conn.execute(
                    "INSERT INTO media_mentions (media_id, user_id, activity_id)"
                    " VALUES ($1, $2, $3)",
                    media.id,
                    user_id,
                    activity_id,
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
        return {int(row["id"]): media_record(row) for row in rows}

    async def delete_media(
        self, media_id: int, now: int, jobs: Sequence[NewJob], *, actor: int | None = None
    ) -> bool:
        """False when there was no such media (nothing is written then). The
        caption mentions stay for the removal job, which takes their
        activity items away and then the rows."""
        async with self._writer.transaction(for_user=actor, now=now) as tx:
            row = await tx.conn.fetchrow(
                "DELETE FROM media WHERE id = $1 RETURNING owner_id, hashtags", media_id
            )
            if row is None:
                return False
            owner = int(row["owner_id"])
            await tx.conn.execute(
                "UPDATE users SET media_count = media_count - 1 WHERE id = $1", owner
            )
            await tx.conn.execute("DELETE FROM likes WHERE media_id = $1", media_id)
            await tx.conn.execute("DELETE FROM comments WHERE media_id = $1", media_id)
            await remove_tags(tx, media_id, split_names(row["hashtags"]))
            tx.enqueue(*jobs)
            # The likes go with it; their membership keys name media that no
            # longer exists, which hydration drops, so they need no eviction.
            tx.changed(
                Change("media", "delete", {"id": media_id, "owner_id": owner}),
                Change("users", "update", {"id": owner}),
            )
        return True

    @asynccontextmanager
    async def edit_caption(
        self,
        media_id: int,
        caption: str | None,
        alt_texts: Sequence[str] | None,
        parsed: tuple[Sequence[str], Sequence[str], Mapping[int, int]] | None,
        now: int,
        *,
        actor: int,
    ) -> AsyncIterator[tuple[CaptionEdit | None, Transaction]]:
        """Change the caption and/or alt texts. ``parsed`` is the new caption's
        (hashtags, mentioned usernames, mentioned user ID -> new activity ID);
        mentions kept from before keep their activity item. Yields None when
        there is no such media; an ``alt_texts`` of the wrong length raises
        ``ValueError`` (rolled back)."""
        async with self._writer.transaction(for_user=actor, now=now) as tx:
            lock = " FOR UPDATE" if self._db.dialect == "postgres" else ""
            row = await tx.conn.fetchrow(
                f"SELECT {MEDIA_COLUMNS} FROM media WHERE id = $1{lock}", media_id
            )
            if row is None:
                yield None, tx
                return
            old = media_record(row)
            photos = old.photos
            if alt_texts is not None:
                if len(alt_texts) != len(photos):
                    raise ValueError(f"the post has {len(photos)} photos")
                photos = tuple(
                    PhotoRecord(p.width, p.height, text)
                    for p, text in zip(photos, alt_texts, strict=True)
                )
            new_caption, hashtags, mentions = old.caption, old.hashtags, old.mentions
            removed: dict[int, int] = {}
            added: dict[int, int] = {}
            if caption is not None and parsed is not None:
                new_caption = caption
                hashtags, mentions = tuple(parsed[0]), tuple(parsed[1])
                await remove_tags(tx, media_id, [t for t in old.hashtags if t not in hashtags])
                await _add_tags(tx, media_id, [t for t in hashtags if t not in old.hashtags])
                existing = {
                    int(r["user_id"]): int(r["activity_id"])
                    for r in await tx.conn.fetch(
                        "SELECT user_id, activity_id FROM media_mentions WHERE media_id = $1",
                        media_id,
                    )
                }
                for user_id, activity_id in existing.items():
                    if user_id not in parsed[2]:
                        removed[user_id] = activity_id
                        await tx.conn.execute(
                            "DELETE FROM media_mentions WHERE media_id = $1 AND user_id = $2",
                            media_id,
                            user_id,
                        )
                for user_id, activity_id in parsed[2].items():
                    if user_id not in existing:
                        added[user_id] = activity_id
                        await tx.conn.execute(
                            "INSERT INTO media_mentions (media_id, user_id, activity_id)"
                            " VALUES ($1, $2, $3)",
                            media_id,
                            user_id,
                            activity_id,
                        )
            await tx.conn.execute(
                "UPDATE media SET caption = $1, photos = $2, hashtags = $3, mentions = $4,"
                " edited_at = $5 WHERE id = $6",
                new_caption,
                encode_photos(photos),
                " ".join(hashtags),
                " ".join(mentions),
                now,
                media_id,
            )
            tx.changed(Change("media", "update", {"id": media_id}))
            edited = MediaRecord(
                id=old.id,
                owner_id=old.owner_id,
                caption=new_caption,
                width=old.width,
                height=old.height,
                created_at=old.created_at,
                like_count=old.like_count,
                comment_count=old.comment_count,
                photos=photos,
                hashtags=hashtags,
                mentions=mentions,
                edited_at=now,
            )
            yield CaptionEdit(edited, removed, added), tx

    async def caption_mentions(self, media_id: int) -> dict[int, int]:
        """Mentioned user ID -> activity item ID, read on the leader."""
        async with self._db.read(fresh=True) as conn:
            rows = await conn.fetch(
                "SELECT user_id, activity_id FROM media_mentions WHERE media_id = $1", media_id
            )
        return {int(r["user_id"]): int(r["activity_id"]) for r in rows}

    async def forget_caption_mentions(self, media_id: int) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM media_mentions WHERE media_id = $1", media_id)

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
        return [media_record(row) for row in rows]
