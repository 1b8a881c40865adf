"""Write positions that keep reads from followers from ever going back in time.

``SharedWriteMarks``: where each user's last write sits in the leader's WAL,
for the follower router's read-your-writes (kept in this server's
shared-memory table and in the lease cache).

``SharedKeyMarks`` and ``FreshFillCache``: no cache fill older than an
acknowledged write. Evictions alone cannot promise it with followers: a
reader that misses right after a write's evictions may read a follower that
has not replayed the write yet and store the old value for the whole TTL.
So every eviction of a key is preceded by a *mark*, "key K was written at
leader WAL position X", and every fill of K reads a node that has replayed
at least the highest mark of the keys it fills (``read_floor``, honoured by
the router: a caught-up follower, else the leader).

Why no fill can store a value older than an acknowledged write W (commit
position X) of key K once W's evictions ran:

1. Marks come before evictions, where the cache's fillers read them. The
   writer marks K at X (the leader's insert position read after the
   commit, so at or past W's commit record) before its own delete: in this
   server's shared-memory table, and, when the cache is memcached (shared
   with other servers), beside K on K's own servers. Each outbox tailer
   (in-process caches: every process has its own) marks K in the table at
   the leader's position taken in the statement that read W's entry,
   before deleting K from its process. Marks only grow (a max table; a CAS
   loop in memcached). In the table an old mark needs no expiry: once
   every follower has replayed past it, it routes nothing; in memcached it
   lives ``2 * max_follower_lag_s + 5`` s, past which a follower still
   behind it is skipped by the router anyway.
2. A fill is a lease: won at time L, loaded, then stored only if no eviction
   of K came after L (memcached: the ``ms`` carries the lease's CAS, which
   a ``md`` kills; in process: a delete detaches the pending load).
3. The loader runs after L and reads the mark then. If the eviction E came
   before L, the mark (set before E) is seen, and the read sees X. If E came
   after L, the fill is not stored (2), or was stored before E and E
   deletes it.

Hence once W's evictions have run in a cache, every value it serves was
read at or past X: the writer (whose evictions ran before the write was
acknowledged) never reads the old value again, and other readers see the
new one as soon as their cache's eviction ran, the invalidation lag (the
marked fill waits for no follower: it goes to the leader if it must).
Memcached's stale-while-revalidate serves the previous value only while one
reader refills, and that refill is marked like any other.

The change stream's evictions (the invalidator's ``md … I``) may come
before the writer's mark; a fill between them is deleted by the writer's
own delete, which follows its mark.

What it does not cover: fills without leases (``cache_leases = false``, a
benchmark baseline: a load that began before a delete may store after it);
a writer that dies between its commit and its delete, leaving the change
stream's eviction as the only one (a fill right after it may read a lagging
follower, until the TTL); memcached evicting a mark early under memory
pressure.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from gramstack.cache import keys
from gramstack.cache.ports import LeaseCache, Loader, ManyLoader
from gramstack.runtime.shared import SharedMaxTable
from gramstack.storage.ports import read_floor

log = logging.getLogger("gramstack.storage.router")


class SharedWriteMarks:
    """Where each user's last write sits in the WAL: the local shared table
    for this server's workers, and the lease cache (``ttl_s``) for other
    servers when the cache is shared."""

    def __init__(self, table: SharedMaxTable | None, cache: LeaseCache, ttl_s: int) -> None:
        self._table = table
        self._cache = cache
        self._ttl_s = ttl_s

    async def remember(self, user_id: int, lsn: int) -> None:
        if self._table is not None:
            self._table.raise_to(user_id, lsn)
        try:
            await self._cache.set(keys.write_lsn_key(user_id), str(lsn).encode(), self._ttl_s)
        except Exception:
            log.warning("could not store the write position of user %s", user_id, exc_info=True)

    async def position(self, user_id: int) -> int:
        local = self._table.get(user_id) if self._table is not None else 0
        try:
            cached = await self._cache.get(keys.write_lsn_key(user_id))
        except Exception:
            # Cannot tell: the leader is always safe.
            log.warning("could not read the write position of user %s", user_id, exc_info=True)
            return 1 << 62
        return max(local, int(cached) if cached else 0)

    def close(self) -> None:
        if self._table is not None:
            self._table.close()
            self._table = None


def _slot_key(key: str) -> int:
    # Stable across processes (``hash()`` is salted per process).
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


class SharedKeyMarks:
    """The leader WAL position of the last write of each cache key, in a
    table shared by this server's workers. Keys share slots by hash; a
    collision overstates a mark, which only sends a fill to the leader."""

    def __init__(self, table: SharedMaxTable) -> None:
        self._table: SharedMaxTable | None = table

    def mark(self, cache_keys: Sequence[str], lsn: int) -> None:
        if self._table is None:
            return
        for key in dict.fromkeys(cache_keys):
            self._table.raise_to(_slot_key(key), lsn)

    def floor(self, cache_keys: Sequence[str]) -> int:
        if self._table is None:
            return 0
        return max((self._table.get(_slot_key(key)) for key in cache_keys), default=0)

    def close(self) -> None:
        if self._table is not None:
            self._table.close()
            self._table = None


class SharedCacheMarks(Protocol):
    """Write marks kept in a cache every server shares (memcached)."""

    async def mark_written(
        self, keys: Sequence[str], lsn: int, ttl_s: int, *, acknowledged: bool = False
    ) -> None: ...

    async def write_mark(self, keys: Sequence[str]) -> int: ...


class FreshFillCache:
    """A lease cache whose fills read a node that has replayed every write
    marked on the keys they fill (see the module docstring). The marks are
    read inside the loader, that is after the lease was won.

    ``shared``: a cache other servers fill too (memcached) also keeps the
    marks, for ``mark_ttl_s``: past that, a follower still behind a mark
    lags more than the router's bound and serves nothing."""

    def __init__(
        self,
        inner: LeaseCache,
        marks: SharedKeyMarks,
        shared: SharedCacheMarks | None = None,
        mark_ttl_s: int = 15,
    ) -> None:
        self.inner = inner
        self._marks = marks
        self._shared = shared
        self._mark_ttl_s = mark_ttl_s

    async def mark_written(self, cache_keys: Sequence[str], lsn: int) -> None:
        """Before evicting ``cache_keys`` for a write at ``lsn``."""
        self._marks.mark(cache_keys, lsn)
        if self._shared is not None:
            await self._shared.mark_written(cache_keys, lsn, self._mark_ttl_s)

    async def _floor(self, cache_keys: Sequence[str]) -> int:
        floor = self._marks.floor(cache_keys)
        if self._shared is not None:
            floor = max(floor, await self._shared.write_mark(cache_keys))
        return floor

    def _floored(self, key: str, loader: Loader) -> Loader:
        async def load() -> bytes | None:
            floor = await self._floor([key])
            if floor == 0:
                return await loader()
            token = read_floor.set(max(floor, read_floor.get()))
            try:
                return await loader()
            finally:
                read_floor.reset(token)

        return load

    def _floored_many(self, loader: ManyLoader) -> ManyLoader:
        async def load(wanted: Sequence[str]) -> Mapping[str, bytes]:
            floor = await self._floor(wanted)
            if floor == 0:
                return await loader(wanted)
            token = read_floor.set(max(floor, read_floor.get()))
            try:
                return await loader(wanted)
            finally:
                read_floor.reset(token)

        return load

    async def get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        return await self.inner.get_or_load(key, self._floored(key, loader), ttl_s)

    async def get_many_or_load(
        self, keys: Sequence[str], loader: ManyLoader, ttl_s: int
    ) -> dict[str, bytes]:
        return await self.inner.get_many_or_load(keys, self._floored_many(loader), ttl_s)

    async def get(self, key: str) -> bytes | None:
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        await self.inner.set(key, value, ttl_s)

    async def invalidate(self, keys: Sequence[str]) -> None:
        await self.inner.invalidate(keys)

    async def delete(self, keys: Sequence[str]) -> None:
        await self.inner.delete(keys)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()
        self._marks.close()
