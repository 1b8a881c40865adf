"""The activity inbox's seen marks, kept in the primary store so that every
change to a mark or an inbox is a row change the invalidation rules see."""

from __future__ import annotations

from collections.abc import Sequence

from gramstack.records import Change
from gramstack.storage.transaction import Writer


class SqlInboxMarks:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def inbox_changed(self, user_ids: Sequence[int]) -> None:
        """Note a write to these users' inboxes (evicts their unread counts)."""
        unique = sorted(set(user_ids))
        if not unique:
            return
        async with self._writer.transaction() as tx:
            await tx.conn.executemany(
                "INSERT INTO inbox_marks (user_id, version) VALUES ($1, 1)"
                " ON CONFLICT (user_id) DO UPDATE SET version = inbox_marks.version + 1",
                [(user_id,) for user_id in unique],
            )
            tx.changed(*(Change("inbox_marks", "update", {"user_id": u}) for u in unique))

    async def seen_id(self, user_id: int) -> int:
        async with self._writer.db.read(for_user=user_id) as conn:
            value = await conn.fetchval(
                "SELECT seen_id FROM inbox_marks WHERE user_id = $1", user_id
            )
        return int(value or 0)

    async def mark_seen(self, user_id: int, up_to: int) -> None:
        """Move the mark to ``up_to``, never backwards."""
        async with self._writer.transaction(for_user=user_id) as tx:
            await tx.conn.execute(
                "INSERT INTO inbox_marks (user_id, seen_id) VALUES ($1, $2)"
                " ON CONFLICT (user_id) DO UPDATE SET seen_id = CASE"
                " WHEN excluded.seen_id > inbox_marks.seen_id THEN excluded.seen_id"
                " ELSE inbox_marks.seen_id END",
                user_id,
                up_to,
            )
            tx.changed(Change("inbox_marks", "update", {"user_id": user_id}))

    async def forget(self, user_id: int) -> None:
        async with self._writer.transaction() as tx:
            await tx.conn.execute("DELETE FROM inbox_marks WHERE user_id = $1", user_id)
            tx.changed(Change("inbox_marks", "delete", {"user_id": user_id}))
