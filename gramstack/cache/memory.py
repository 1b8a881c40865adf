"""In-process lease cache: the embedded default.

The lease becomes single-flight: the first caller to miss a key creates a
future and loads; every other caller for that key awaits the same future,
so a cold key costs one database query per process. ``invalidate`` keeps
the old value as stale for the lease time: the next caller refills it while
the others are served the stale value, as with memcached's ``md … I``.
Memory is bounded over the stored bytes by the second-chance (CLOCK)
approximation of LRU: a hit only marks its entry as used (moving it to the
young end on every hit, as an exact LRU does, is a good part of a page's
multi-get); eviction takes the oldest entry not used since it was last
passed over, moving the used ones to the young end.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence

from gramstack.cache.ports import Loader, ManyLoader

# Bound once: every read asks the clock (a module attribute lookup less).
_monotonic = time.monotonic


class _Entry:
    __slots__ = ("expires", "stale", "used", "value")

    def __init__(self, value: bytes, expires: float) -> None:
        self.value = value
        self.expires = expires
        self.stale = False
        self.used = False  # read since eviction last passed over it


class _LoaderGone(Exception):
    """The caller loading a key was cancelled; a waiter loads it itself."""


class InProcessLeaseCache:
    def __init__(self, max_bytes: int, *, lease_s: float = 10.0, leases: bool = True) -> None:
        self._max_bytes = max_bytes
        self._lease_s = lease_s
        self._leases = leases
        self._bytes = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # The load whose result may be kept; a delete or invalidate detaches
        # it, so callers arriving afterwards start a load of their own.
        self._loading: dict[str, asyncio.Future[bytes | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires < _monotonic():
            self._drop(key)
            return None
        entry.used = True
        return entry

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(key) + len(entry.value)

    def _put(self, key: str, value: bytes, ttl_s: float) -> None:
        self._drop(key)
        size = len(key) + len(value)
        if size > self._max_bytes:
            return
        entries = self._entries
        entries[key] = _Entry(value, _monotonic() + ttl_s)
        self._bytes += size
        while self._bytes > self._max_bytes:
            # Each pass over a used entry clears its mark, so this ends
            # within one round of the entries (amortized: one hit each).
            oldest = next(iter(entries))
            entry = entries[oldest]
            if entry.used:
                entry.used = False
                entries.move_to_end(oldest)
            else:
                self._drop(oldest)

    def _start(self, key: str) -> asyncio.Future[bytes | None]:
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        return future

    def _finish(
        self, key: str, future: asyncio.Future[bytes | None], value: bytes | None, ttl_s: float
    ) -> None:
        if self._loading.get(key) is future:
            del self._loading[key]
            if value is not None:
                self._put(key, value, ttl_s)
        if not future.done():
            future.set_result(value)

    def _fail(self, key: str, future: asyncio.Future[bytes | None], exc: BaseException) -> None:
        if self._loading.get(key) is future:
            del self._loading[key]
        if future.done():
            return
        if isinstance(exc, asyncio.CancelledError):
            exc = _LoaderGone()
        future.set_exception(exc)
        future.exception()  # waiters see the error; nobody else needs to retrieve it

    async def _await(self, future: asyncio.Future[bytes | None]) -> bytes | None:
        return await asyncio.shield(future)

    async def get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        # The hit, inlined (most calls): a fresh entry is served as it is.
        entry = self._entries.get(key)
        if entry is not None and not entry.stale and entry.expires >= _monotonic():
            entry.used = True
            return entry.value
        return await self._get_or_load(key, loader, ttl_s)

    async def _get_or_load(self, key: str, loader: Loader, ttl_s: int) -> bytes | None:
        while True:
            entry = self._lookup(key)
            if entry is not None and not entry.stale:
                return entry.value
            if not self._leases:
                value = await loader()
                if value is not None:
                    self._put(key, value, ttl_s)
                return value
            pending = self._loading.get(key)
            if pending is not None:
                if entry is not None:
                    return entry.value  # stale while another caller refills
                try:
                    return await self._await(pending)
                except _LoaderGone:
                    continue
            future = self._start(key)
            try:
                value = await loader()
            except BaseException as exc:
                self._fail(key, future, exc)
                raise
            self._finish(key, future, value, ttl_s)
            return value

    async def get_many_or_load(
        self, keys: Sequence[str], loader: ManyLoader, ttl_s: int
    ) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        waiting: dict[str, asyncio.Future[bytes | None]] = {}
        # Insertion-ordered set: the keys this call loads, each once.
        missed: dict[str, None] = {}
        lookup = self._entries.get
        # One clock reading for the page: its keys were asked for at once.
        now = _monotonic()
        for key in keys:
            entry = lookup(key)
            if entry is not None and not entry.stale and entry.expires >= now:
                entry.used = True
                found[key] = entry.value
                continue
            if key in found or key in waiting or key in missed:
                continue  # a repeated key, already dealt with
            if entry is not None:
                if entry.expires < now:
                    self._drop(key)
                    entry = None
                else:
                    entry.used = True
            pending = self._loading.get(key) if self._leases else None
            if pending is None:
                missed[key] = None
            elif entry is not None:
                found[key] = entry.value
            else:
                waiting[key] = pending
        if missed:
            mine = list(missed)
            futures = {key: self._start(key) for key in mine} if self._leases else {}
            try:
                loaded = await loader(mine)
            except BaseException as exc:
                for key, future in futures.items():
                    self._fail(key, future, exc)
                raise
            for key in mine:
                value = loaded.get(key)
                if key in futures:
                    self._finish(key, futures[key], value, ttl_s)
                elif value is not None:
                    self._put(key, value, ttl_s)
                if value is not None:
                    found[key] = value
        for key, pending in waiting.items():
            try:
                value = await self._await(pending)
            except _LoaderGone:
                value = await self.get_or_load(key, _one(loader, key), ttl_s)
            if value is not None:
                found[key] = value
        return found

    async def get(self, key: str) -> bytes | None:
        entry = self._lookup(key)
        return None if entry is None or entry.stale else entry.value

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        self._loading.pop(key, None)
        self._put(key, value, ttl_s)

    async def invalidate(self, keys: Sequence[str]) -> None:
        deadline = _monotonic() + self._lease_s
        for key in keys:
            self._loading.pop(key, None)
            entry = self._entries.get(key)
            if entry is not None:
                entry.stale = True
                entry.expires = min(entry.expires, deadline)

    async def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._loading.pop(key, None)
            self._drop(key)

    def clear(self) -> None:
        """Forget everything (an outbox reader that lost its place does this)."""
        self._loading.clear()
        self._entries.clear()
        self._bytes = 0

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self.clear()


def _one(loader: ManyLoader, key: str) -> Loader:
    async def load() -> bytes | None:
        return (await loader([key])).get(key)

    return load
