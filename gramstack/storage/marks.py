"""Mark rows in the primary store for data that lives in the regional
stores: a version per user's activity inbox (with its seen mark) and per
home timeline, bumped after every write to them, so that each such write
is a row change the invalidation rules see. They evict what is cached of
that regional data (the unread count, the timeline's first page) in every
process, through the outbox or the PostgreSQL slot, in either cache mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from gramstack.records import Change
from gramstack.storage.transaction import Writer

_MarkTable = Literal["inbox_marks", "timeline_marks"]


async def _bump(writer: Writer, table: _MarkTable, user_ids: Sequence[int]) -> None:
    """Raise each user's version in ``table``, in one transaction (call it
    after the regional commit: an eviction before it could be refilled
    with what the write changed)."""
    unique = sorted(set(user_ids))
    if not unique:
        return
    async with writer.transaction() as tx:
        await tx.conn.executemany(
            f"INSERT INTO {table} (user_id, version) VALUES ($1, 1)"
            f" ON CONFLICT (user_id) DO UPDATE SET version = {table}.version + 1",
            [(user_id,) for user_id in unique],
        )
        tx.changed(*(Change(table, "update", {"user_id": u}) for u in unique))


async def _forget(writer: Writer, table: _MarkTable, user_id: int) -> None:
    async with writer.transaction() as tx:
        await tx.conn.execute(f"DELETE FROM {table} WHERE user_id = $1", user_id)
        tx.changed(Change(table, "delete", {"user_id": user_id}))


class SqlInboxMarks:
    """The activity inbox's seen mark, and its version."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def inbox_changed(self, user_ids: Sequence[int]) -> None:
        """Note a write to these users' inboxes (evicts their unread counts)."""
        await _bump(self._writer, "inbox_marks", user_ids)

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
        await _forget(self._writer, "inbox_marks", user_id)


class SqlTimelineMarks:
    """The home timeline's version."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def timelines_changed(self, user_ids: Sequence[int]) -> None:
        """Note a committed write adding to (or cleaning) these users'
        timelines (evicts their cached first pages)."""
        await _bump(self._writer, "timeline_marks", user_ids)

    async def forget(self, user_id: int) -> None:
        await _forget(self._writer, "timeline_marks", user_id)
