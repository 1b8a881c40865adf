"""All primary-store SQL, written once for every backend behind ``Database``.

Each write method is one transaction that changes the row, the counters
that count it (``UPDATE … SET n = n + 1``, never ``COUNT(*)`` on read) and
enqueues the follow-up jobs, so a crash can never leave a like without its
count or a post without its fan-out.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from gramstack.domain.errors import NotFound
from gramstack.domain.models import CommentRecord, MediaRecord, UserRecord
from gramstack.invalidation import OnCommit, outbox
from gramstack.invalidation.rules import Action, Change
from gramstack.storage.ports import Connection, Database, Row

_USER_COLUMNS = (
    "id, username, full_name, bio, created_at, follower_count, following_count, media_count"
)
_MEDIA_COLUMNS = "id, owner_id, caption, width, height, created_at, like_count, comment_count"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    payload: Mapping[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class NewJob:
    id: int
    kind: str
    payload: Mapping[str, Any]


# Jobs that depend on what the transaction finds (the media's owner, the
# removed row's ID) are named by a callback invoked inside it.
JobsFor = Callable[[int], Sequence[NewJob]]
JobsForPair = Callable[[int, int], Sequence[NewJob]]


def _user(row: Row) -> UserRecord:
    return UserRecord(**row)


def _media(row: Row) -> MediaRecord:
    return MediaRecord(**row)


def _comment(row: Row) -> CommentRecord:
    return CommentRecord(**row)


def _in_list(ids: Sequence[int], start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + len(ids)))


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


def _like_changes(action: Action, media_id: int, user_id: int) -> list[Change]:
    return [
        Change("likes", action, {"user_id": user_id, "media_id": media_id}),
        Change("media", "update", {"id": media_id}),
    ]


async def _enqueue(conn: Connection, jobs: Iterable[NewJob], now: int) -> None:
    rows = [(job.id, job.kind, json.dumps(job.payload), now) for job in jobs]
    if rows:
        await conn.executemany(
            "INSERT INTO jobs (id, kind, payload, run_after) VALUES ($1, $2, $3, $4)", rows
        )


class PrimaryStore:
    def __init__(
        self,
        db: Database,
        *,
        on_commit: OnCommit | None = None,
        outbox: bool = True,
        on_outbox: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self._on_commit = on_commit
        # Told each committed outbox ID, so readers in other processes can
        # skip the outbox query while nothing new was committed.
        self._on_outbox = on_outbox
        # The outbox is for caches that live in each process; a shared cache
        # (memcached) is kept current by the invalidator reading the WAL, and
        # the outbox's single sequence row would only serialize the writers.
        self._outbox = outbox

    @asynccontextmanager
    async def _changing(
        self, *, for_user: int | None = None
    ) -> AsyncIterator[tuple[Connection, list[Change]]]:
        """A write transaction whose changed rows (appended by the caller to
        the yielded list) go to the outbox in the same transaction, and whose
        cache keys are evicted right after the commit."""
        changed: list[Change] = []
        outbox_id: int | None = None
        async with self.db.write(for_user=for_user) as conn:
            yield conn, changed
            if changed and self._outbox:
                outbox_id = await outbox.append(conn, changed)
        if outbox_id is not None and self._on_outbox is not None:
            self._on_outbox(outbox_id)
        if changed and self._on_commit is not None:
            await self._on_commit(changed)

    @property
    def _has_replicas(self) -> bool:
        return bool(self.db.replica_states())

    async def _by_ids(self, select: str, ids: Sequence[int], viewer: int | None) -> list[Row]:
        """``select … WHERE id IN (ids)``. Rows a follower lacks are looked for
        on the leader: the follower may not have them *yet*, and a client that
        holds an ID got it from a node that had the row."""
        sql = f"{select} WHERE id IN ({{}})"
        async with self.db.read(for_user=viewer) as conn:
            rows = await conn.fetch(sql.format(_in_list(ids)), *ids)
        if len(rows) < len(ids) and self._has_replicas:
            found = {row["id"] for row in rows}
            missing = [i for i in ids if i not in found]
            async with self.db.read(fresh=True) as conn:
                rows += await conn.fetch(sql.format(_in_list(missing)), *missing)
        return rows

    # -- ID shard leases -------------------------------------------------

    async def lease_id_shard(self, owner: str, now: int, ttl_ms: int, shards: int) -> int:
        """Take the lowest free (or expired) shard; raises if all are held."""
        async with self.db.write() as conn:
            if self.db.dialect == "postgres":
                # Two starting servers must not both see shard 0 free.
                await conn.execute("LOCK TABLE id_shard_leases IN SHARE ROW EXCLUSIVE MODE")
            rows = await conn.fetch(
                "SELECT shard, owner, expires_at FROM id_shard_leases ORDER BY shard"
            )
            taken = {r["shard"] for r in rows if r["expires_at"] > now and r["owner"] != owner}
            for shard in range(shards):
                if shard not in taken:
                    await conn.execute(
                        "INSERT INTO id_shard_leases (shard, owner, expires_at)"
                        " VALUES ($1, $2, $3) ON CONFLICT (shard) DO UPDATE"
                        " SET owner = excluded.owner, expires_at = excluded.expires_at",
                        shard,
                        owner,
                        now + ttl_ms,
                    )
                    return shard
        raise RuntimeError("every ID shard is leased")

    async def renew_id_shard(self, shard: int, owner: str, now: int, ttl_ms: int) -> bool:
        async with self.db.write() as conn:
            held = await conn.fetchval(
                "UPDATE id_shard_leases SET expires_at = $3"
                " WHERE shard = $1 AND owner = $2 RETURNING shard",
                shard,
                owner,
                now + ttl_ms,
            )
        return held is not None

    async def release_id_shard(self, shard: int, owner: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "DELETE FROM id_shard_leases WHERE shard = $1 AND owner = $2", shard, owner
            )

    # -- rate limits -------------------------------------------------------

    async def take_token(self, bucket: str, capacity: float, per_ms: float, now: int) -> float:
        """Spend one token of ``bucket``; returns 0 on success, else the
        milliseconds until a token will be there."""
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
        async with self.db.write() as conn:
            row = await conn.fetchrow(
                f"SELECT tokens, updated_at FROM rate_limits WHERE bucket = $1{lock}", bucket
            )
            tokens = capacity
            if row is not None:
                elapsed = max(0, now - int(row["updated_at"]))
                tokens = min(capacity, float(row["tokens"]) + elapsed * per_ms)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / per_ms
            await conn.execute(
                "INSERT INTO rate_limits (bucket, tokens, updated_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (bucket) DO UPDATE"
                " SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                bucket,
                tokens - 1 if wait == 0 else tokens,
                now,
            )
        return wait

    async def forget_idle_buckets(self, older_than: int) -> None:
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM rate_limits WHERE updated_at < $1", older_than)

    # -- accounts and sessions --------------------------------------------

    async def create_user(
        self, user_id: int, username: str, password_hash: str, full_name: str, now: int
    ) -> UserRecord | None:
        """The new user, or None when the username is taken."""
        async with self._changing(for_user=user_id) as (conn, changed):
            row = await conn.fetchrow(
                "INSERT INTO users (id, username, password_hash, full_name, created_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING"
                f" RETURNING {_USER_COLUMNS}",
                user_id,
                username,
                password_hash,
                full_name,
                now,
            )
            if row is not None:
                changed.append(Change("users", "insert", {"id": user_id}))
        return None if row is None else _user(row)

    async def credentials(self, username: str) -> tuple[int, str] | None:
        sql = "SELECT id, password_hash FROM users WHERE username = $1"
        async with self.db.read() as conn:
            row = await conn.fetchrow(sql, username)
        if row is None and self._has_replicas:
            async with self.db.read(fresh=True) as conn:
                row = await conn.fetchrow(sql, username)
        return None if row is None else (row["id"], row["password_hash"])

    async def create_session(self, token_hash: str, user_id: int, now: int) -> None:
        async with self.db.write(for_user=user_id) as conn:
            await conn.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at) VALUES ($1, $2, $3)",
                token_hash,
                user_id,
                now,
            )

    async def session_user(self, token_hash: str) -> int | None:
        # Revocation must bite at once, so this always asks the leader's view
        # (before the token is checked there is no user to route by).
        async with self.db.read(fresh=True) as conn:
            value = await conn.fetchval(
                "SELECT user_id FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL",
                token_hash,
            )
        return None if value is None else int(value)

    async def revoke_session(self, token_hash: str, now: int, *, actor: int | None = None) -> None:
        async with self.db.write(for_user=actor) as conn:
            await conn.execute(
                "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
                token_hash,
                now,
            )

    # -- users ---------------------------------------------------------------

    async def user_id_by_username(self, username: str) -> int | None:
        sql = "SELECT id FROM users WHERE username = $1"
        async with self.db.read() as conn:
            value = await conn.fetchval(sql, username)
        if value is None and self._has_replicas:
            async with self.db.read(fresh=True) as conn:
                value = await conn.fetchval(sql, username)
        return None if value is None else int(value)

    async def users(
        self, ids: Sequence[int], *, viewer: int | None = None
    ) -> dict[int, UserRecord]:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return {}
        rows = await self._by_ids(f"SELECT {_USER_COLUMNS} FROM users", unique, viewer)
        return {row["id"]: _user(row) for row in rows}

    async def update_profile(
        self, user_id: int, full_name: str | None, bio: str | None
    ) -> UserRecord:
        async with self._changing(for_user=user_id) as (conn, changed):
            row = await conn.fetchrow(
                "UPDATE users SET full_name = COALESCE($2, full_name), bio = COALESCE($3, bio)"
                f" WHERE id = $1 RETURNING {_USER_COLUMNS}",
                user_id,
                full_name,
                bio,
            )
            if row is not None:
                changed.append(Change("users", "update", {"id": user_id}))
        if row is None:
            raise NotFound("user", user_id)
        return _user(row)

    # -- follows -------------------------------------------------------------

    async def follow(
        self, follow_id: int, follower: int, followee: int, now: int, jobs: Sequence[NewJob]
    ) -> bool:
        """True when the follow is new; counters and jobs only then."""
        async with self._changing(for_user=follower) as (conn, changed):
            created = await conn.fetchval(
                "INSERT INTO follows (id, follower_id, followee_id, created_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (follower_id, followee_id) DO NOTHING"
                " RETURNING id",
                follow_id,
                follower,
                followee,
                now,
            )
            if created is None:
                return False
            await _count_follow(conn, follower, followee, +1)
            await _enqueue(conn, jobs, now)
            changed.extend(_follow_changes("insert", follower, followee))
        return True

    async def unfollow(self, follower: int, followee: int, now: int, jobs_for: Any) -> int | None:
        """The removed follow's ID (None if there was none); ``jobs_for(follow_id)``
        names the jobs to enqueue with the removal."""
        async with self._changing(for_user=follower) as (conn, changed):
            follow_id = await conn.fetchval(
                "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING id",
                follower,
                followee,
            )
            if follow_id is None:
                return None
            await _count_follow(conn, follower, followee, -1)
            await _enqueue(conn, jobs_for(int(follow_id)), now)
            changed.extend(_follow_changes("delete", follower, followee))
        return int(follow_id)

    async def followed_among(self, viewer: int, candidates: Sequence[int]) -> set[int]:
        return await self._viewer_edges("follows", "follower_id", "followee_id", viewer, candidates)

    async def _viewer_edges(
        self, table: str, viewer_column: str, other_column: str, viewer: int, others: Sequence[int]
    ) -> set[int]:
        """Which of ``others`` the viewer has an edge to (follows, likes): one query a page."""
        unique = list(dict.fromkeys(others))
        if not unique:
            return set()
        async with self.db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                f"SELECT {other_column} AS other FROM {table} WHERE {viewer_column} = $1"
                f" AND {other_column} IN ({_in_list(unique, 2)})",
                viewer,
                *unique,
            )
        return {row["other"] for row in rows}

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
        async with self.db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                f"SELECT id, {select} AS other FROM follows WHERE {match} = $1"
                " AND id < $2 ORDER BY id DESC LIMIT $3",
                user_id,
                _before(after),
                limit,
            )
        return [(row["id"], row["other"]) for row in rows]

    async def follower_ids_after(self, user_id: int, after: int, limit: int) -> list[int]:
        """Follower IDs in ascending order, for fan-out batches; read on the
        leader, so no follow committed before the post is missed."""
        async with self.db.read(fresh=True) as conn:
            rows = await conn.fetch(
                "SELECT follower_id FROM follows WHERE followee_id = $1 AND follower_id > $2"
                " ORDER BY follower_id LIMIT $3",
                user_id,
                after,
                limit,
            )
        return [row["follower_id"] for row in rows]

    # -- media ---------------------------------------------------------------

    async def create_media(self, media: MediaRecord, jobs: Sequence[NewJob]) -> MediaRecord:
        async with self._changing(for_user=media.owner_id) as (conn, changed):
            await conn.execute(
                "INSERT INTO media (id, owner_id, caption, width, height, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                media.id,
                media.owner_id,
                media.caption,
                media.width,
                media.height,
                media.created_at,
            )
            await conn.execute(
                "UPDATE users SET media_count = media_count + 1 WHERE id = $1", media.owner_id
            )
            await _enqueue(conn, jobs, media.created_at)
            changed.append(Change("media", "insert", {"id": media.id, "owner_id": media.owner_id}))
            changed.append(Change("users", "update", {"id": media.owner_id}))
        return media

    async def media(
        self, ids: Sequence[int], *, viewer: int | None = None
    ) -> dict[int, MediaRecord]:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return {}
        rows = await self._by_ids(f"SELECT {_MEDIA_COLUMNS} FROM media", unique, viewer)
        return {row["id"]: _media(row) for row in rows}

    async def delete_media(
        self, media_id: int, now: int, jobs: Sequence[NewJob], *, actor: int | None = None
    ) -> None:
        async with self._changing(for_user=actor) as (conn, changed):
            owner = await conn.fetchval(
                "DELETE FROM media WHERE id = $1 RETURNING owner_id", media_id
            )
            if owner is None:
                raise NotFound("media", media_id)
            await conn.execute(
                "UPDATE users SET media_count = media_count - 1 WHERE id = $1", owner
            )
            await conn.execute("DELETE FROM likes WHERE media_id = $1", media_id)
            await conn.execute("DELETE FROM comments WHERE media_id = $1", media_id)
            await _enqueue(conn, jobs, now)
            # The likes go with it; their membership keys name media that no
            # longer exists, which hydration drops, so they need no eviction.
            changed.append(Change("media", "delete", {"id": media_id, "owner_id": int(owner)}))
            changed.append(Change("users", "update", {"id": int(owner)}))

    async def user_media_page(
        self, owner: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[MediaRecord]:
        async with self.db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                f"SELECT {_MEDIA_COLUMNS} FROM media WHERE owner_id = $1 AND id < $2"
                " ORDER BY id DESC LIMIT $3",
                owner,
                _before(after),
                limit,
            )
        return [_media(row) for row in rows]

    # -- likes ---------------------------------------------------------------

    async def like(
        self, like_id: int, media_id: int, user_id: int, now: int, jobs_for: JobsFor
    ) -> tuple[bool, int, int]:
        """(created, like_count, owner_id); ``jobs_for(owner_id)`` names the jobs
        to enqueue when the like is new."""
        async with self._changing(for_user=user_id) as (conn, changed):
            created = await conn.fetchval(
                "INSERT INTO likes (id, media_id, user_id, created_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (media_id, user_id) DO NOTHING RETURNING id",
                like_id,
                media_id,
                user_id,
                now,
            )
            if created is not None:
                row = await conn.fetchrow(
                    "UPDATE media SET like_count = like_count + 1 WHERE id = $1"
                    " RETURNING like_count, owner_id",
                    media_id,
                )
            else:
                row = await conn.fetchrow(
                    "SELECT like_count, owner_id FROM media WHERE id = $1", media_id
                )
            if row is None:
                raise NotFound("media", media_id)
            if created is not None:
                await _enqueue(conn, jobs_for(int(row["owner_id"])), now)
                changed.extend(_like_changes("insert", media_id, user_id))
        return created is not None, int(row["like_count"]), int(row["owner_id"])

    async def unlike(
        self, media_id: int, user_id: int, now: int, jobs_for: JobsForPair
    ) -> tuple[bool, int]:
        async with self._changing(for_user=user_id) as (conn, changed):
            like_id = await conn.fetchval(
                "DELETE FROM likes WHERE media_id = $1 AND user_id = $2 RETURNING id",
                media_id,
                user_id,
            )
            if like_id is not None:
                row = await conn.fetchrow(
                    "UPDATE media SET like_count = like_count - 1 WHERE id = $1"
                    " RETURNING like_count, owner_id",
                    media_id,
                )
            else:
                row = await conn.fetchrow(
                    "SELECT like_count, owner_id FROM media WHERE id = $1", media_id
                )
            if row is None:
                raise NotFound("media", media_id)
            if like_id is not None:
                await _enqueue(conn, jobs_for(int(row["owner_id"]), int(like_id)), now)
                changed.extend(_like_changes("delete", media_id, user_id))
        return like_id is not None, int(row["like_count"])

    async def liked_among(self, viewer: int, media_ids: Sequence[int]) -> set[int]:
        return await self._viewer_edges("likes", "user_id", "media_id", viewer, media_ids)

    async def likers_page(
        self, media_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[tuple[int, int]]:
        """(like ID, user ID), newest like first."""
        async with self.db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                "SELECT id, user_id FROM likes WHERE media_id = $1 AND id < $2"
                " ORDER BY id DESC LIMIT $3",
                media_id,
                _before(after),
                limit,
            )
        return [(row["id"], row["user_id"]) for row in rows]

    # -- comments ------------------------------------------------------------

    async def add_comment(self, comment: CommentRecord, jobs_for: JobsFor) -> int:
        """Store the comment; returns the media owner's ID."""
        async with self._changing(for_user=comment.author_id) as (conn, changed):
            owner = await conn.fetchval(
                "UPDATE media SET comment_count = comment_count + 1 WHERE id = $1"
                " RETURNING owner_id",
                comment.media_id,
            )
            if owner is None:
                raise NotFound("media", comment.media_id)
            await conn.execute(
                "INSERT INTO comments (id, media_id, author_id, text, created_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                comment.id,
                comment.media_id,
                comment.author_id,
                comment.text,
                comment.created_at,
            )
            await _enqueue(conn, jobs_for(int(owner)), comment.created_at)
            changed.append(Change("media", "update", {"id": comment.media_id}))
        return int(owner)

    async def comment_with_owner(self, comment_id: int) -> tuple[CommentRecord, int] | None:
        """The comment and its media's owner, read on the leader (it guards a delete)."""
        async with self.db.read(fresh=True) as conn:
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
        async with self._changing(for_user=actor) as (conn, changed):
            media_id = await conn.fetchval(
                "DELETE FROM comments WHERE id = $1 RETURNING media_id", comment_id
            )
            if media_id is None:
                return False
            await conn.execute(
                "UPDATE media SET comment_count = comment_count - 1 WHERE id = $1", media_id
            )
            await _enqueue(conn, jobs, now)
            changed.append(Change("media", "update", {"id": int(media_id)}))
        return True

    async def comments_page(
        self, media_id: int, after: int | None, limit: int, *, viewer: int | None = None
    ) -> list[CommentRecord]:
        """Oldest first."""
        async with self.db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                "SELECT id, media_id, author_id, text, created_at FROM comments"
                " WHERE media_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                media_id,
                after if after is not None else -1,
                limit,
            )
        return [_comment(row) for row in rows]

    # -- jobs ----------------------------------------------------------------

    async def enqueue(self, jobs: Sequence[NewJob], now: int) -> None:
        async with self.db.write() as conn:
            await _enqueue(conn, jobs, now)

    async def claim_job(self, now: int, lease_ms: int) -> Job | None:
        """Take the oldest ready job for ``lease_ms``; a worker that dies
        holding it lets the lease run out and another worker retries."""
        lock = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgres" else ""
        # Idle polls must not take the write lock (SQLite has only one).
        async with self.db.read() as conn:
            ready = await conn.fetchval(
                "SELECT id FROM jobs WHERE run_after <= $1 AND claimed_until <= $1 LIMIT 1", now
            )
        if ready is None:
            return None
        async with self.db.write() as conn:
            row = await conn.fetchrow(
                "SELECT id FROM jobs WHERE run_after <= $1 AND claimed_until <= $1"
                f" ORDER BY run_after, id LIMIT 1{lock}",
                now,
            )
            if row is None:
                return None
            claimed = await conn.fetchrow(
                "UPDATE jobs SET claimed_until = $2, attempts = attempts + 1 WHERE id = $1"
                " RETURNING id, kind, payload, attempts",
                row["id"],
                now + lease_ms,
            )
        if claimed is None:
            return None
        return Job(
            id=claimed["id"],
            kind=claimed["kind"],
            payload=json.loads(claimed["payload"]),
            attempts=claimed["attempts"],
        )

    async def complete_job(self, job_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM jobs WHERE id = $1", job_id)

    async def retry_job(self, job_id: int, run_after: int, error: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE jobs SET run_after = $2, claimed_until = 0, last_error = $3 WHERE id = $1",
                job_id,
                run_after,
                error[:2000],
            )


def _before(after: int | None) -> int:
    """Upper bound for newest-first pages: everything when there is no cursor."""
    return after if after is not None else (1 << 63) - 1
