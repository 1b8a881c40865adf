"""The home timelines' versions, kept in the primary store so that every
write adding to a timeline (which lives in a regional store) is a row
change the invalidation rules see: they evict the timeline's cached first
page in every process, through the outbox or the PostgreSQL slot."""

from __future__ import annotations

from collections.abc import Sequence

from gramstack.records import Change
from gramstack.storage.transaction import Writer


class SqlTimelineMarks:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def timelines_changed(self, user_ids: Sequence[int]) -> None:
        """Note a committed write to these users' timelines (call it after
        the regional commit: an eviction before it could be refilled with
        the old page)."""
        unique = sorted(set(user_ids))
        if not unique:
            return
        async with self._writer.transaction() as tx:
            await tx.conn.executemany(
                "INSERT INTO timeline_marks (user_id, version) VALUES ($1, 1)"
                " ON CONFLICT (user_id) DO UPDATE SET version = timeline_marks.version + 1",
                [(user_id,) for user_id in unique],
            )
            tx.changed(*(Change("timeline_marks", "update", {"user_id": u}) for u in unique))

    async def forget(self, user_id: int) -> None:
        async with self._writer.transaction() as tx:
            await tx.conn.execute("DELETE FROM timeline_marks WHERE user_id = $1", user_id)
            tx.changed(Change("timeline_marks", "delete", {"user_id": user_id}))
