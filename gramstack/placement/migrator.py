"""Moving one user's regional data without losing an entry, following
Akkio's protocol, one step per call so a durable job can drive it and a
crash resumes where the location row says it stands:

1. ``placed`` → ``double_write`` (the lock: only an idle row can start a
   move, and every step is a compare-and-set on the epoch). Writes now go
   to the destination first, then the source; reads stay on the source.
2. Wait until every cached copy of the old row has expired, so every
   writer double-writes, then copy the source partition into the
   destination, merging by ID (an entry written twice is stored once, a
   tombstone wins) → ``read_target``: reads switch to the destination.
3. Wait again (readers still on the source keep getting both writes),
   → ``cleanup``: ``region`` is the destination, writes go there alone.
4. Wait out the routes that still double-write, delete the source copy
   → ``placed``.

On the scaled setup a region's page reads may come from its follower
(``regional_follower_urls``), which replays the copy within the router's
``max_follower_lag_s``: right after step 2 a reader elsewhere may briefly
see the moved timeline shorter, never an entry twice; the design allows a
region's stores to be stale for that bounded time.

The wait is two cache lifetimes: one for cached copies to expire, one for
a write routed by the last of them to land (a slower write re-reads the
row, see ``placement.client``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gramstack.placement.ports import LocationTable, PartitionStore
from gramstack.records import LocationRecord, LocationState


class Migrator:
    def __init__(
        self,
        stores: Mapping[str, PartitionStore],
        locations: LocationTable,
        *,
        wait_ms: int,
        clock_ms: Callable[[], int],
        published: Callable[[LocationRecord, int], object],
    ) -> None:
        self._stores = stores
        self._locations = locations
        self._wait_ms = wait_ms
        self._clock = clock_ms
        self._published = published

    async def step(self, user_id: int, region: str, home: str) -> int | None:
        """One step of moving ``user_id`` to ``region``: the time (ms) to
        take the next one, None when there is nothing more to do (moved, or
        another move of this user holds the row)."""
        row = await self._locations.location(user_id)
        if row is None:
            row = await self._locations.place(user_id, home, self._clock())
        now = self._clock()
        if row.state == "placed":
            if row.region == region:
                return None
            return await self._advance(row, row.region, region, "double_write")
        if row.target != region and row.state != "cleanup":
            return None  # another move holds the lock; its own job drives it
        # changed_at was taken before the step's commit; the job that runs the
        # next step is due a full wait after the commit (see _advance), and
        # the slack covers a slow commit when another job gets here first.
        ready = row.changed_at + self._wait_ms + self._wait_ms // 2
        if now < ready:
            return ready
        assert row.target is not None
        if row.state == "double_write":
            source, destination = self._stores[row.region], self._stores[row.target]
            await destination.import_partition(user_id, await source.export_partition(user_id))
            return await self._advance(row, row.region, row.target, "read_target")
        if row.state == "read_target":
            return await self._advance(row, row.target, row.region, "cleanup")
        await self._stores[row.target].delete_partition(user_id)
        await self._advance(row, row.region, None, "placed")
        return None

    async def _advance(
        self, row: LocationRecord, region: str, target: str | None, state: LocationState
    ) -> int | None:
        moved = await self._locations.transition(
            row, region=region, target=target, state=state, now=self._clock()
        )
        committed = self._clock()
        if moved is None:
            return committed  # someone else stepped first: look again
        self._published(moved, committed)
        if state == "placed":
            return None
        return max(committed + self._wait_ms, moved.changed_at + self._wait_ms * 3 // 2)
