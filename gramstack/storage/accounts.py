"""Users and their sessions."""

from __future__ import annotations

from collections.abc import Sequence

from gramstack.records import Change, UserRecord
from gramstack.storage.ports import BackendUnavailable, Database, Row
from gramstack.storage.queries import by_ids, has_replicas
from gramstack.storage.transaction import Writer

USER_COLUMNS = (
    "id, username, full_name, bio, created_at, follower_count, following_count, media_count"
)


def _user(row: Row) -> UserRecord:
    return UserRecord(**row)


class SqlAccountStore:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._db: Database = writer.db

    async def create_user(
        self, user_id: int, username: str, password_hash: str, full_name: str, now: int
    ) -> UserRecord | None:
        """The new user, or None when the username is taken."""
        async with self._writer.transaction(for_user=user_id, now=now) as tx:
            row = await tx.conn.fetchrow(
                "INSERT INTO users (id, username, password_hash, full_name, created_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING"
                f" RETURNING {USER_COLUMNS}",
                user_id,
                username,
                password_hash,
                full_name,
                now,
            )
            if row is not None:
                tx.changed(Change("users", "insert", {"id": user_id}))
        return None if row is None else _user(row)

    async def credentials(self, username: str) -> tuple[int, str] | None:
        sql = "SELECT id, password_hash FROM users WHERE username = $1"
        async with self._db.read() as conn:
            row = await conn.fetchrow(sql, username)
        if row is None and has_replicas(self._db):
            async with self._db.read(fresh=True) as conn:
                row = await conn.fetchrow(sql, username)
        return None if row is None else (row["id"], row["password_hash"])

    async def user_id_by_username(self, username: str) -> int | None:
        sql = "SELECT id FROM users WHERE username = $1"
        async with self._db.read() as conn:
            value = await conn.fetchval(sql, username)
        if value is None and has_replicas(self._db):
            async with self._db.read(fresh=True) as conn:
                value = await conn.fetchval(sql, username)
        return None if value is None else int(value)

    async def users(
        self, ids: Sequence[int], *, viewer: int | None = None
    ) -> dict[int, UserRecord]:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return {}
        rows = await by_ids(self._db, f"SELECT {USER_COLUMNS} FROM users", unique, viewer)
        return {row["id"]: _user(row) for row in rows}

    async def update_profile(
        self, user_id: int, full_name: str | None, bio: str | None
    ) -> UserRecord | None:
        """The updated user; None when there is no such user."""
        async with self._writer.transaction(for_user=user_id) as tx:
            row = await tx.conn.fetchrow(
                "UPDATE users SET full_name = COALESCE($2, full_name), bio = COALESCE($3, bio)"
                f" WHERE id = $1 RETURNING {USER_COLUMNS}",
                user_id,
                full_name,
                bio,
            )
            if row is not None:
                tx.changed(Change("users", "update", {"id": user_id}))
        return None if row is None else _user(row)

    # -- sessions -------------------------------------------------------------

    async def create_session(self, token_hash: str, user_id: int, now: int) -> None:
        async with self._db.write(for_user=user_id) as conn:
            await conn.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at) VALUES ($1, $2, $3)",
                token_hash,
                user_id,
                now,
            )

    async def session_user(self, token_hash: str) -> int | None:
        """The session's user; None when it is revoked or unknown.

        The leader's answer (a revocation bites at once, on every server,
        whatever the followers' lag), or a follower's while the leader is
        unavailable: signed-in reads go on through an outage, and a session
        revoked before it stays revoked (the revocation replicated with
        everything else). The domain caches what this returns.
        """
        sql = "SELECT user_id, revoked_at FROM sessions WHERE token_hash = $1"
        try:
            async with self._db.read(fresh=True) as conn:
                row = await conn.fetchrow(sql, token_hash)
        except BackendUnavailable:
            if not has_replicas(self._db):
                raise
            async with self._db.read() as conn:
                row = await conn.fetchrow(sql, token_hash)
        if row is None or row["revoked_at"] is not None:
            return None
        return int(row["user_id"])

    async def revoke_session(self, token_hash: str, now: int, *, actor: int | None = None) -> None:
        async with self._writer.transaction(for_user=actor) as tx:
            await tx.conn.execute(
                "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
                token_hash,
                now,
            )
            # Evicts the cached lookup in every cache (see session_user).
            tx.changed(Change("sessions", "update", {"token_hash": token_hash}))
