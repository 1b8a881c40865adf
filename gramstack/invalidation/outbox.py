"""The outbox: the rows each write changed, recorded in its own transaction
and read back in commit order, so every process can evict what changed.

The table itself (``append``, ``OutboxReader``) is ``storage.outbox``'s.
``OutboxTailer`` keeps one process's in-process cache in step: a background
poll, plus ``catch_up`` before a request's first cached read, so a user whose
next request lands on another worker still reads their own write.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from prometheus_client import Counter, Histogram

from gramstack.cache.ports import LeaseCache, Loader, ManyLoader
from gramstack.invalidation.rules import keys_for
from gramstack.storage.outbox import Entry, OutboxReader, append, decode, encode

__all__ = [
    "Entry",
    "EvictableCache",
    "KeyMarker",
    "LocalLeaseCache",
    "OutboxReader",
    "OutboxSyncedCache",
    "OutboxTailer",
    "append",
    "decode",
    "encode",
    "prune_forever",
    "prune_quietly",
]

log = logging.getLogger("gramstack.invalidation.outbox")

LAG = Histogram(
    "gramstack_invalidation_lag_seconds",
    "Commit of a change to its eviction from this process's cache",
    ["reader"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVICTIONS = Counter("gramstack_invalidation_keys_total", "Cache keys evicted", ["reader"])
ERRORS = Counter("gramstack_invalidation_errors_total", "Failed outbox reads", ["reader"])


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# Records that ``keys`` were written at a leader WAL position (runtime.write_marks).
KeyMarker = Callable[[Sequence[str], int], None]


class EvictableCache(Protocol):
    async def delete(self, keys: Sequence[str]) -> None: ...

    def clear(self) -> None: ...


class LocalLeaseCache(LeaseCache, EvictableCache, Protocol):
    """A lease cache held by this process alone (``InProcessLeaseCache``)."""


class OutboxTailer:
    def __init__(
        self,
        reader: OutboxReader,
        cache: EvictableCache,
        *,
        poll_s: float = 0.2,
        retention_s: float = 600.0,
        prune_every_s: float = 60.0,
        batch: int = 1000,
        name: str = "outbox",
        mark: KeyMarker | None = None,
    ) -> None:
        self._reader = reader
        self._cache = cache
        # Marks each key as written at the entries' position before it is
        # evicted, so that no refill reads a follower behind that write.
        self._mark = mark
        self._poll_s = poll_s
        self._retention_ms = int(retention_s * 1000)
        self._prune_every_s = prune_every_s
        self._batch = batch
        self._name = name
        self.position = 0
        self._started = 0  # passes begun
        self._finished = 0  # passes ended (in order: one at a time)
        self._running: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self.position = await self._reader.head()

    async def catch_up(self) -> None:
        """Return once a pass that began after this call has read the outbox.

        A pass already running may have begun before a commit the caller has
        seen, so callers wait for the next one; everyone waiting then shares
        it, which keeps this to one query at a time however busy the process.
        """
        target = self._started + 1
        while self._finished < target:
            if self._running is None:
                self._started += 1
                self._running = asyncio.ensure_future(self._pass(self._started))
            await asyncio.shield(self._running)

    async def _pass(self, number: int) -> None:
        try:
            await self._read_all()
        except Exception as exc:
            # Without the outbox we cannot tell what changed: forget it all.
            ERRORS.labels(self._name).inc()
            log.warning("outbox read failed (%r); cache cleared", exc)
            self._cache.clear()
        finally:
            self._finished = number
            self._running = None

    async def _read_all(self) -> None:
        while True:
            entries = await self._reader.after(self.position, self._batch)
            if not entries:
                return
            if entries[0].id != self.position + 1:
                # Rows we never saw were pruned: nothing tells what they changed.
                log.warning("outbox gap after %s; cache cleared", self.position)
                self._cache.clear()
            keys = keys_for(c for entry in entries for c in entry.changes)
            if self._mark is not None:
                self._mark(keys, max(entry.read_at_lsn for entry in entries))
            await self._cache.delete(keys)
            now = time.time()
            for entry in entries:
                LAG.labels(self._name).observe(max(0.0, now - entry.created_at / 1000))
            EVICTIONS.labels(self._name).inc(len(keys))
            self.position = entries[-1].id
            if len(entries) < self._batch:
                return

    async def run(self) -> None:
        """Poll forever; also prunes rows older than the retention."""
        next_prune = time.monotonic() + self._prune_every_s
        while True:
            await asyncio.sleep(self._poll_s)
            await self.catch_up()
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self._prune_every_s
                await prune_quietly(self._reader, self._retention_ms)


async def prune_quietly(reader: OutboxReader, retention_ms: int) -> None:
    try:
        await reader.prune(_now_ms() - retention_ms)
    except Exception:
        log.exception("could not prune the outbox")


async def prune_forever(reader: OutboxReader, retention_s: float, every_s: float = 60.0) -> None:
    """For processes that write the outbox but do not tail it (memcached mode)."""
    while True:
        await asyncio.sleep(every_s)
        await prune_quietly(reader, int(retention_s * 1000))


class OutboxSyncedCache:
    """An in-process cache that catches up on the outbox before the first
    read of each request (each asyncio task), at most once per ``window_s``
    for long-lived tasks."""

    def __init__(
        self,
        cache: LocalLeaseCache,
        tailer: OutboxTailer,
        window_s: float = 1.0,
        committed_head: Callable[[], int] | None = None,
    ) -> None:
        self.inner = cache
        self._tailer = tailer
        self._window_s = window_s
        # The newest outbox ID any process of this server committed (shared
        # memory): while the tailer has read that far, there is nothing to ask.
        self._committed_head = committed_head
        self._synced: weakref.WeakKeyDictionary[asyncio.Task[object], float] = (
            weakref.WeakKeyDictionary()
        )

    async def _sync(self) -> None:
        task = asyncio.current_task()
        now = time.monotonic()
        if task is not None:
            last = self._synced.get(task)
            if last is not None and now - last < self._window_s:
                return
        await self._tailer.catch_up()
        if task is not None:
            self._synced[task] = now

    # Each read first asks whether the tailer has read every outbox row
    # committed on this server (the shared head). That is the common case:
    # the read is then the inner cache's own coroutine, handed back as it
    # is (no coroutine of this layer around it); only otherwise does it
    # wait for a catch-up first. The check runs when the read is called,
    # after everything its caller has seen.

    def _behind(self) -> bool:
        """Whether this server may have committed outbox rows the tailer
        has not read yet (always, without the shared head)."""
        head = self._committed_head
        return head is None or head() > self._tailer.position

    def get_or_load(
        self, key: str, loader: Loader, ttl_s: int
    ) -> Coroutine[Any, Any, bytes | None]:
        if self._behind():
            return self._synced_get_or_load(key, loader, ttl_s)
        return self.inner.get_or_load(key, loader, ttl_s)

    async def _synced_get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        await self._sync()
        return await self.inner.get_or_load(key, loader, ttl_s)

    def get_many_or_load(
        self, keys: Sequence[str], loader: ManyLoader, ttl_s: int
    ) -> Coroutine[Any, Any, dict[str, bytes]]:
        if self._behind():
            return self._synced_get_many_or_load(keys, loader, ttl_s)
        return self.inner.get_many_or_load(keys, loader, ttl_s)

    async def _synced_get_many_or_load(
        self, keys: Sequence[str], loader: ManyLoader, ttl_s: int
    ) -> dict[str, bytes]:
        await self._sync()
        return await self.inner.get_many_or_load(keys, loader, ttl_s)

    def get(self, key: str) -> Coroutine[Any, Any, bytes | None]:
        if self._behind():
            return self._synced_get(key)
        return self.inner.get(key)

    async def _synced_get(self, key: str) -> bytes | None:
        await self._sync()
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
