"""Users and their sessions."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gramstack.records import Change, NewJob, UserRecord
from gramstack.storage.ports import Database, Row
from gramstack.storage.queries import by_ids, fetchrow_fresh, has_replicas
from gramstack.storage.transaction import Transaction, Writer

USER_COLUMNS = (
    "id, username, full_name, bio, created_at, follower_count, following_count, media_count,"
    " avatar_id"
)
_WORD = re.compile(r"\w+")


def _user(row: Row) -> UserRecord:
    return UserRecord(**row)


def search_words(username: str, full_name: str) -> list[str]:
    """The words user search matches by prefix: the username and each word
    of the full name, lowercased, each once."""
    return list(dict.fromkeys([username, *_WORD.findall(full_name.lower())]))


async def _index_words(tx: Transaction, user_id: int, username: str, full_name: str) -> None:
    """Replace the user's rows in ``user_words``, naming each changed word
    (the invalidation rules evict the search results of its prefixes)."""
    old = await _drop_words(tx, user_id)
    new = search_words(username, full_name)
    await tx.conn.executemany(
        "INSERT INTO user_words (word, user_id) VALUES ($1, $2)", [(w, user_id) for w in new]
    )
    for word in set(old) ^ set(new):
        tx.changed(Change("user_words", "update", {"word": word, "user_id": user_id}))


async def _drop_words(tx: Transaction, user_id: int) -> list[str]:
    rows = await tx.conn.fetch("DELETE FROM user_words WHERE user_id = $1 RETURNING word", user_id)
    return [row["word"] for row in rows]


def _forget_sessions(tx: Transaction, revoked: Sequence[Row]) -> None:
    """Revoked sessions are changed rows: the rules evict their cached
    lookups on every worker (the token must stop working at once)."""
    for row in revoked:
        tx.changed(Change("sessions", "update", {"token_hash": str(row["token_hash"])}))


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
                # The username's cached ID may be a deleted account's.
                tx.changed(Change("users", "insert", {"id": user_id, "username": username}))
                await _index_words(tx, user_id, username, full_name)
        return None if row is None else _user(row)

    async def credentials(self, username: str) -> tuple[int, str] | None:
        sql = "SELECT id, password_hash FROM users WHERE username = $1 AND deleted_at IS NULL"
        async with self._db.read() as conn:
            row = await conn.fetchrow(sql, username)
        if row is None and has_replicas(self._db):
            async with self._db.read(fresh=True) as conn:
                row = await conn.fetchrow(sql, username)
        return None if row is None else (row["id"], row["password_hash"])

    async def user_id_by_username(self, username: str) -> int | None:
        sql = "SELECT id FROM users WHERE username = $1 AND deleted_at IS NULL"
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
        rows = await by_ids(
            self._db, f"SELECT {USER_COLUMNS}, deleted_at FROM users", unique, viewer
        )
        found: dict[int, UserRecord] = {}
        for row in rows:
            fields = dict(row)
            # A deleted account is gone from every read at once, though its
            # row stays until the deletion job has cleared what it made.
            if fields.pop("deleted_at") is None:
                found[fields["id"]] = _user(fields)
        return found

    async def update_profile(
        self, user_id: int, full_name: str | None, bio: str | None
    ) -> UserRecord | None:
        """The updated user; None when there is no such user."""
        async with self._writer.transaction(for_user=user_id) as tx:
            row = await tx.conn.fetchrow(
                "UPDATE users SET full_name = COALESCE($2, full_name), bio = COALESCE($3, bio)"
                f" WHERE id = $1 AND deleted_at IS NULL RETURNING {USER_COLUMNS}",
                user_id,
                full_name,
                bio,
            )
            if row is not None:
                tx.changed(Change("users", "update", {"id": user_id}))
                if full_name is not None:
                    await _index_words(tx, user_id, row["username"], full_name)
        return None if row is None else _user(row)

    async def set_avatar(
        self, user_id: int, avatar_id: int | None
    ) -> tuple[UserRecord, int | None] | None:
        """The updated user and the avatar it replaced; None when there is no such user."""
        async with self._writer.transaction(for_user=user_id) as tx:
            old = await tx.conn.fetchrow(
                "SELECT avatar_id FROM users WHERE id = $1 AND deleted_at IS NULL", user_id
            )
            if old is None:
                return None
            row = await tx.conn.fetchrow(
                f"UPDATE users SET avatar_id = $2 WHERE id = $1 RETURNING {USER_COLUMNS}",
                user_id,
                avatar_id,
            )
            assert row is not None
            tx.changed(Change("users", "update", {"id": user_id}))
        return _user(row), old["avatar_id"]

    async def password_hash(self, user_id: int) -> str | None:
        async with self._db.read(fresh=True) as conn:
            value = await conn.fetchval(
                "SELECT password_hash FROM users WHERE id = $1 AND deleted_at IS NULL", user_id
            )
        return None if value is None else str(value)

    async def is_live(self, user_id: int) -> bool:
        """Whether the account exists and is not deleted, from the leader."""
        async with self._db.read(fresh=True) as conn:
            found = await conn.fetchval(
                "SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL", user_id
            )
        return found is not None

    async def change_password(
        self, user_id: int, expected_hash: str, password_hash: str, keep_token_hash: str, now: int
    ) -> bool:
        """Set the password and revoke every other session, in one
        transaction whose changed sessions evict their cached lookups, so no
        revoked token authenticates once this commits. Only while the stored hash is still
        ``expected_hash`` (the one the current password was checked against),
        so of two concurrent changes one wins and the other is refused.
        False when it was not (or there is no such user)."""
        async with self._writer.transaction(for_user=user_id) as tx:
            changed = await tx.conn.fetchval(
                "UPDATE users SET password_hash = $3"
                " WHERE id = $1 AND password_hash = $2 AND deleted_at IS NULL RETURNING id",
                user_id,
                expected_hash,
                password_hash,
            )
            if changed is None:
                return False
            revoked = await tx.conn.fetch(
                "UPDATE sessions SET revoked_at = $3"
                " WHERE user_id = $1 AND token_hash <> $2 AND revoked_at IS NULL"
                " RETURNING token_hash",
                user_id,
                keep_token_hash,
                now,
            )
            _forget_sessions(tx, revoked)
        return True

    async def mark_deleted(self, user_id: int, now: int, jobs: Sequence[NewJob]) -> str | None:
        """Mark the account deleted, revoke all its sessions, drop it from
        search and free its username, in one transaction with the deletion
        job; the job clears the rest. The freed username, or None when there
        is no such (live) user."""
        async with self._writer.transaction(for_user=user_id, now=now) as tx:
            username = await tx.conn.fetchval(
                "SELECT username FROM users WHERE id = $1 AND deleted_at IS NULL", user_id
            )
            if username is None:
                return None
            # A name no sign-up can take (it starts with '.'), so the real one
            # is free. Conditional: of two concurrent deletions the second's
            # update waits for the first, then matches nothing and stops.
            marked = await tx.conn.fetchval(
                "UPDATE users SET deleted_at = $2, username = $3"
                " WHERE id = $1 AND deleted_at IS NULL RETURNING id",
                user_id,
                now,
                f".deleted.{user_id}",
            )
            if marked is None:
                return None
            revoked = await tx.conn.fetch(
                "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"
                " RETURNING token_hash",
                user_id,
                now,
            )
            _forget_sessions(tx, revoked)
            for word in await _drop_words(tx, user_id):
                tx.changed(Change("user_words", "delete", {"word": word, "user_id": user_id}))
            # "delete" for the rules: the account is gone from reads, and its
            # username's cached ID with it.
            tx.changed(Change("users", "delete", {"id": user_id, "username": str(username)}))
            tx.enqueue(*jobs)
        return str(username)

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
        row = await fetchrow_fresh(
            self._db, "SELECT user_id, revoked_at FROM sessions WHERE token_hash = $1", token_hash
        )
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
