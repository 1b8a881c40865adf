"""Per-region materialized views: each user's home timeline and activity inbox.

They are derived data (rebuildable from the primary store), written by the
fan-out jobs and read on every feed or activity request, so they live in the
region where the user is placed rather than in the primary database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gramstack.records import ActivityRecord, RegionalPartition


class RegionalStore(Protocol):
    async def add_to_timelines(
        self, user_ids: Sequence[int], media_id: int, author_id: int
    ) -> None: ...

    async def add_many_to_timeline(self, user_id: int, entries: Sequence[tuple[int, int]]) -> None:
        """``entries`` are (media ID, author ID)."""
        ...

    async def remove_author_from_timeline(self, user_id: int, author_id: int) -> None: ...

    async def remove_author_from_timelines(self, user_ids: Sequence[int], author_id: int) -> None:
        """``remove_author_from_timeline`` for many users, in one statement."""
        ...

    async def remove_media_from_timelines(self, media_id: int) -> None: ...

    async def timeline_page(
        self, user_id: int, after: int | None, limit: int, *, fresh: bool = False
    ) -> list[int]:
        """Media IDs, newest first, strictly older than ``after``; with
        ``fresh``, from the store's leader (as ``Database.read``)."""
        ...

    async def add_activity(self, user_id: int, activity: ActivityRecord) -> None: ...

    async def remove_activity(self, user_id: int, activity_id: int) -> None: ...

    async def remove_activities(self, items: Sequence[tuple[int, int]]) -> None:
        """Tombstone each (inbox owner, item ID), as ``remove_activity`` does."""
        ...

    async def activity_by_actor(self, actor_id: int, limit: int) -> list[tuple[int, int]]:
        """(inbox owner, item ID) of at most ``limit`` live items ``actor_id``
        caused in this store's inboxes, any partition (account deletion only)."""
        ...

    async def activity_for_media(self, media_id: int, limit: int) -> list[tuple[int, int]]:
        """(inbox owner, item ID) of at most ``limit`` live items about
        ``media_id`` in this store's inboxes, any partition (post deletion only)."""
        ...

    async def remove_activity_for_media(self, user_id: int, media_id: int) -> None: ...

    async def activity_page(
        self, user_id: int, after: int | None, limit: int
    ) -> list[ActivityRecord]: ...

    async def export_partition(self, user_id: int) -> RegionalPartition:
        """All of one user's rows, for a move to another region."""
        ...

    async def import_partition(self, user_id: int, partition: RegionalPartition) -> None:
        """Merge by ID: rows already here stay, a tombstone wins over a live row."""
        ...

    async def delete_partition(self, user_id: int) -> None: ...

    async def has_activity(self, user_id: int, activity_id: int) -> bool: ...

    async def count_activity_after(self, user_id: int, after: int, cap: int) -> int:
        """Items with IDs above ``after``, counting at most ``cap``."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
