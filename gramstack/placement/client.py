"""The placement client the app asks (Akkio's client library): cache →
location table → the region's store, directly.

Lookups come from the host's :class:`SharedLocationCache`; a miss reads the
location table in the primary store and fills the cache for
``cache_ttl_s``. A user with no row (placed at sign-up, so only if the
process died between the sign-up commit and the placement write, or for
users from before regions) is placed in the region of the first server
that needs to know: ``place`` inserts only if absent, so every server
then agrees on the row that won.

Routing by the row's state (the migration protocol, ``placement.migrator``):
reads go to ``region`` except in ``read_target``; writes go to ``target``
then ``region`` while a move double-writes. A write whose route was looked
up longer ago than the migrator waits (``2 * cache_ttl_s`` after each
step, see there) re-reads the row after writing and repeats the write in
any store the fresh route adds: a slow writer with a stale route cannot
leave an entry behind in a copy being deleted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, TypeVar

from gramstack.placement.migrator import Migrator
from gramstack.placement.policy import PlacementPolicy
from gramstack.placement.ports import LocationTable, PartitionStore
from gramstack.placement.shared_cache import NO_TARGET, CachedLocation, SharedLocationCache
from gramstack.records import LocationRecord, LocationState

STATES: tuple[LocationState, ...] = ("placed", "double_write", "read_target", "cleanup")
_READ_TARGET = STATES.index("read_target")
_DOUBLE_WRITE = {STATES.index("double_write"), _READ_TARGET}

S = TypeVar("S", bound=PartitionStore)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _since_move_ms(row: LocationRecord, now: int) -> int | None:
    """How long ago ``row``'s last move ended; None if it never moved. A
    placed row's epoch is 1 until its first move's first step, and every
    step stamps ``changed_at``, the last one when the move ends."""
    return None if row.epoch == 1 else now - row.changed_at


class AkkioPlacement(Generic[S]):
    def __init__(
        self,
        *,
        home: str,
        stores: Mapping[str, S],
        locations: LocationTable,
        cache: SharedLocationCache,
        cache_ttl_s: float,
        policy: PlacementPolicy,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.home = home
        self.regions = tuple(stores)
        self._index = {region: i for i, region in enumerate(self.regions)}
        self._stores = stores
        # By region index, as cached locations name regions.
        self._store_at = [stores[region] for region in self.regions]
        self._locations = locations
        self._cache = cache
        self._ttl_ms = int(cache_ttl_s * 1000)
        self._policy = policy
        self._clock = clock_ms
        self._reads: Counter[int] = Counter()
        self.migrator = Migrator(
            stores,
            locations,
            wait_ms=2 * self._ttl_ms,
            clock_ms=clock_ms,
            published=lambda row, read_at: self._publish(row, read_at),
        )

    # -- lookups --------------------------------------------------------------

    def _publish(self, row: LocationRecord, read_at: int) -> CachedLocation:
        # The lifetime runs from before the row was read, not from now: a
        # read that took long (a stalled loop) must not stretch how long an
        # older row can be trusted past the migrator's wait.
        entry = CachedLocation(
            self._index[row.region],
            NO_TARGET if row.target is None else self._index[row.target],
            STATES.index(row.state),
            row.epoch,
            read_at + self._ttl_ms,
        )
        self._cache.put(row.user_id, entry)
        return entry

    async def _fetch(self, user_id: int) -> CachedLocation:
        read_at = self._clock()
        row = await self._locations.location(user_id)
        if row is None:
            row = await self._locations.place(user_id, self.home, read_at)
        return self._publish(row, read_at)

    async def _lookup(self, user_id: int) -> CachedLocation:
        entry = self._cache.get(user_id, self._clock())
        return entry if entry is not None else await self._fetch(user_id)

    @staticmethod
    def _read_index(entry: CachedLocation) -> int:
        """The index of the region that serves reads of this location."""
        return entry.target if entry.state == _READ_TARGET else entry.region

    def _read_region(self, entry: CachedLocation) -> str:
        return self.regions[self._read_index(entry)]

    def _write_regions(self, entry: CachedLocation) -> list[str]:
        if entry.state in _DOUBLE_WRITE:
            return [self.regions[entry.target], self.regions[entry.region]]
        return [self.regions[entry.region]]

    async def region_of(self, user_id: int) -> str:
        # The hot path, inlined: a hit awaits nothing.
        entry = self._cache.get(user_id, self._clock())
        if entry is None:
            entry = await self._fetch(user_id)
        return self._read_region(entry)

    async def store_for_read(self, user_id: int) -> S:
        # The hot path (every feed page), ``region_of`` inlined.
        self._reads[user_id] += 1
        entry = self._cache.get(user_id, self._clock())
        if entry is None:
            entry = await self._fetch(user_id)
        return self._store_at[self._read_index(entry)]

    async def stores_for_write(self, user_id: int) -> list[S]:
        return [self._stores[r] for r in self._write_regions(await self._lookup(user_id))]

    # -- writes ---------------------------------------------------------------

    def _stale(self, entry: CachedLocation) -> bool:
        # The migrator waits 2 x TTL after a step: an entry it cached at
        # most TTL before its expiry is safe to have written with until
        # then; later, the route may have been changed under the write.
        return self._clock() > entry.expires_ms + self._ttl_ms

    async def write(self, user_id: int, apply: Callable[[S], Awaitable[None]]) -> None:
        await self.write_many([user_id], lambda store, _: apply(store))

    async def write_many(
        self, user_ids: Sequence[int], apply: Callable[[S, list[int]], Awaitable[None]]
    ) -> None:
        entries = {u: await self._lookup(u) for u in dict.fromkeys(user_ids)}
        done = await self._apply(entries, apply, {})
        stale = [u for u, entry in entries.items() if self._stale(entry)]
        if stale:
            fresh = {u: await self._fetch(u) for u in stale}
            await self._apply(fresh, apply, done)

    async def _apply(
        self,
        entries: Mapping[int, CachedLocation],
        apply: Callable[[S, list[int]], Awaitable[None]],
        done: Mapping[int, set[str]],
    ) -> dict[int, set[str]]:
        # Destination first, each store's users in one call; the stores of
        # a round run concurrently (another region is a WAN round trip away).
        rounds: list[dict[str, list[int]]] = [{}, {}]
        written: dict[int, set[str]] = {}
        for user_id, entry in entries.items():
            regions = [r for r in self._write_regions(entry) if r not in done.get(user_id, ())]
            written[user_id] = set(regions) | set(done.get(user_id, ()))
            for number, region in enumerate(regions):
                rounds[number].setdefault(region, []).append(user_id)
        for batch in rounds:
            await asyncio.gather(*(apply(self._stores[r], ids) for r, ids in batch.items()))
        return written

    async def place_new_user(self, user_id: int) -> None:
        read_at = self._clock()
        self._publish(await self._locations.place(user_id, self.home, read_at), read_at)

    # -- access counters and the policy ---------------------------------------

    async def flush_reads(self) -> list[tuple[int, str]]:
        reads, self._reads = self._reads, Counter()
        if not reads:
            return []
        now = self._clock()
        decay = self._policy.decay_to(now)
        await self._locations.add_reads({(u, self.home): n for u, n in reads.items()}, now, decay)
        return await self.evaluate(list(reads))

    async def evaluate(self, user_ids: Sequence[int]) -> list[tuple[int, str]]:
        """The moves the policy wants for ``user_ids`` (those placed and idle)."""
        moves = []
        now = self._clock()
        for user_id in user_ids:
            row = await self._locations.location(user_id)
            if row is None or row.state != "placed":
                continue
            scores = await self._locations.read_scores(user_id, now, self._policy.decay_to(now))
            region = self._policy.choose(
                {r: s for r, s in scores.items() if r in self._index},
                row.region,
                since_move_ms=_since_move_ms(row, now),
            )
            if region is not None:
                moves.append((user_id, region))
        return moves

    async def read_scores(self, user_id: int) -> dict[str, float]:
        now = self._clock()
        return await self._locations.read_scores(user_id, now, self._policy.decay_to(now))

    async def location(self, user_id: int) -> LocationRecord | None:
        return await self._locations.location(user_id)

    # -- moves ----------------------------------------------------------------

    async def advance_move(self, user_id: int, region: str) -> int | None:
        if region not in self._index:
            raise ValueError(f"unknown region {region!r}")
        return await self.migrator.step(user_id, region, self.home)

    def close(self) -> None:
        self._cache.close()
